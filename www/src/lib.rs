//! Slipway's web app: plain state reducers (tested natively) and the Yew components that render them, the
//! browser's `fetch` transport, and the layer worker's entry; wasm-only parts are behind `cfg(target_arch)`.
//! The three binaries Trunk builds (`slipway-web`, `layer-worker`, `archive-worker`) start from here.
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
pub mod fetch;
pub mod ui;
