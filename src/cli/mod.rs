//! The docker-command interpreter shared by the browser terminal and `slipway docker`: words, parsing, help.

pub mod attach;
pub mod build;
pub mod catalog;
pub mod changes;
pub mod commit;
pub mod complete;
pub mod compose;
pub mod compose_logs;
pub mod compose_manage;
pub mod compose_project;
pub mod compose_up;
pub mod compose_wait;
pub mod containers;
pub mod context;
pub mod cp;
pub mod credentials;
pub mod endpoints;
pub mod export_load;
pub mod format;
pub mod help;
pub mod image_info;
pub mod images;
pub mod inspect;
pub mod interpret;
pub mod load;
pub mod login;
pub mod manage;
pub mod mounts;
pub mod networks;
pub mod objects;
pub mod offline;
pub mod outcome;
pub mod parse;
pub mod ports;
pub mod project_files;
pub mod resources;
pub mod spec;
pub mod supervision;
pub mod system;
pub mod transfer;
pub mod volumes;
pub mod words;

#[cfg(test)]
mod tests;
