//! The working directory as `slipway docker cp`'s project: what is copied out lands below it, what is copied in
//! comes from below it. A path whose folders include a symbolic link is refused, so nothing a container sends
//! is written outside the directory.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use slipway::api::MAX_COPY_BYTES;
use slipway::layer::{FileTree, Meta, Node};

pub struct WorkingDir(pub PathBuf);

impl WorkingDir {
    /// `rel` below the directory, each folder on the way a real folder (not a link).
    fn checked(&self, rel: &str) -> Result<PathBuf, String> {
        let mut path = self.0.clone();
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            path.push(part);
            let last = i + 1 == parts.len();
            match std::fs::symlink_metadata(&path) {
                Ok(m) if !last && !m.is_dir() => {
                    return Err(format!(
                        "{}: not a directory (or a link, which docker cp does not cross here)",
                        path.display()
                    ))
                }
                _ => {}
            }
        }
        Ok(path)
    }

    fn read_into(
        &self,
        tree: &mut FileTree,
        path: &Path,
        name: &str,
        follow: bool,
        total: &mut u64,
    ) -> Result<(), String> {
        let meta = match follow {
            true => std::fs::metadata(path),
            false => std::fs::symlink_metadata(path),
        }
        .map_err(|e| format!("lstat {}: {}", path.display(), plain(&e)))?;
        let m = meta_of(&meta);
        let bad = |e: slipway::layer::LayerError| e.to_string();
        if meta.is_dir() {
            tree.insert_dir(name, m).map_err(bad)?;
            let mut names: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| e.to_string())?
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for child in names {
                self.read_into(tree, &path.join(&child), &format!("{name}/{child}"), false, total)?;
            }
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(path).map_err(|e| e.to_string())?;
            tree.insert_symlink(name, &target.to_string_lossy(), m)
                .map_err(bad)?;
        } else if meta.is_file() {
            *total += meta.len();
            if *total > MAX_COPY_BYTES {
                return Err(format!("the copy is larger than {} bytes", MAX_COPY_BYTES));
            }
            let data = std::fs::read(path).map_err(|e| e.to_string())?;
            tree.insert_file(name, data, m).map_err(bad)?;
        }
        Ok(())
    }
}

fn meta_of(meta: &std::fs::Metadata) -> Meta {
    use std::os::unix::fs::MetadataExt;
    Meta {
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime: Some(meta.mtime().max(0) as u64),
    }
}

/// Go's text for an I/O error (`no such file or directory`), as docker prints it.
fn plain(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        _ => e.to_string(),
    }
}

impl slipway::cli::project_files::ProjectFiles for WorkingDir {
    fn root(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }

    fn kind(&self, path: &str) -> Option<bool> {
        let full = self.checked(path).ok()?;
        std::fs::metadata(full).ok().map(|m| m.is_dir())
    }

    fn read(&self, path: &str, name: &str, follow: bool) -> Result<FileTree, String> {
        let full = self.checked(path)?;
        if follow {
            let real = full.canonicalize().map_err(|e| e.to_string())?;
            if !real.starts_with(self.0.canonicalize().map_err(|e| e.to_string())?) {
                return Err(format!("{}: the link leads out of the project", full.display()));
            }
        }
        let mut tree = FileTree::new();
        self.read_into(&mut tree, &full, name, follow, &mut 0)?;
        Ok(tree)
    }

    fn write(&self, dir: &str, tree: &FileTree) -> Result<(), String> {
        for (path, node) in tree.iter() {
            let rel = if dir.is_empty() {
                path.to_string()
            } else {
                format!("{dir}/{path}")
            };
            let full = self.checked(&rel)?;
            let existing = std::fs::symlink_metadata(&full).ok();
            let is_dir = existing.as_ref().is_some_and(|m| m.is_dir());
            let io = |e: std::io::Error| format!("{}: {e}", full.display());
            match node {
                Node::Dir { meta } => {
                    if existing.is_some() && !is_dir {
                        std::fs::remove_file(&full).map_err(io)?;
                    }
                    if !is_dir {
                        std::fs::create_dir(&full).map_err(io)?;
                    }
                    let mode = std::fs::Permissions::from_mode(meta.mode & 0o777 | 0o700);
                    std::fs::set_permissions(&full, mode).map_err(io)?;
                    continue;
                }
                _ if is_dir => {
                    return Err(format!(
                        "cannot overwrite directory \"{}\" with non-directory",
                        full.display()
                    ))
                }
                _ if existing.is_some() => std::fs::remove_file(&full).map_err(io)?,
                _ => {}
            }
            match node {
                Node::File { data, meta } => {
                    std::fs::write(&full, data).map_err(io)?;
                    let mode = std::fs::Permissions::from_mode(meta.mode & 0o777);
                    std::fs::set_permissions(&full, mode).map_err(io)?;
                }
                Node::Symlink { target, .. } => std::os::unix::fs::symlink(target, &full).map_err(io)?,
                Node::HardLink { target } => {
                    let from = self.checked(&if dir.is_empty() {
                        target.clone()
                    } else {
                        format!("{dir}/{target}")
                    })?;
                    std::fs::hard_link(from, &full).map_err(io)?;
                }
                Node::Dir { .. } => {}
            }
        }
        Ok(())
    }

    fn stdin_tar(&self) -> Result<Vec<u8>, String> {
        let mut tar = Vec::new();
        std::io::stdin()
            .take(MAX_COPY_BYTES + 1)
            .read_to_end(&mut tar)
            .map_err(|e| e.to_string())?;
        if tar.len() as u64 > MAX_COPY_BYTES {
            return Err(format!(
                "the archive on stdin is larger than {MAX_COPY_BYTES} bytes"
            ));
        }
        Ok(tar)
    }

    fn stdout_tar(&self, tar: &[u8]) -> Result<(), String> {
        let mut out = std::io::stdout().lock();
        out.write_all(tar)
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())
    }
}
