//! COPY/ADD from a context tree into a layer tree, by Docker's destination rules.
//!
//! - A relative destination is relative to WORKDIR; `..` resolves lexically and stops at `/`.
//! - A source directory contributes its contents, not itself (`COPY src /app` fills `/app`).
//! - A file goes to `dest/<name>` when the destination ends in `/` (or `/.`), names a directory of the base
//!   image, or several sources matched; otherwise `dest` is the new file's path.
//! - Several literal sources need a destination ending in `/`; a wildcard (`*`, `?`, `[...]`, per path part as
//!   Go's `filepath.Match`) matching several paths makes the destination a directory.
//! - Sources must stay inside the context; a source that is a symlink is followed (inside the context).
//! - `--chown` applies to everything copied and to the directories the copy creates; `--chmod` to everything
//!   copied. Created directories are `0755`; directories that exist in the base keep their metadata in the layer.

use super::path::normalize;
use super::tree::{FileTree, Node};
use super::{LayerError, Meta};

/// Why a COPY failed; messages follow BuildKit's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("\"{0}\": not found")]
    NotFound(String),
    #[error("forbidden path outside the build context: {0}")]
    OutsideContext(String),
    #[error("When using COPY with more than one source file, the destination must be a directory and end with a /")]
    DestNotDir,
    #[error("syntax error in pattern {0:?}")]
    BadPattern(String),
    #[error("too many levels of symbolic links: {0}")]
    SymlinkLoop(String),
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// What the layer below the copy has at a path (for destination rules and parent metadata).
pub trait BaseFs {
    /// `Some(meta)` when `path` (normalized, relative) is a directory in the base image.
    fn dir(&self, path: &str) -> Option<Meta>;
}

/// An empty base (`FROM scratch`).
pub struct Scratch;

impl BaseFs for Scratch {
    fn dir(&self, _: &str) -> Option<Meta> {
        None
    }
}

impl BaseFs for FileTree {
    fn dir(&self, path: &str) -> Option<Meta> {
        match self.get(path) {
            Some(Node::Dir { meta }) => Some(*meta),
            _ => None,
        }
    }
}

/// `--chown` and `--chmod` of one COPY.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyOptions {
    pub chown: Option<(u32, u32)>,
    pub chmod: Option<u32>,
}

/// Copies `sources` from `context` to `dest` (relative to `workdir`) into `layer`; returns the entries written.
pub fn copy_into(
    context: &FileTree,
    sources: &[&str],
    dest: &str,
    workdir: &str,
    options: &CopyOptions,
    base: &dyn BaseFs,
    layer: &mut FileTree,
) -> Result<usize, CopyError> {
    let dest_path = resolve_dest(dest, workdir);
    let dir_syntax = dest.ends_with('/') || dest.ends_with("/.") || dest == "." || dest_path.is_empty();
    if sources.len() > 1 && !dir_syntax {
        return Err(CopyError::DestNotDir);
    }
    let mut matches = Vec::new();
    for src in sources {
        let found = expand(context, src)?;
        if found.is_empty() {
            return Err(CopyError::NotFound(src.to_string()));
        }
        matches.extend(found);
    }
    let into_dir = dir_syntax || matches.len() > 1 || base.dir(&dest_path).is_some();
    let mut copier = Copier {
        layer,
        base,
        options,
        written: 0,
    };
    for src in matches {
        let (real, node) = follow(context, &src)?;
        match node {
            None | Some(Node::Dir { .. }) => {
                copier.dir(&dest_path)?;
                let prefix = if real.is_empty() {
                    String::new()
                } else {
                    format!("{real}/")
                };
                for (path, node) in context
                    .iter()
                    .filter(|(p, _)| p.starts_with(&prefix) && !p.is_empty())
                {
                    let to = join(&dest_path, &path[prefix.len()..]);
                    copier.entry(context, &to, node)?;
                }
            }
            Some(node) => {
                let to = if into_dir {
                    join(&dest_path, basename(&src))
                } else {
                    dest_path.clone()
                };
                copier.entry(context, &to, node)?;
            }
        }
    }
    Ok(copier.written)
}

