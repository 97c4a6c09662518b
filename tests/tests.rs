//! Slipway's one integration-test binary: a module per area, as in ripgrep.
#![cfg(not(target_arch = "wasm32"))]

mod dockerfile;
mod shell;
mod support;
