//! The page's project as `docker cp` reaches it (`slipway::cli::project_files::ProjectFiles`), in the engine:
//! the copy of the project the command was sent with. Files copied in are read from it; files copied out of a
//! container are recorded as [`ProjectWrite`]s, which the page applies to its file tree (an upload, so they
//! show and are saved like any other). The project holds no links: a link copied out is left out.

use std::cell::RefCell;

use slipway::cli::project_files::ProjectFiles;
use slipway::layer::{FileTree, Meta, Node};

use super::engine_api::ProjectWrite;
use super::project::{Project, ProjectFile};

/// The project a command was sent with, and what the command wrote into it.
pub struct PageFiles {
    project: Project,
    written: RefCell<Vec<ProjectWrite>>,
}

impl PageFiles {
    pub fn new(project: Project) -> Self {
        PageFiles {
            project,
            written: RefCell::new(Vec::new()),
        }
    }

    /// What the command wrote, for the page to apply.
    pub fn take_writes(&self) -> Vec<ProjectWrite> {
        std::mem::take(&mut *self.written.borrow_mut())
    }
}

/// Where the project is in the terminal's words (`docker compose` names it so too).
pub const PROJECT_ROOT: &str = "/project";

impl ProjectFiles for PageFiles {
    fn root(&self) -> String {
        PROJECT_ROOT.to_string()
    }

    fn kind(&self, path: &str) -> Option<bool> {
        let project = &self.project;
        if path.is_empty() || project.is_folder(path) {
            Some(true)
        } else {
            project.files.contains_key(path).then_some(false)
        }
    }

    fn read(&self, path: &str, name: &str, _follow: bool) -> Result<FileTree, String> {
        let project = &self.project;
        let mut tree = FileTree::new();
        let bad = |e: slipway::layer::LayerError| e.to_string();
        if let Some(file) = project.files.get(path) {
            tree.insert_file(name, file.data.clone(), Meta::root(file.mode & 0o7777))
                .map_err(bad)?;
            return Ok(tree);
        }
        tree.insert_dir(name, Meta::dir()).map_err(bad)?;
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        for folder in project.folders.iter().filter_map(|f| f.strip_prefix(&prefix)) {
            tree.insert_dir(&format!("{name}/{folder}"), Meta::dir())
                .map_err(bad)?;
        }
        for (file, data) in project
            .files
            .iter()
            .filter_map(|(p, f)| Some((p.strip_prefix(&prefix)?, f)))
        {
            let meta = Meta::root(data.mode & 0o7777);
            tree.insert_file(&format!("{name}/{file}"), data.data.clone(), meta)
                .map_err(bad)?;
        }
        Ok(tree)
    }

    fn write(&self, dir: &str, tree: &FileTree) -> Result<(), String> {
        let mut files = Vec::new();
        let mut written = self.written.borrow_mut();
        for (path, node) in tree.iter() {
            match node {
                Node::File { data, .. } => files.push((path.to_string(), ProjectFile::new(data.to_vec()))),
                Node::Dir { .. } if !self.project.is_folder(&join(dir, path)) => {
                    written.push(ProjectWrite::NewFolder(join(dir, path)))
                }
                _ => {}
            }
        }
        if !files.is_empty() {
            written.push(ProjectWrite::Upload {
                folder: dir.to_string(),
                files,
            });
        }
        Ok(())
    }

    fn stdin_tar(&self) -> Result<Vec<u8>, String> {
        Err(TERMINAL_TAR.into())
    }

    fn stdout_tar(&self, _tar: &[u8]) -> Result<(), String> {
        Err(TERMINAL_TAR.into())
    }
}

const TERMINAL_TAR: &str =
    "docker cp: '-' carries a tar through stdin or stdout, which this terminal cannot: copy to or from a file of the project";

fn join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    }
}
