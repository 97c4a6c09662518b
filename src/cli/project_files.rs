//! The project's files as commands reach them (`docker cp`): the page's file tree, natively the working
//! directory. Its own file, so the command context and the commands both name it without a circle.

use crate::layer::FileTree;

/// The project's files as `docker cp` reaches them. Paths are relative to the project's root (`""` is the root),
/// clean (no `.`, `..` or empty parts).
pub trait ProjectFiles {
    /// The project's root as the learner sees it: `/project` in the page, the working directory natively.
    fn root(&self) -> String;
    /// `Some(true)`: a folder, `Some(false)`: a file, `None`: nothing there.
    fn kind(&self, path: &str) -> Option<bool>;
    /// The file or folder at `path` with everything below it, its top entry named `name`; `follow`: a link at
    /// `path` is read as what it points to.
    fn read(&self, path: &str, name: &str, follow: bool) -> Result<FileTree, String>;
    /// Write `tree`'s entries below the folder `dir`, replacing files of the same names.
    fn write(&self, dir: &str, tree: &FileTree) -> Result<(), String>;
    /// A tar read from standard input (`docker cp - CONTAINER:DIR`).
    fn stdin_tar(&self) -> Result<Vec<u8>, String>;
    /// A tar written to standard output (`docker cp CONTAINER:PATH -`).
    fn stdout_tar(&self, tar: &[u8]) -> Result<(), String>;
}
