//! The Compose file model, platform-neutral (the page checks compose files with it as you type; `docker compose
//! config` prints it): a YAML tree with line and column for every key and value ([`tree`]), interpolation
//! ([`interpolate`], [`dotenv`]), several files merged ([`merge`]), the checks and the typed model ([`check`],
//! [`service`], [`values`], [`model`]), the project as Compose loads it ([`project`]) and the `config` output
//! ([`render`]). What is supported is listed in docs/compose.md.

pub mod check;
pub mod dotenv;
pub mod error;
pub mod interpolate;
pub mod merge;
pub mod model;
pub mod project;
pub mod render;
pub mod service;
pub mod tree;
pub mod values;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use error::{ComposeError, Pos};
pub use project::{is_compose_file, load, LoadFailure, Loaded, Options, ProjectFiles};

/// Check one compose file alone, as the editor does: every problem found, with line and column. Variables are
/// unknown there: `${VAR:?msg}` is not an error (`docker compose config` checks it with the project's `.env`).
pub fn check_file(name: &str, text: &str) -> Vec<ComposeError> {
    let mut files = BTreeMap::new();
    files.insert(name.to_string(), text.to_string());
    let opts = Options {
        files: vec![name.to_string()],
        working_dir: "/project".to_string(),
        project_name: Some("project".to_string()),
        lenient_variables: true,
        ..Options::default()
    };
    match load(&files, &opts) {
        Ok(_) => Vec::new(),
        Err(failure) => failure.errors,
    }
}

/// The services of a compose file and the line each is defined on (for the editor's outline), read from the YAML
/// alone so that the outline stays while the file has other problems.
pub fn outline(text: &str) -> Vec<(String, usize)> {
    let Ok(root) = tree::parse(0, "compose.yaml", text) else {
        return Vec::new();
    };
    root.get("services")
        .and_then(tree::Node::entries)
        .unwrap_or(&[])
        .iter()
        .filter(|e| !e.key.starts_with("x-"))
        .map(|e| (e.key.clone(), e.key_pos.line))
        .collect()
}
