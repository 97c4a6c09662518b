//! An overlay upper dir → an OCI layer: deterministic tar (sorted, numeric ids, no overlay xattrs), whiteouts as
//! `.wh.NAME`, opaque dirs as `.wh..wh..opq`, then gzip; diff_id and digest computed in the same pass.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use slipway::layer::HashWriter;

use super::unpack::{layer_mode, IdShift};

/// A layer written to disk, ready to be stored in a registry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
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

/// Write the layer for `upper` to `out` (gzip), returning its descriptor (path = `out`).
pub fn capture(upper: &Path, out: &Path, opts: &DiffOptions) -> io::Result<LayerDescriptor> {
    let file = File::create(out)?;
    let blob = HashWriter::new(io::BufWriter::new(file));
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(blob, flate2::Compression::new(6));
    let tar_out = HashWriter::new(gz);
    let mut builder = tar::Builder::new(tar_out);
    builder.mode(tar::HeaderMode::Complete);
    walk(&mut builder, upper, "", opts)?;
    let tar_out = builder.into_inner()?;
    let (gz, diff_id, _) = tar_out.finish();
    let (mut file, digest, size) = gz.finish()?.finish();
    file.flush()?;
    Ok(LayerDescriptor {
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".to_string(),
        digest: digest.to_string(),
        size,
        diff_id: diff_id.to_string(),
        path: out.to_path_buf(),
    })
}

fn header_for(path: &Path, meta: &fs::Metadata, kind: tar::EntryType, opts: &DiffOptions) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    // What the container made, plus the set-id bits a copied-up file had in its layer (stripped only on disk).
    h.set_mode(layer_mode(path, meta));
    let (uid, gid) = match opts.shift {
        Some(s) => (s.to_container(meta.uid()), s.to_container(meta.gid())),
        None => (meta.uid(), meta.gid()),
    };
    h.set_uid(uid as u64);
    h.set_gid(gid as u64);
    h.set_mtime(opts.mtime.unwrap_or(meta.mtime().max(0) as u64));
    h.set_size(0);
    h
}

fn whiteout() -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(0);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn walk<W: Write>(b: &mut tar::Builder<W>, dir: &Path, prefix: &str, opts: &DiffOptions) -> io::Result<()> {
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
            let wh = format!("{prefix}.wh.{name_str}");
            b.append_data(&mut whiteout(), &wh, io::empty())?;
        } else if ft.is_dir() {
            let mut h = header_for(&path, &meta, tar::EntryType::Directory, opts);
            b.append_data(&mut h, format!("{rel}/"), io::empty())?;
            if is_opaque(&path) {
                let wh = format!("{rel}/.wh..wh..opq");
                b.append_data(&mut whiteout(), &wh, io::empty())?;
            }
            walk(b, &path, &format!("{rel}/"), opts)?;
        } else if ft.is_symlink() {
            let mut h = header_for(&path, &meta, tar::EntryType::Symlink, opts);
            let target = fs::read_link(&path)?;
            b.append_link(&mut h, &rel, target)?;
        } else if ft.is_file() {
            let mut h = header_for(&path, &meta, tar::EntryType::Regular, opts);
            h.set_size(meta.len());
            b.append_data(&mut h, &rel, File::open(&path)?)?;
        } else if ft.is_fifo() {
            let mut h = header_for(&path, &meta, tar::EntryType::Fifo, opts);
            b.append_data(&mut h, &rel, io::empty())?;
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
