//! The web app: plain state reducers (tested natively) and the Yew components that render them (wasm only).

pub mod build_view;
pub mod compose_model;
pub mod editor_model;
pub mod engine_api;
pub mod explorer_state;
pub mod interrupts;
pub mod layer_pool_state;
pub mod lesson;
pub mod lesson_vouch;
pub mod line_editor;
pub mod panels_state;
pub mod pending_answer;
pub mod project;
pub mod project_archive;
pub mod runner_lines;
pub mod share;
pub mod sign_in_state;
pub mod start;
pub mod state;
pub mod teacher_state;
pub mod terminal_state;
pub mod workspace;

/// Modules that only exist in the browser (they call web-sys, Yew or wasm-bindgen), each under
/// `#[cfg(target_arch = "wasm32")]`.
macro_rules! browser_only {
    ($($vis:vis mod $name:ident;)*) => {
        $(#[cfg(target_arch = "wasm32")] $vis mod $name;)*
    };
}

browser_only! {
    mod api;
    pub mod app;
    mod archive_jobs;
    pub mod archive_worker;
    mod attach;
    mod autosave;
    mod build_panel;
    mod compose_editor;
    pub mod editor;
    mod engine;
    pub mod engine_run;
    mod explorer;
    pub mod files;
    mod layer_pool;
    pub mod layer_worker;
    mod lesson_panel;
    mod link_prompt;
    mod notices;
    mod offline;
    mod page_build;
    mod panels;
    mod project_files;
    mod resizer;
    pub mod runner;
    mod session;
    mod sign_in;
    mod store;
    mod teacher;
    mod terminal;
    mod web;
    mod xterm;
}
