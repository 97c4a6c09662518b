//! A layer from a directory on disk (a debootstrap rootfs, a container's upper dir): modes, owners, symlinks
//! and hard links kept; device nodes, sockets and FIFOs skipped; entries in path order with fixed times.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{BufReader, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use slipway::layer::{LayerError, LayerWriter, Meta};

/// Errors while reading the directory or writing its layer.
#[derive(Debug, thiserror::Error)]
pub enum DirLayerError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}: file name is not UTF-8")]
    NotUtf8(PathBuf),
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// What was written and what was left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DirStats {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Device nodes, sockets and FIFOs: a container runtime provides `/dev`, so images do not carry them.
    pub skipped: Vec<String>,
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DirLayerError + '_ {
    move |source| DirLayerError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Every path below `root` (relative, `/`-separated) with its `lstat` metadata, sorted by path bytes.
pub(crate) fn collect(root: &Path) -> Result<Vec<(String, Metadata)>, DirLayerError> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| DirLayerError::NotUtf8(path.clone()))?;
            let rel_path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = fs::symlink_metadata(&path).map_err(io_err(&path))?;
            if meta.is_dir() {
                stack.push((path, rel_path.clone()));
            }
            out.push((rel_path, meta));
        }
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// Writes the contents of `root` (not `root` itself) into `layer`.
pub fn write_dir<W: Write>(root: &Path, layer: &mut LayerWriter<W>) -> Result<DirStats, DirLayerError> {
    let mut stats = DirStats::default();
    let mut first_link: HashMap<(u64, u64), String> = HashMap::new();
    for (rel, md) in collect(root)? {
        emit(root, &rel, &md, layer, &mut first_link, &mut stats)?;
    }
    Ok(stats)
}

/// Writes one entry; a file whose inode was written before (in this layer) becomes a hard link to it.
pub(crate) fn emit<W: Write>(
    root: &Path,
    rel: &str,
    md: &Metadata,
    layer: &mut LayerWriter<W>,
    first_link: &mut HashMap<(u64, u64), String>,
    stats: &mut DirStats,
) -> Result<(), DirLayerError> {
    let meta = Meta {
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        mtime: None,
    };
    let kind = md.file_type();
    let full = root.join(rel);
    if kind.is_dir() {
        layer.append_dir(rel, &meta)?;
        stats.dirs += 1;
    } else if kind.is_symlink() {
        let target = fs::read_link(&full).map_err(io_err(&full))?;
        let target = target
            .into_os_string()
            .into_string()
            .map_err(|_| DirLayerError::NotUtf8(full.clone()))?;
        layer.append_symlink(rel, &target, &meta)?;
        stats.symlinks += 1;
    } else if kind.is_file() {
        if md.nlink() > 1 {
            if let Some(first) = first_link.get(&(md.dev(), md.ino())) {
                layer.append_hardlink(rel, first, &meta)?;
                stats.hardlinks += 1;
                return Ok(());
            }
            first_link.insert((md.dev(), md.ino()), rel.to_owned());
        }
        let mut file = BufReader::with_capacity(256 * 1024, File::open(&full).map_err(io_err(&full))?);
        layer.append_file(rel, &meta, md.len(), &mut file)?;
        stats.files += 1;
    } else if kind.is_char_device() || kind.is_block_device() || kind.is_fifo() || kind.is_socket() {
        stats.skipped.push(rel.to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::process::Command;

    #[test]
    fn keeps_modes_links_and_owners_skips_fifos() {
        let root = std::env::temp_dir().join(format!("slipway-dir-layer-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("a/b")).unwrap();
        fs::write(root.join("a/b/file"), b"content").unwrap();
        fs::set_permissions(root.join("a/b/file"), fs::Permissions::from_mode(0o4755)).unwrap();
        fs::hard_link(root.join("a/b/file"), root.join("a/link")).unwrap();
        symlink("../x", root.join("a/sym")).unwrap();
        fs::write(root.join("a-b"), b"").unwrap();
        std::os::unix::fs::chown(root.join("a-b"), Some(1000), Some(1001)).unwrap();
        assert!(Command::new("mkfifo")
            .arg(root.join("fifo"))
            .status()
            .unwrap()
            .success());

        let mut layer = LayerWriter::new(Vec::new(), &slipway::layer::LayerOptions::default());
        let stats = write_dir(&root, &mut layer).unwrap();
        let (gz, info) = layer.finish().unwrap();
        assert_eq!(
            (stats.files, stats.dirs, stats.symlinks, stats.hardlinks),
            (2, 2, 1, 1)
        );
        assert_eq!(stats.skipped, ["fifo"]);
        assert_eq!(info.size, gz.len() as u64);

        let tgz = root.with_extension("tgz");
        fs::write(&tgz, &gz).unwrap();
        let out = Command::new("tar")
            .arg("--numeric-owner")
            .arg("-tvzf")
            .arg(&tgz)
            .output()
            .unwrap();
        let listing = String::from_utf8(out.stdout).unwrap();
        let names: Vec<&str> = listing
            .lines()
            .map(|l| l.split_whitespace().nth(5).unwrap())
            .collect();
        // Path-byte order: "a" < "a-b" < "a/..."; the hard link's data sits on the first name, a/b/file.
        assert_eq!(names, ["a/", "a-b", "a/b/", "a/b/file", "a/link", "a/sym"]);
        assert!(listing.contains("-rwsr-xr-x 0/0"), "{listing}");
        assert!(listing.contains("1000/1001"), "{listing}");
        assert!(listing.contains("a/link link to a/b/file"), "{listing}");
        assert!(listing.contains("a/sym -> ../x"), "{listing}");
        let _ = fs::remove_dir_all(&root);
        let _ = fs::remove_file(&tgz);
    }
}
