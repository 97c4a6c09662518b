//! Slipway core: everything the playground does without a kernel, for the browser (wasm32) and natively.
//!
//! The core modules have no Yew or web-sys dependency; only `ui::app` and its browser transport are wasm-only.
#![forbid(unsafe_code)]

pub mod api;
pub mod build;
pub mod cli;
pub mod dockerfile;
pub mod image;
pub mod layer;
pub mod registry;
pub mod ui;

/// The version of this build, shared by the web app and the companion server.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
