//! Slipway's one integration-test binary: a module per area, as in ripgrep.
#![cfg(not(target_arch = "wasm32"))]

mod base_images;
mod build;
mod connections;
mod copy_rules;
mod dockerfile;
mod front_door;
mod layers;
mod layout;
mod lesson;
mod lesson_origin;
mod registry;
mod runner;
mod shell;
mod store;
mod support;
mod terminal;
mod terminal_keys;
mod terminal_polish;
mod terminal_prompts;
mod workspace;
