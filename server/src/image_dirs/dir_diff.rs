//! A layer with only what a directory changed against a base layer: new and changed entries (with their
//! parent directories) and OCI whiteouts (`.wh.<name>`) for what the base had and the directory has not.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest as _, Sha256};
use slipway::layer::{LayerWriter, Meta};

use crate::image_dirs::dir_layer::{collect, emit, io_err, DirLayerError, DirStats};

/// What identifies an entry for the diff (times are ignored: layers have fixed times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sig {
    Dir {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    File {
        mode: u32,
        uid: u32,
        gid: u32,
        size: u64,
        sha256: [u8; 32],
    },
    Symlink {
        uid: u32,
        gid: u32,
        target: String,
    },
}

/// Path -> signature of every entry of a (gzipped) layer.
pub fn index_layer(gz: impl Read) -> Result<BTreeMap<String, Sig>, DirLayerError> {
    let bad = |e: io::Error| DirLayerError::Io {
        path: "base layer".into(),
        source: e,
    };
    let mut out: BTreeMap<String, Sig> = BTreeMap::new();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = String::from_utf8_lossy(&entry.path_bytes())
            .trim_end_matches('/')
            .to_owned();
        let path = path.trim_start_matches("./").to_owned();
        let h = entry.header();
        let (mode, uid, gid) = (
            h.mode().map_err(bad)? & 0o7777,
            h.uid().map_err(bad)? as u32,
            h.gid().map_err(bad)? as u32,
        );
        let sig = match h.entry_type() {
            tar::EntryType::Directory => Sig::Dir { mode, uid, gid },
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                Sig::Symlink { uid, gid, target }
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                match out.get(target.trim_start_matches("./")) {
                    Some(sig) => sig.clone(),
                    None => continue,
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                let mut hasher = Sha256::new();
                io::copy(&mut entry, &mut HashSink(&mut hasher)).map_err(bad)?;
                Sig::File {
                    mode,
                    uid,
                    gid,
                    size,
                    sha256: hasher.finalize().into(),
                }
            }
            _ => continue,
        };
        out.insert(path, sig);
    }
    Ok(out)
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Whether the entry at `root/rel` differs from `base` (hashing a file only when everything else matches).
fn changed(root: &Path, rel: &str, md: &Metadata, base: Option<&Sig>) -> Result<bool, DirLayerError> {
    let (mode, uid, gid) = (md.mode() & 0o7777, md.uid(), md.gid());
    let kind = md.file_type();
    Ok(match base {
        None => true,
        Some(Sig::Dir {
            mode: m,
            uid: u,
            gid: g,
        }) => !(kind.is_dir() && (*m, *u, *g) == (mode, uid, gid)),
        Some(Sig::Symlink {
            uid: u,
            gid: g,
            target,
        }) => {
            if !kind.is_symlink() || (*u, *g) != (uid, gid) {
                return Ok(true);
            }
            let full = root.join(rel);
            fs::read_link(&full).map_err(io_err(&full))?.to_str() != Some(target.as_str())
        }
        Some(Sig::File {
            mode: m,
            uid: u,
            gid: g,
            size,
            sha256,
        }) => {
            if !kind.is_file() || (*m, *u, *g, *size) != (mode, uid, gid, md.len()) {
                return Ok(true);
            }
            let full = root.join(rel);
            let mut hasher = Sha256::new();
            io::copy(
                &mut File::open(&full).map_err(io_err(&full))?,
                &mut HashSink(&mut hasher),
            )
            .map_err(io_err(&full))?;
            <[u8; 32]>::from(hasher.finalize()) != *sha256
        }
    })
}

