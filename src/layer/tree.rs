//! An in-memory file tree (a build context, a COPY result) and its deterministic layer.
//!
//! Entries are kept sorted by path bytes, so parents always come before their children; missing parent
//! directories are created (`0o755`, root) as entries are inserted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use super::hash::{LayerInfo, LayerOptions, LayerWriter};
use super::path::{normalize, parent};
use super::tar::{Meta, TarWriter};
use super::LayerError;

/// One entry of a [`FileTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        data: Arc<[u8]>,
        meta: Meta,
    },
    Dir {
        meta: Meta,
    },
    Symlink {
        target: String,
        meta: Meta,
    },
    /// Shares the content and metadata of the regular file at `target` (a normalized path in the same tree).
    HardLink {
        target: String,
    },
}

/// Sorted paths (normalized, relative) to nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTree {
    entries: BTreeMap<String, Node>,
}

impl FileTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The node at `path` (normalized first).
    pub fn get(&self, path: &str) -> Option<&Node> {
        normalize(path).ok().and_then(|p| self.entries.get(&p))
    }

    /// Entries in archive order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Adds a regular file; replaces whatever was at `path` (a directory with all its contents).
    pub fn insert_file(
        &mut self,
        path: &str,
        data: impl Into<Arc<[u8]>>,
        meta: Meta,
    ) -> Result<(), LayerError> {
        self.insert(
            path,
            Node::File {
                data: data.into(),
                meta,
            },
        )
    }

    /// Adds a directory, or updates the metadata of an existing one (its contents stay).
    pub fn insert_dir(&mut self, path: &str, meta: Meta) -> Result<(), LayerError> {
        self.insert(path, Node::Dir { meta })
    }

    pub fn insert_symlink(&mut self, path: &str, target: &str, meta: Meta) -> Result<(), LayerError> {
        if target.is_empty() {
            return Err(LayerError::EmptyLinkTarget(path.to_owned()));
        }
        self.insert(
            path,
            Node::Symlink {
                target: target.to_owned(),
                meta,
            },
        )
    }

    /// Adds a hard link to the regular file (or hard link) at `target`, which must already be in the tree.
    pub fn insert_hardlink(&mut self, path: &str, target: &str) -> Result<(), LayerError> {
        let target = self.resolve_hardlink(&normalize(target)?)?.to_owned();
        self.insert(path, Node::HardLink { target })
    }

    /// Inserts `node` at `path`, creating missing parents and replacing an existing entry.
    pub fn insert(&mut self, path: &str, node: Node) -> Result<(), LayerError> {
        let path = normalize(path)?;
        if path.is_empty() {
            return Err(LayerError::InvalidPath {
                path: "/".into(),
                reason: "names the root",
            });
        }
        self.make_parents(&path)?;
        if let (Some(Node::Dir { .. }), Node::Dir { .. }) = (self.entries.get(&path), &node) {
            self.entries.insert(path, node);
            return Ok(());
        }
        self.remove_subtree(&path);
        self.entries.insert(path, node);
        Ok(())
    }

    /// Removes `path` and, for a directory, everything below it; returns whether anything was removed.
    pub fn remove(&mut self, path: &str) -> Result<bool, LayerError> {
        let path = normalize(path)?;
        Ok(self.remove_subtree(&path))
    }

    fn remove_subtree(&mut self, path: &str) -> bool {
        let prefix = format!("{path}/");
        let below: Vec<String> = self
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        let mut removed = self.entries.remove(path).is_some();
        for key in below {
            self.entries.remove(&key);
            removed = true;
        }
        removed
    }

    fn make_parents(&mut self, path: &str) -> Result<(), LayerError> {
        let mut missing = Vec::new();
        let mut dir = parent(path);
        while !dir.is_empty() {
            match self.entries.get(dir) {
                Some(Node::Dir { .. }) => break,
                Some(_) => return Err(LayerError::NotADirectory(dir.to_owned())),
                None => missing.push(dir.to_owned()),
            }
            dir = parent(dir);
        }
        for dir in missing {
            self.entries.insert(dir, Node::Dir { meta: Meta::dir() });
        }
        Ok(())
    }

    fn resolve_hardlink<'a>(&'a self, target: &'a str) -> Result<&'a str, LayerError> {
        match self.entries.get(target) {
            Some(Node::File { .. }) => Ok(target),
            Some(Node::HardLink { target: t }) => Ok(t),
            _ => Err(LayerError::BadHardLink(target.to_owned())),
        }
    }

    /// Writes every entry, in order, to a tar writer (e.g. for an uncompressed archive).
    pub fn write_tar<W: Write>(&self, tar: &mut TarWriter<W>) -> Result<(), LayerError> {
        self.write_with(&mut |path, entry| match entry {
            Out::Dir(meta) => tar.append_dir(path, meta),
            Out::Symlink(target, meta) => tar.append_symlink(path, target, meta),
            Out::HardLink(target, meta) => tar.append_hardlink(path, target, meta),
            Out::File(data, meta) => tar.append_bytes(path, meta, data),
        })
    }

    /// Writes every entry, in order, to a layer writer.
    pub fn write_layer<W: Write>(&self, layer: &mut LayerWriter<W>) -> Result<(), LayerError> {
        self.write_with(&mut |path, entry| match entry {
            Out::Dir(meta) => layer.append_dir(path, meta),
            Out::Symlink(target, meta) => layer.append_symlink(path, target, meta),
            Out::HardLink(target, meta) => layer.append_hardlink(path, target, meta),
            Out::File(data, meta) => layer.append_bytes(path, meta, data),
        })
    }

    /// The whole tree as one uncompressed tar in memory (the bytes a layer pass would gzip and hash).
    pub fn to_tar(&self, mtime: u64) -> Result<Vec<u8>, LayerError> {
        let mut tar = TarWriter::new(Vec::new(), mtime);
        self.write_tar(&mut tar)?;
        tar.finish()
    }

    /// The whole tree as one gzipped layer in memory, with its digests.
    pub fn to_layer(&self, options: &LayerOptions) -> Result<(Vec<u8>, LayerInfo), LayerError> {
        let mut layer = LayerWriter::new(Vec::new(), options);
        self.write_layer(&mut layer)?;
        layer.finish()
    }

    /// Hard-linked files form groups; the first member in archive order carries the data, so a link never
    /// points forward (GNU tar and Go's extractors need the target first).
    fn write_with(
        &self,
        emit: &mut dyn FnMut(&str, Out<'_>) -> Result<(), LayerError>,
    ) -> Result<(), LayerError> {
        let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (path, node) in &self.entries {
            if let Node::HardLink { target } = node {
                let target = self.resolve_hardlink(target)?;
                let group = groups.entry(target).or_default();
                group.insert(target);
                group.insert(path);
            }
        }
        let mut leader: BTreeMap<&str, (&str, &str)> = BTreeMap::new(); // member -> (first member, data owner)
        for (owner, members) in &groups {
            let first = *members.iter().next().expect("a group has members");
            for member in members {
                leader.insert(member, (first, owner));
            }
        }
        for (path, node) in &self.entries {
            if let Some(&(first, owner)) = leader.get(path.as_str()) {
                let Some(Node::File { data, meta }) = self.entries.get(owner) else {
                    return Err(LayerError::BadHardLink(owner.to_owned()));
                };
                if first == path {
                    emit(path, Out::File(data, meta))?;
                } else {
                    emit(path, Out::HardLink(first, meta))?;
                }
                continue;
            }
            match node {
                Node::Dir { meta } => emit(path, Out::Dir(meta))?,
                Node::Symlink { target, meta } => emit(path, Out::Symlink(target, meta))?,
                Node::File { data, meta } => emit(path, Out::File(data, meta))?,
                Node::HardLink { target } => return Err(LayerError::BadHardLink(target.clone())),
            }
        }
        Ok(())
    }
}

