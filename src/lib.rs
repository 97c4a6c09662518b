//! Slipway core: everything the playground does without a kernel, for the browser (wasm32) and natively.
//!
//! No Yew or web-sys here: the web app (`www/`, crate `slipway-web`) and the companion server (`server/`) build on it.
#![forbid(unsafe_code)]

pub mod api;
pub mod builder;
pub mod cli;
pub mod compose;
pub mod dockerfile;
pub mod image;
pub mod layer;
pub mod lesson;
pub mod registry;

/// The version of this build, shared by the web app and the companion server.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod architecture_tests;