struct Copier<'a> {
    layer: &'a mut FileTree,
    base: &'a dyn BaseFs,
    options: &'a CopyOptions,
    written: usize,
}

impl Copier<'_> {
    fn owned(&self, mut meta: Meta, chmod: bool) -> Meta {
        if let Some((uid, gid)) = self.options.chown {
            meta.uid = uid;
            meta.gid = gid;
        }
        if let (true, Some(mode)) = (chmod, self.options.chmod) {
            meta.mode = mode;
        }
        meta
    }

    /// Ensures `path` and its parents are directories in the layer: base metadata where the base has them,
    /// else created (`0755`, chowned).
    fn dir(&mut self, path: &str) -> Result<(), CopyError> {
        let mut prefix = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if matches!(self.layer.get(&prefix), Some(Node::Dir { .. })) {
                continue;
            }
            let meta = match self.base.dir(&prefix) {
                Some(meta) => meta,
                None => self.owned(Meta::dir(), false),
            };
            self.layer.insert_dir(&prefix, meta)?;
        }
        Ok(())
    }

    fn entry(&mut self, context: &FileTree, to: &str, node: &Node) -> Result<(), CopyError> {
        if let Some(cut) = to.rfind('/') {
            self.dir(&to[..cut])?;
        }
        let copied = match node {
            Node::File { data, meta } => Node::File {
                data: data.clone(),
                meta: self.owned(*meta, true),
            },
            Node::Dir { meta } => Node::Dir {
                meta: self.owned(*meta, true),
            },
            Node::Symlink { target, meta } => Node::Symlink {
                target: target.clone(),
                meta: self.owned(*meta, false),
            },
            // Links inside the copied set are copied as files (their target may not be copied along).
            Node::HardLink { target } => match context.get(target) {
                Some(Node::File { data, meta }) => Node::File {
                    data: data.clone(),
                    meta: self.owned(*meta, true),
                },
                _ => return Err(LayerError::BadHardLink(target.clone()).into()),
            },
        };
        self.layer.insert(to, copied)?;
        self.written += 1;
        Ok(())
    }
}

