//! The web app: plain state reducers (tested natively) and the Yew components that render them (wasm only).

pub mod build_view;
pub mod editor_model;
pub mod explorer_state;
pub mod layer_pool_state;
pub mod lesson;
pub mod line_editor;
pub mod panels_state;
pub mod pending_answer;
pub mod project;
pub mod project_archive;
pub mod share;
pub mod start;
pub mod state;
pub mod terminal_state;
pub mod workspace;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
mod attach;
#[cfg(target_arch = "wasm32")]
mod autosave;
#[cfg(target_arch = "wasm32")]
mod build_panel;
#[cfg(target_arch = "wasm32")]
pub mod editor;
#[cfg(target_arch = "wasm32")]
mod explorer;
#[cfg(target_arch = "wasm32")]
pub mod files;
#[cfg(target_arch = "wasm32")]
mod layer_pool;
#[cfg(target_arch = "wasm32")]
pub mod layer_worker;
#[cfg(target_arch = "wasm32")]
mod lesson_panel;
#[cfg(target_arch = "wasm32")]
mod link_prompt;
#[cfg(target_arch = "wasm32")]
mod offline;
#[cfg(target_arch = "wasm32")]
mod panels;
#[cfg(target_arch = "wasm32")]
mod resizer;
#[cfg(target_arch = "wasm32")]
mod session;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod terminal;
#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
mod xterm;
