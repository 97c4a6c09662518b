//! The docker-command interpreter shared by the browser terminal and `slipway docker`: words, parsing, help.

pub mod build;
pub mod containers;
pub mod help;
pub mod interpret;
pub mod local;
pub mod parse;
pub mod spec;
pub mod words;

#[cfg(test)]
mod tests;