enum Out<'a> {
    Dir(&'a Meta),
    Symlink(&'a str, &'a Meta),
    HardLink(&'a str, &'a Meta),
    File(&'a [u8], &'a Meta),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_created_and_sorted_first() {
        let mut t = FileTree::new();
        t.insert_file("/app/src/main.py", b"print(1)\n".to_vec(), Meta::file())
            .unwrap();
        t.insert_file("app-data", b"x".to_vec(), Meta::file()).unwrap();
        let paths: Vec<&str> = t.iter().map(|(p, _)| p).collect();
        assert_eq!(paths, ["app", "app-data", "app/src", "app/src/main.py"]);
        assert!(matches!(t.get("app/src"), Some(Node::Dir { .. })));
    }

    #[test]
    fn file_replaces_directory_and_its_contents() {
        let mut t = FileTree::new();
        t.insert_file("a/b/c", b"1".to_vec(), Meta::file()).unwrap();
        t.insert_file("a/b", b"2".to_vec(), Meta::file()).unwrap();
        assert_eq!(t.len(), 2);
        assert!(matches!(
            t.insert_file("a/b/d", b"3".to_vec(), Meta::file()),
            Err(LayerError::NotADirectory(_))
        ));
    }

    #[test]
    fn hardlink_needs_a_file() {
        let mut t = FileTree::new();
        t.insert_dir("d", Meta::dir()).unwrap();
        assert!(t.insert_hardlink("x", "d").is_err());
        assert!(t.insert_hardlink("x", "missing").is_err());
    }

    #[test]
    fn dotdot_is_rejected() {
        let mut t = FileTree::new();
        assert!(t
            .insert_file("../etc/passwd", b"".to_vec(), Meta::file())
            .is_err());
    }
}