/// `dest` made absolute against `workdir`, `.`/`..` resolved lexically, as a normalized relative path.
pub fn resolve_dest(dest: &str, workdir: &str) -> String {
    let full = if dest.starts_with('/') {
        dest.to_owned()
    } else {
        format!("{workdir}/{dest}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in full.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (_, true) => dir.to_owned(),
        _ => format!("{dir}/{name}"),
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A source relative to the context root; `..` may not leave it.
fn context_path(src: &str) -> Result<String, CopyError> {
    let mut parts: Vec<&str> = Vec::new();
    for part in src.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(CopyError::OutsideContext(src.to_owned()));
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// The context paths a source names (itself, or every path its wildcard parts match), for callers that need
/// to know what a COPY reads (cache checksums, `--parents`).
pub fn source_matches(context: &FileTree, src: &str) -> Result<Vec<String>, CopyError> {
    expand(context, src)
}

/// The context paths a source names: itself, or every path its wildcard parts match.
fn expand(context: &FileTree, src: &str) -> Result<Vec<String>, CopyError> {
    let path = context_path(src)?;
    if !path.contains(['*', '?', '[']) {
        return Ok(
            if path.is_empty() || context.get(&path).is_some() || follow(context, &path).is_ok() {
                vec![path]
            } else {
                vec![]
            },
        );
    }
    let pattern: Vec<&str> = path.split('/').collect();
    let mut found = Vec::new();
    for (candidate, _) in context.iter() {
        let parts: Vec<&str> = candidate.split('/').collect();
        if parts.len() != pattern.len() {
            continue;
        }
        let mut all = true;
        for (p, n) in pattern.iter().zip(&parts) {
            if !glob_match(p.as_bytes(), n.as_bytes()).map_err(|_| CopyError::BadPattern(src.to_owned()))? {
                all = false;
                break;
            }
        }
        if all {
            found.push(candidate.to_owned());
        }
    }
    Ok(found)
}

/// Follows symlinks at `path` (and its parents) inside the context; `None` node = the context root.
fn follow<'a>(context: &'a FileTree, path: &str) -> Result<(String, Option<&'a Node>), CopyError> {
    let mut current = normalize(path).map_err(|_| CopyError::OutsideContext(path.to_owned()))?;
    for _ in 0..40 {
        if current.is_empty() {
            return Ok((current, None));
        }
        match context.get(&current) {
            Some(Node::Symlink { target, .. }) => {
                let parent = current.rfind('/').map_or("", |i| &current[..i]);
                let joined = if target.starts_with('/') {
                    target.clone()
                } else {
                    format!("{parent}/{target}")
                };
                current = context_path(&joined)?;
            }
            Some(node) => return Ok((current, Some(node))),
            None => return Err(CopyError::NotFound(path.to_owned())),
        }
    }
    Err(CopyError::SymlinkLoop(path.to_owned()))
}

/// Go's `path.Match` for one path part: `*`, `?`, `[abc]`, `[a-z]`, `[^x]`, `\` escapes.
fn glob_match(pattern: &[u8], name: &[u8]) -> Result<bool, ()> {
    match pattern.split_first() {
        None => Ok(name.is_empty()),
        Some((b'*', rest)) => {
            for i in 0..=name.len() {
                if glob_match(rest, &name[i..])? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some((b'?', rest)) => Ok(!name.is_empty() && glob_match(rest, &name[1..])?),
        Some((b'[', rest)) => {
            let (negate, mut rest) = match rest.first() {
                Some(b'^') => (true, &rest[1..]),
                _ => (false, rest),
            };
            let Some(&c) = name.first() else { return Ok(false) };
            let mut matched = false;
            let mut first = true;
            loop {
                match rest.first() {
                    None => return Err(()),
                    Some(b']') if !first => {
                        rest = &rest[1..];
                        break;
                    }
                    _ => {}
                }
                first = false;
                let (lo, after) = class_char(rest)?;
                let (hi, after) = if after.first() == Some(&b'-') && after.get(1) != Some(&b']') {
                    class_char(&after[1..])?
                } else {
                    (lo, after)
                };
                if lo <= c && c <= hi {
                    matched = true;
                }
                rest = after;
            }
            Ok(matched != negate && glob_match(rest, &name[1..])?)
        }
        Some((b'\\', rest)) => match rest.split_first() {
            Some((&c, rest)) => Ok(name.first() == Some(&c) && glob_match(rest, &name[1..])?),
            None => Err(()),
        },
        Some((&c, rest)) => Ok(name.first() == Some(&c) && glob_match(rest, &name[1..])?),
    }
}

fn class_char(s: &[u8]) -> Result<(u8, &[u8]), ()> {
    match s {
        [b'\\', c, rest @ ..] => Ok((*c, rest)),
        [c, rest @ ..] if *c != b']' => Ok((*c, rest)),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let m = |p: &str, n: &str| glob_match(p.as_bytes(), n.as_bytes()).unwrap();
        assert!(m("*.txt", "a.txt") && !m("*.txt", "a.md") && m("*", "") && m("a?c", "abc"));
        assert!(m("[a-c]x", "bx") && !m("[^a-c]x", "bx") && m("[^a-c]x", "dx") && m("\\*", "*"));
        assert!(glob_match(b"[a-", b"a").is_err());
    }

    #[test]
    fn dest_resolution() {
        assert_eq!(resolve_dest("app/", "/"), "app");
        assert_eq!(resolve_dest(".", "/srv/web"), "srv/web");
        assert_eq!(resolve_dest("../x", "/srv/web"), "srv/x");
        assert_eq!(resolve_dest("/../../etc", "/"), "etc");
        assert!(context_path("../secret").is_err());
        assert_eq!(context_path("a/../b").unwrap(), "b");
    }
}