/// Writes what `root` changed against `base` into `layer`; returns the stats and the number of whiteouts.
pub fn write_dir_diff<W: Write>(
    root: &Path,
    base: &BTreeMap<String, Sig>,
    layer: &mut LayerWriter<W>,
) -> Result<(DirStats, usize), DirLayerError> {
    let entries = collect(root)?;
    let present: BTreeSet<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    let parent = |p: &str| p.rfind('/').map_or(String::new(), |i| p[..i].to_owned());
    // Topmost deleted paths: gone, and their parent still exists.
    let mut whiteouts: BTreeMap<String, ()> = BTreeMap::new();
    for path in base.keys() {
        let dir = parent(path);
        if !present.contains(path.as_str()) && (dir.is_empty() || present.contains(dir.as_str())) {
            let name = path.rsplit('/').next().unwrap_or(path);
            let wh = if dir.is_empty() {
                format!(".wh.{name}")
            } else {
                format!("{dir}/.wh.{name}")
            };
            whiteouts.insert(wh, ());
        }
    }
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for (rel, md) in &entries {
        if changed(root, rel, md, base.get(rel))? {
            wanted.insert(rel.clone());
        }
    }
    // Parents of everything written, so extractors recreate them with the right metadata.
    let needs_parents: Vec<String> = wanted.iter().chain(whiteouts.keys()).cloned().collect();
    for path in needs_parents {
        let mut dir = parent(&path);
        while !dir.is_empty() && wanted.insert(dir.clone()) {
            dir = parent(&dir);
        }
    }
    let mut stats = DirStats::default();
    let mut first_link: HashMap<(u64, u64), String> = HashMap::new();
    let by_path: HashMap<&str, &Metadata> = entries.iter().map(|(p, m)| (p.as_str(), m)).collect();
    let all: BTreeSet<&str> = wanted
        .iter()
        .map(String::as_str)
        .chain(whiteouts.keys().map(String::as_str))
        .collect();
    for path in all {
        match by_path.get(path) {
            Some(md) => emit(root, path, md, layer, &mut first_link, &mut stats)?,
            None => layer.append_bytes(path, &Meta::file(), b"")?,
        }
    }
    Ok((stats, whiteouts.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway::layer::LayerOptions;
    use std::process::Command;

    #[test]
    fn diff_has_changes_parents_and_whiteouts() {
        let tmp = std::env::temp_dir().join(format!("slipway-dir-diff-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let root = tmp.join("root");
        for dir in ["etc/keep", "etc/gone-dir/sub", "usr/lib"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in [
            "etc/keep/a",
            "etc/change",
            "etc/gone",
            "etc/gone-dir/sub/x",
            "usr/lib/same",
        ] {
            fs::write(root.join(file), file.as_bytes()).unwrap();
        }
        let mut base_layer = LayerWriter::new(Vec::new(), &LayerOptions::default());
        crate::image_dirs::dir_layer::write_dir(&root, &mut base_layer).unwrap();
        let (gz, _) = base_layer.finish().unwrap();
        let index = index_layer(&gz[..]).unwrap();
        assert!(matches!(
            index.get("etc/keep/a"),
            Some(Sig::File { size: 10, .. })
        ));

        fs::write(root.join("etc/change"), b"changed").unwrap();
        fs::remove_file(root.join("etc/gone")).unwrap();
        fs::remove_dir_all(root.join("etc/gone-dir")).unwrap();
        fs::write(root.join("usr/lib/new"), b"new").unwrap();
        let mut diff = LayerWriter::new(Vec::new(), &LayerOptions::default());
        let (_, whiteouts) = write_dir_diff(&root, &index, &mut diff).unwrap();
        let (gz, _) = diff.finish().unwrap();
        assert_eq!(whiteouts, 2);
        let tgz = tmp.join("diff.tgz");
        fs::write(&tgz, &gz).unwrap();
        let out = Command::new("tar").arg("-tzf").arg(&tgz).output().unwrap();
        let listing = String::from_utf8(out.stdout).unwrap();
        let names: Vec<&str> = listing.lines().collect();
        assert_eq!(
            names,
            [
                "etc/",
                "etc/.wh.gone",
                "etc/.wh.gone-dir",
                "etc/change",
                "usr/",
                "usr/lib/",
                "usr/lib/new"
            ]
        );
        let _ = fs::remove_dir_all(&tmp);
    }
}
