//! The server's end-to-end tests, one binary with a module per area (as in ripgrep): the real `slipway` binary
//! (`CARGO_BIN_EXE_slipway`), the page Trunk built in headless Chromium, containers under runc.
#![cfg(not(target_arch = "wasm32"))]

mod a11y;
mod base_images;
mod build;
mod build_mounts;
mod classroom;
mod classroom_limits;
mod classroom_progress;
mod classroom_scenario;
mod cli_more;
mod commands;
mod compose;
mod compose_lesson;
mod compose_up;
mod connections;
mod cp_export;
mod dist;
mod dockerfile;
mod embeds;
mod front_door;
mod health;
mod hostile;
mod layout;
mod lesson;
mod lesson_origin;
mod lifetimes;
mod more_commands;
mod networks;
mod page_weight;
mod ports;
mod previews;
mod quotas;
mod registry;
mod runner;
mod shell;
mod store;
mod support;
mod terminal;
mod terminal_keys;
mod terminal_polish;
mod terminal_prompts;
mod volumes;
mod workspace;
