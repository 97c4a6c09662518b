//! The native subcommands that are not the server: each module prints and returns an exit code.

pub mod build;
pub mod class_login;
pub mod classroom;
pub mod docker;
pub mod dockerfile;
pub mod project_dir;
pub mod session_file;
