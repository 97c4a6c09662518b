//! The Dockerfile front end: syntax tree, typed instructions, word expansion, stage graph, build checks and
//! `.dockerignore`, all platform neutral (native and wasm32).

pub mod dump;
pub mod error;
pub mod flags;
pub mod instructions;
mod line_parsers;
pub mod shell;
pub mod span;
pub mod syntax;

pub use error::Error;
pub use span::Span;
