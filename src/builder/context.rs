//! The build context: the caller's file tree with `.dockerignore` applied (the Dockerfile and `.dockerignore`
//! themselves stay, as BuildKit sends them), and its size for the progress line.

use crate::dockerfile::ignore::Dockerignore;
use crate::layer::{FileTree, Node};

/// The context without what `.dockerignore` (at the context root) excludes.
pub fn apply_dockerignore(context: &FileTree) -> FileTree {
    let Some(Node::File { data, .. }) = context.get(".dockerignore") else {
        return context.clone();
    };
    let ignore = Dockerignore::parse(&String::from_utf8_lossy(data));
    let mut kept = FileTree::new();
    for (path, node) in context.iter() {
        if ignore.is_excluded(path) {
            continue;
        }
        // Entries are in path order, so a kept entry's parents are already in (or were excluded themselves,
        // and `insert` recreates them as plain directories, as BuildKit's file sync does).
        let _ = kept.insert(path, node.clone());
    }
    kept
}

/// Bytes of file content in the context (`transferring context: 1.2kB`).
pub fn context_size(context: &FileTree) -> u64 {
    context
        .iter()
        .map(|(_, n)| match n {
            Node::File { data, .. } => data.len() as u64,
            _ => 0,
        })
        .sum()
}
