//! The learner's project as a plain reducer: files (path → bytes, mode), folders, the open tabs and the active
//! file. The build context for `docker build` comes from here ([`Project::context_tree`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use slipway::layer::path::{normalize, parent};
use slipway::layer::{FileTree, Meta};

/// One file of the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectFile {
    #[serde(with = "base64_bytes")]
    pub data: Vec<u8>,
    /// Permission bits (`0o644`, `0o755` for scripts).
    pub mode: u32,
}

impl ProjectFile {
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        ProjectFile {
            data: data.into(),
            mode: 0o644,
        }
    }

    /// The content as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }
}

/// The files of a project plus what the editor shows of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Project {
    /// Normalized relative paths (`app/main.py`) to files.
    pub files: BTreeMap<String, ProjectFile>,
    /// Folders made explicitly (they may be empty); parents of files exist implicitly.
    #[serde(default)]
    pub folders: BTreeSet<String>,
    /// Paths of the files open in tabs, in tab order.
    #[serde(default)]
    pub open: Vec<String>,
    #[serde(default)]
    pub active: Option<String>,
}

/// Why a project operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("{path:?} is not a usable name: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("{0:?} already exists")]
    Exists(String),
    #[error("{0:?} does not exist")]
    NotFound(String),
    #[error("{path:?} cannot go inside {file:?}: that is a file, not a folder")]
    ParentIsFile { path: String, file: String },
    #[error("cannot move the folder {0:?} into itself")]
    IntoItself(String),
    #[error("cannot read {name}: {reason}")]
    Archive { name: String, reason: String },
}

/// One row of the file tree pane, in display order (folders first, then files, by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    pub path: String,
    pub name: String,
    pub depth: usize,
    pub is_folder: bool,
}

/// True for the files the editor checks as Dockerfiles: `Dockerfile`, `*.Dockerfile` and `Dockerfile.*`.
pub fn is_dockerfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "Dockerfile" || name.ends_with(".Dockerfile") || name.starts_with("Dockerfile.")
}

/// A path a learner typed, normalized; empty and `..` paths are refused.
pub fn clean_path(path: &str) -> Result<String, ProjectError> {
    let invalid = |reason: String| ProjectError::InvalidPath {
        path: path.to_string(),
        reason,
    };
    let clean = normalize(path.trim()).map_err(|e| invalid(e.to_string()))?;
    if clean.is_empty() {
        return Err(invalid("the name is empty".into()));
    }
    Ok(clean)
}

fn is_inside(path: &str, folder: &str) -> bool {
    path.len() > folder.len() && path.starts_with(folder) && path.as_bytes()[folder.len()] == b'/'
}

impl Project {
    /// A project holding `files` (paths are normalized), with the first Dockerfile (or else the first file) open.
    pub fn from_files<P: AsRef<str>>(
        files: impl IntoIterator<Item = (P, ProjectFile)>,
    ) -> Result<Self, ProjectError> {
        let mut project = Project::default();
        for (path, file) in files {
            project.put(path.as_ref(), file)?;
        }
        project.open_default();
        Ok(project)
    }

    /// Opens the project's Dockerfile (or its first file) when no tab is open.
    pub fn open_default(&mut self) {
        if self.open.is_empty() {
            let first = self
                .files
                .keys()
                .find(|p| is_dockerfile(p))
                .or_else(|| self.files.keys().next())
                .cloned();
            if let Some(path) = first {
                self.open(&path);
            }
        }
    }

    pub fn is_folder(&self, path: &str) -> bool {
        self.folders.iter().any(|f| f == path || is_inside(f, path))
            || self.files.keys().any(|f| is_inside(f, path))
    }

    fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path) || self.is_folder(path)
    }

    /// Refuses `path` when one of its parents is a file.
    fn check_parents(&self, path: &str) -> Result<(), ProjectError> {
        let mut dir = parent(path);
        while !dir.is_empty() {
            if self.files.contains_key(dir) {
                return Err(ProjectError::ParentIsFile {
                    path: path.to_string(),
                    file: dir.to_string(),
                });
            }
            dir = parent(dir);
        }
        Ok(())
    }

    /// Writes a file, replacing one at the same path (not a folder); creates its parents.
    pub fn put(&mut self, path: &str, file: ProjectFile) -> Result<String, ProjectError> {
        let path = clean_path(path)?;
        if self.is_folder(&path) {
            return Err(ProjectError::Exists(path));
        }
        self.check_parents(&path)?;
        self.files.insert(path.clone(), file);
        Ok(path)
    }

    /// A new file (error if anything is at `path`), opened in a tab.
    pub fn create_file(&mut self, path: &str, data: impl Into<Vec<u8>>) -> Result<String, ProjectError> {
        let clean = clean_path(path)?;
        if self.exists(&clean) {
            return Err(ProjectError::Exists(clean));
        }
        let path = self.put(&clean, ProjectFile::new(data))?;
        self.open(&path);
        Ok(path)
    }

    pub fn create_folder(&mut self, path: &str) -> Result<String, ProjectError> {
        let path = clean_path(path)?;
        if self.exists(&path) {
            return Err(ProjectError::Exists(path));
        }
        self.check_parents(&path)?;
        self.folders.insert(path.clone());
        Ok(path)
    }

    /// Replaces the content of an existing file, keeping its mode.
    pub fn edit(&mut self, path: &str, data: impl Into<Vec<u8>>) -> Result<(), ProjectError> {
        let file = self
            .files
            .get_mut(path)
            .ok_or_else(|| ProjectError::NotFound(path.to_string()))?;
        file.data = data.into();
        Ok(())
    }

    /// Moves a file or a whole folder; tabs follow their files.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<String, ProjectError> {
        let from = clean_path(from)?;
        let to = clean_path(to)?;
        if from == to {
            return Ok(to);
        }
        if !self.exists(&from) {
            return Err(ProjectError::NotFound(from));
        }
        if self.exists(&to) {
            return Err(ProjectError::Exists(to));
        }
        if is_inside(&to, &from) {
            return Err(ProjectError::IntoItself(from));
        }
        self.check_parents(&to)?;
        let moved = |p: &str| -> Option<String> {
            if p == from {
                Some(to.clone())
            } else if is_inside(p, &from) {
                Some(format!("{to}{}", &p[from.len()..]))
            } else {
                None
            }
        };
        self.files = std::mem::take(&mut self.files)
            .into_iter()
            .map(|(p, f)| (moved(&p).unwrap_or(p), f))
            .collect();
        self.folders = std::mem::take(&mut self.folders)
            .into_iter()
            .map(|p| moved(&p).unwrap_or(p))
            .collect();
        for tab in self.open.iter_mut().chain(self.active.iter_mut()) {
            if let Some(new) = moved(tab) {
                *tab = new;
            }
        }
        Ok(to)
    }

    /// Deletes a file, or a folder with everything in it; their tabs close.
    pub fn delete(&mut self, path: &str) -> Result<(), ProjectError> {
        let path = clean_path(path)?;
        if !self.exists(&path) {
            return Err(ProjectError::NotFound(path));
        }
        let gone = |p: &str| p == path || is_inside(p, &path);
        self.files.retain(|p, _| !gone(p));
        self.folders.retain(|p| !gone(p));
        let closing: Vec<String> = self.open.iter().filter(|p| gone(p)).cloned().collect();
        for tab in closing {
            self.close(&tab);
        }
        Ok(())
    }

    /// Opens `path` in a tab (once) and makes it the active one.
    pub fn open(&mut self, path: &str) {
        if !self.files.contains_key(path) {
            return;
        }
        if !self.open.iter().any(|p| p == path) {
            self.open.push(path.to_string());
        }
        self.active = Some(path.to_string());
    }

    /// Closes a tab; the neighbour to its left (or right) becomes active when it was.
    pub fn close(&mut self, path: &str) {
        let Some(at) = self.open.iter().position(|p| p == path) else {
            return;
        };
        self.open.remove(at);
        if self.active.as_deref() == Some(path) {
            self.active = self
                .open
                .get(at.saturating_sub(1))
                .or_else(|| self.open.first())
                .cloned();
        }
    }

    /// Adds uploaded files below `folder` (`""` for the top), replacing files of the same name.
    pub fn upload<P: AsRef<str>>(
        &mut self,
        folder: &str,
        files: impl IntoIterator<Item = (P, Vec<u8>)>,
    ) -> Result<Vec<String>, ProjectError> {
        let mut added = Vec::new();
        for (name, data) in files {
            let path = format!("{folder}/{}", name.as_ref());
            let mode = self
                .files
                .get(path.trim_start_matches('/'))
                .map_or(0o644, |f| f.mode);
            added.push(self.put(&path, ProjectFile { data, mode })?);
        }
        Ok(added)
    }

    /// The file tree pane's rows: folders first, then files, each by name, depth for indentation.
    pub fn tree_rows(&self) -> Vec<TreeRow> {
        let mut folders: BTreeSet<&str> = self.folders.iter().map(String::as_str).collect();
        for path in self.files.keys().chain(self.folders.iter()) {
            let mut dir = parent(path);
            while !dir.is_empty() {
                folders.insert(dir);
                dir = parent(dir);
            }
        }
        let mut rows = Vec::new();
        self.push_rows("", 0, &folders, &mut rows);
        rows
    }

    fn push_rows(&self, dir: &str, depth: usize, folders: &BTreeSet<&str>, rows: &mut Vec<TreeRow>) {
        let row = |path: &str, is_folder| TreeRow {
            path: path.to_string(),
            name: path.rsplit('/').next().unwrap_or(path).to_string(),
            depth,
            is_folder,
        };
        for folder in folders.iter().filter(|f| parent(f) == dir) {
            rows.push(row(folder, true));
            self.push_rows(folder, depth + 1, folders, rows);
        }
        for path in self.files.keys().filter(|f| parent(f) == dir) {
            rows.push(row(path, false));
        }
    }

    /// The project as a build context: every file (root-owned, its mode) and every folder.
    pub fn context_tree(&self) -> FileTree {
        let mut tree = FileTree::new();
        for folder in &self.folders {
            // Paths were normalized on the way in; a failure here would be a bug in this module.
            tree.insert_dir(folder, Meta::dir())
                .expect("project folders are normalized paths");
        }
        for (path, file) in &self.files {
            tree.insert_file(path, file.data.clone(), Meta::root(file.mode & 0o7777))
                .expect("project files are normalized paths under folders");
        }
        tree
    }

    /// Total bytes of file content.
    pub fn size(&self) -> usize {
        self.files.values().map(|f| f.data.len()).sum()
    }
}

