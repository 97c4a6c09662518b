//! Slipway's companion server: serves the web app, embeds the OCI registry, and runs containers.
#![cfg(not(target_arch = "wasm32"))]
#![forbid(unsafe_code)]

pub mod api_json;
pub mod base_images;
pub mod classroom;
pub mod cli;
pub mod collector;
pub mod commands;
pub mod connections;
pub mod dispatch;
pub mod embed_budget;
pub mod fetch;
pub mod guard;
pub mod image_dirs;
pub mod observed;
pub mod platform;
pub mod previews;
pub mod registry;
pub mod routes;
pub mod runner;
pub mod runtime;
pub mod serve;
pub mod sessions;

pub use routes::{app, AppState};
