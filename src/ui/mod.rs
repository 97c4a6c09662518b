//! The web app: plain state reducers (tested natively) and the Yew components that render them (wasm only).

pub mod state;
pub mod terminal_state;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
mod terminal;