/// Bytes as a base64 string in JSON (the persisted workspace).
mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Project {
        Project::from_files([
            ("Dockerfile", ProjectFile::new("FROM busybox\n")),
            ("app/main.py", ProjectFile::new("print(1)\n")),
            ("README.md", ProjectFile::new("hi")),
        ])
        .unwrap()
    }

    #[test]
    fn from_files_opens_the_dockerfile() {
        let p = sample();
        assert_eq!(p.open, ["Dockerfile"]);
        assert_eq!(p.active.as_deref(), Some("Dockerfile"));
        assert!(is_dockerfile("web.Dockerfile") && is_dockerfile("x/Dockerfile"));
        assert!(!is_dockerfile("Dockerfile.md/x") && !is_dockerfile("app.py"));
    }

    #[test]
    fn create_refuses_duplicates_bad_names_and_files_as_folders() {
        let mut p = sample();
        assert_eq!(p.create_file("/app/./util.py", "x").unwrap(), "app/util.py");
        assert_eq!(p.active.as_deref(), Some("app/util.py"));
        assert_eq!(
            p.create_file("app/util.py", ""),
            Err(ProjectError::Exists("app/util.py".into()))
        );
        assert_eq!(p.create_file("app", ""), Err(ProjectError::Exists("app".into())));
        assert!(matches!(
            p.create_file("../x", ""),
            Err(ProjectError::InvalidPath { .. })
        ));
        assert!(matches!(
            p.create_file("  ", ""),
            Err(ProjectError::InvalidPath { .. })
        ));
        assert!(matches!(
            p.create_file("README.md/x", ""),
            Err(ProjectError::ParentIsFile { .. })
        ));
        p.create_folder("static/css").unwrap();
        assert!(p.is_folder("static") && p.is_folder("static/css"));
    }

    #[test]
    fn rename_moves_folders_and_their_tabs() {
        let mut p = sample();
        p.open("app/main.py");
        p.rename("app", "src").unwrap();
        assert!(p.files.contains_key("src/main.py") && !p.files.contains_key("app/main.py"));
        assert_eq!(p.open, ["Dockerfile", "src/main.py"]);
        assert_eq!(p.active.as_deref(), Some("src/main.py"));
        assert_eq!(
            p.rename("src", "src/inner"),
            Err(ProjectError::IntoItself("src".into()))
        );
        assert_eq!(p.rename("nope", "x"), Err(ProjectError::NotFound("nope".into())));
        assert_eq!(
            p.rename("README.md", "Dockerfile"),
            Err(ProjectError::Exists("Dockerfile".into()))
        );
        p.rename("README.md", "docs/README.md").unwrap();
        assert_eq!(p.files["docs/README.md"].text(), Some("hi"));
    }

    #[test]
    fn delete_removes_folders_recursively_and_closes_tabs() {
        let mut p = sample();
        p.open("app/main.py");
        p.open("README.md");
        p.open("Dockerfile");
        p.delete("app").unwrap();
        assert!(!p.files.contains_key("app/main.py"));
        assert_eq!(p.open, ["Dockerfile", "README.md"]);
        assert_eq!(p.active.as_deref(), Some("Dockerfile"));
        p.delete("Dockerfile").unwrap();
        assert_eq!(p.active.as_deref(), Some("README.md"));
        assert_eq!(
            p.delete("Dockerfile"),
            Err(ProjectError::NotFound("Dockerfile".into()))
        );
    }

    #[test]
    fn tree_rows_list_folders_first_with_depth() {
        let mut p = sample();
        p.create_folder("empty").unwrap();
        let rows: Vec<(String, usize, bool)> = p
            .tree_rows()
            .into_iter()
            .map(|r| (r.path, r.depth, r.is_folder))
            .collect();
        assert_eq!(
            rows,
            [
                ("app".to_string(), 0, true),
                ("app/main.py".to_string(), 1, false),
                ("empty".to_string(), 0, true),
                ("Dockerfile".to_string(), 0, false),
                ("README.md".to_string(), 0, false),
            ]
        );
    }

    #[test]
    fn upload_replaces_and_keeps_modes() {
        let mut p = sample();
        p.files.get_mut("README.md").unwrap().mode = 0o755;
        let added = p
            .upload(
                "",
                [("README.md", b"new".to_vec()), ("img/logo.png", vec![0x89, 0x50])],
            )
            .unwrap();
        assert_eq!(added, ["README.md", "img/logo.png"]);
        assert_eq!(
            p.files["README.md"],
            ProjectFile {
                data: b"new".to_vec(),
                mode: 0o755
            }
        );
        assert!(p.files["img/logo.png"].text().is_none(), "not UTF-8");
    }

    #[test]
    fn context_tree_holds_every_file_with_its_mode() {
        let mut p = sample();
        p.files.get_mut("README.md").unwrap().mode = 0o755;
        p.create_folder("empty").unwrap();
        let tree = p.context_tree();
        match tree.get("README.md") {
            Some(slipway::layer::Node::File { data, meta }) => {
                assert_eq!(&data[..], b"hi");
                assert_eq!(meta.mode, 0o755);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(tree.get("app"), Some(slipway::layer::Node::Dir { .. })));
        assert!(matches!(
            tree.get("empty"),
            Some(slipway::layer::Node::Dir { .. })
        ));
    }

    #[test]
    fn persists_as_json_and_back() {
        let mut p = sample();
        p.files.insert("bin".into(), ProjectFile::new(vec![0, 255, 1]));
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Project>(&json).unwrap(), p);
    }
}
