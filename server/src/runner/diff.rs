//! An overlay upper dir → an OCI layer through the core's layer writer: deterministic tar (sorted, numeric ids,
//! no overlay xattrs), whiteouts as `.wh.NAME`, opaque dirs as `.wh..wh..opq`, then gzip; diff_id and digest
//! computed in the same pass.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use slipway::layer::{LayerError, LayerOptions, LayerWriter, Meta};

use super::unpack::{layer_mode, IdShift};

/// A layer written to disk, ready to be stored in a registry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LayerDescriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    pub diff_id: String,
    #[serde(skip)]
    pub path: PathBuf,
}

/// Options for capturing a diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Paths (relative, no leading `/`) the runtime created as mount points; left out of the layer.
    pub placeholders: HashSet<String>,
    /// Clamp every mtime to this (reproducible layers); None keeps them.
    pub mtime: Option<u64>,
    pub shift: Option<IdShift>,
}

fn is_opaque(path: &Path) -> bool {
    let mut buf = [0u8; 4];
    matches!(rustix::fs::lgetxattr(path, "trusted.overlay.opaque", &mut buf[..]), Ok(1) if buf[0] == b'y')
}

/// Write the layer for `upper` to `out` (gzip), returning its descriptor (path = `out`). The tar is the core's
/// layer writer's, as every other layer Slipway makes.
pub fn capture(upper: &Path, out: &Path, opts: &DiffOptions) -> io::Result<LayerDescriptor> {
    let file = File::create(out)?;
    // Every entry carries its own time (kept or clamped), so the writer's default time is never used.
    let mut layer = LayerWriter::new(io::BufWriter::new(file), &LayerOptions::default());
    walk(&mut layer, upper, "", opts)?;
    let (mut file, info) = layer.finish().map_err(layer_io)?;
    file.flush()?;
    Ok(LayerDescriptor {
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".to_string(),
        digest: info.digest.to_string(),
        size: info.size,
        diff_id: info.diff_id.to_string(),
        path: out.to_path_buf(),
    })
}

/// A layer writer's error as the I/O error callers of [`capture`] handle.
fn layer_io(e: LayerError) -> io::Error {
    match e {
        LayerError::Io(e) => e,
        other => io::Error::other(other),
    }
}

/// Owner, mode and time of an entry of the upper dir as the layer records them.
fn entry_meta(path: &Path, meta: &fs::Metadata, opts: &DiffOptions) -> Meta {
    let (uid, gid) = match opts.shift {
        Some(s) => (s.to_container(meta.uid()), s.to_container(meta.gid())),
        None => (meta.uid(), meta.gid()),
    };
    Meta {
        // What the container made, plus the set-id bits a copied-up file had in its layer (stripped only on disk).
        mode: layer_mode(path, meta),
        uid,
        gid,
        mtime: Some(opts.mtime.unwrap_or(meta.mtime().max(0) as u64)),
    }
}

/// A whiteout (`.wh.NAME`) or opaque marker (`.wh..wh..opq`): an empty root-owned file at time 0.
fn whiteout<W: Write>(layer: &mut LayerWriter<W>, path: &str) -> io::Result<()> {
    let meta = Meta {
        mtime: Some(0),
        ..Meta::file()
    };
    layer.append_bytes(path, &meta, &[]).map_err(layer_io)
}

fn walk<W: Write>(
    layer: &mut LayerWriter<W>,
    dir: &Path,
    prefix: &str,
    opts: &DiffOptions,
) -> io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let name_str = name.to_string_lossy().into_owned();
        let rel = format!("{prefix}{name_str}");
        if opts.placeholders.contains(&rel) {
            continue;
        }
        let path = dir.join(&name);
        let meta = fs::symlink_metadata(&path)?;
        let ft = meta.file_type();
        if ft.is_char_device() && meta.rdev() == 0 {
            whiteout(layer, &format!("{prefix}.wh.{name_str}"))?;
        } else if ft.is_dir() {
            layer
                .append_dir(&rel, &entry_meta(&path, &meta, opts))
                .map_err(layer_io)?;
            if is_opaque(&path) {
                whiteout(layer, &format!("{rel}/.wh..wh..opq"))?;
            }
            walk(layer, &path, &format!("{rel}/"), opts)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&path)?;
            layer
                .append_symlink(&rel, &target.to_string_lossy(), &entry_meta(&path, &meta, opts))
                .map_err(layer_io)?;
        } else if ft.is_file() {
            let mut file = io::BufReader::new(File::open(&path)?);
            layer
                .append_file(&rel, &entry_meta(&path, &meta, opts), meta.len(), &mut file)
                .map_err(layer_io)?;
        } else if ft.is_fifo() {
            layer
                .append_fifo(&rel, &entry_meta(&path, &meta, opts))
                .map_err(layer_io)?;
        } else {
            // Other device nodes and sockets never go into a layer.
            tracing::debug!(path = %rel, "skipping special file in upper dir");
        }
    }
    Ok(())
}

/// Which of the mount points the runtime needed were missing before the run (`merged` = the mounted rootfs).
pub fn missing_mount_points(merged: &Path) -> Vec<String> {
    MOUNT_POINTS
        .iter()
        .filter(|p| fs::symlink_metadata(merged.join(p)).is_err())
        .map(|p| p.to_string())
        .collect()
}

/// Mount points the runtime creates in the rootfs when the image lacks them.
pub const MOUNT_POINTS: &[&str] = &[
    "proc",
    "sys",
    "dev",
    "etc",
    "etc/hosts",
    "etc/hostname",
    "etc/resolv.conf",
];

/// After the run: the placeholders still untouched in `upper` (empty files, dirs holding only placeholders), plus
/// directories that were only copied up to hold a placeholder (same owner and mode as in the lower layers).
pub fn effective_placeholders(upper: &Path, created: &[String], lowers: &[PathBuf]) -> HashSet<String> {
    let mut set = HashSet::new();
    let mut candidates: Vec<String> = created.to_vec();
    candidates.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    let only_placeholders = |dir: &Path, rel: &str, set: &HashSet<String>| -> bool {
        fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .all(|e| set.contains(&format!("{rel}/{}", e.file_name().to_string_lossy())))
            })
            .unwrap_or(false)
    };
    for rel in &candidates {
        let path = upper.join(rel);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() && m.len() == 0 => {
                set.insert(rel.clone());
            }
            Ok(m) if m.is_dir() && !is_opaque(&path) && only_placeholders(&path, rel, &set) => {
                set.insert(rel.clone());
            }
            _ => {}
        }
    }
    // Parents copied up only because a placeholder was created inside them.
    let parents: HashSet<String> = set
        .iter()
        .filter_map(|p| p.rsplit_once('/').map(|(parent, _)| parent.to_string()))
        .collect();
    for parent in parents {
        let path = upper.join(&parent);
        let Ok(m) = fs::symlink_metadata(&path) else {
            continue;
        };
        let lower = lowers
            .iter()
            .rev()
            .find_map(|l| fs::symlink_metadata(l.join(&parent)).ok());
        let same = lower
            .is_some_and(|l| l.is_dir() && l.mode() == m.mode() && l.uid() == m.uid() && l.gid() == m.gid());
        if m.is_dir() && same && !is_opaque(&path) && only_placeholders(&path, &parent, &set) {
            set.insert(parent);
        }
    }
    set
}
