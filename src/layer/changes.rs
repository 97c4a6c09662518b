//! What each layer of an image changes, like `dive`: its entries marked added, modified or deleted against the
//! layers below (OCI whiteouts `.wh.NAME` and opaque directories `.wh..wh..opq`), with sizes, and the layer's
//! diff_id and uncompressed size. Layers are read as streams, one after the other: only paths, kinds and sizes
//! are kept, never file contents. Hostile archives are refused as [`FileTree::extract_tar`] refuses them.
//!
//! [`FileTree::extract_tar`]: super::FileTree::extract_tar

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufReader, Read};

use flate2::read::GzDecoder;
use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};

use super::hash::{sha256, sha256_digest};
use super::path::{normalize, parent};
use super::untar::{entry_path, other_compression};
use super::{ExtractError, ExtractLimits};

/// How a layer changed a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Not in the layers below.
    Added,
    /// Replaced or touched (a directory whose metadata or contents this layer writes).
    Modified,
    /// Removed by a whiteout, an opaque directory, or a non-directory written over a directory.
    Deleted,
}

impl Change {
    /// The word the explorer shows beside the colour.
    pub fn label(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Modified => "modified",
            Change::Deleted => "deleted",
        }
    }
}

/// What kind of entry a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink(String),
    HardLink(String),
    /// Device nodes and FIFOs.
    Special,
    /// A whiteout of a path no layer below has.
    Unknown,
}

/// One changed path of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedEntry {
    /// Normalized, relative (`app/a.txt`).
    pub path: String,
    pub kind: EntryKind,
    /// Content bytes (0 for directories and links); for a deletion, the size it had below.
    pub size: u64,
    pub change: Change,
}

/// What one layer does to the image's filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerChanges {
    /// Sorted by path.
    pub entries: Vec<ChangedEntry>,
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// sha256 of the blob as given (compressed or not).
    pub digest: Digest,
    pub tar_size: u64,
    pub blob_size: u64,
}

impl LayerChanges {
    /// Bytes of content this layer adds or replaces.
    pub fn content_size(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| e.change != Change::Deleted)
            .map(|e| e.size)
            .sum()
    }

    /// The changed entries as a tree of directories, for display.
    pub fn tree(&self) -> Vec<TreeNode> {
        let mut root = TreeNode::default();
        for entry in &self.entries {
            let mut node = &mut root;
            for part in entry.path.split('/') {
                node = node.child(part);
            }
            node.entry = Some(entry.clone());
        }
        root.finish();
        root.children
    }
}

/// A directory level of a layer's changes: a changed entry, or a directory only shown to reach one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeNode {
    pub name: String,
    pub entry: Option<ChangedEntry>,
    /// Sorted by name.
    pub children: Vec<TreeNode>,
    /// Content bytes of this entry and everything below it that the layer adds or replaces.
    pub total_size: u64,
}

impl TreeNode {
    fn child(&mut self, name: &str) -> &mut TreeNode {
        let index = match self.children.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                self.children.push(TreeNode {
                    name: name.to_owned(),
                    ..TreeNode::default()
                });
                self.children.len() - 1
            }
        };
        &mut self.children[index]
    }

    fn finish(&mut self) {
        self.children.sort_by(|a, b| a.name.cmp(&b.name));
        let own = match &self.entry {
            Some(e) if e.change != Change::Deleted => e.size,
            _ => 0,
        };
        self.total_size = own;
        for child in &mut self.children {
            child.finish();
            self.total_size += child.total_size;
        }
    }

    /// Whether it is shown as a directory (it has children, or is one).
    pub fn is_dir(&self) -> bool {
        !self.children.is_empty()
            || matches!(
                self.entry,
                Some(ChangedEntry {
                    kind: EntryKind::Dir,
                    ..
                })
            )
    }
}

/// What is known of a path in the layers below.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Below {
    kind: EntryKind,
    size: u64,
}

/// The merged filesystem of the layers applied so far (paths, kinds and sizes only).
#[derive(Debug, Default)]
pub struct LayerStack {
    below: BTreeMap<String, Below>,
    limits: ExtractLimits,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// A `Read` adapter that hashes and counts what passes.
struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Everything below `dir` (not `dir` itself) in a sorted map.
fn descendants<'m, V>(map: &'m BTreeMap<String, V>, dir: &str) -> impl Iterator<Item = (&'m String, &'m V)> {
    let prefix = format!("{dir}/");
    map.range(prefix.clone()..)
        .take_while(move |(p, _)| p.starts_with(&prefix))
}

impl LayerStack {
    pub fn new(limits: ExtractLimits) -> Self {
        LayerStack {
            below: BTreeMap::new(),
            limits,
        }
    }

    /// Reads the next layer (a tar, gzip-compressed or not), returns what it changes and stacks it.
    pub fn apply(&mut self, blob: &[u8]) -> Result<LayerChanges, ExtractError> {
        if let Some(kind) = other_compression(blob) {
            return Err(ExtractError::Compression(kind));
        }
        let reader: Box<dyn Read + '_> = if blob.starts_with(&[0x1f, 0x8b]) {
            Box::new(BufReader::new(GzDecoder::new(blob)))
        } else {
            Box::new(blob)
        };
        let mut hashed = HashReader {
            inner: reader,
            hasher: Sha256::new(),
            count: 0,
        };
        let written = self.read_entries(&mut hashed)?;
        // The tar's end-of-archive blocks and padding count for the diff_id too.
        io::copy(&mut hashed, &mut io::sink()).map_err(|e| ExtractError::NotTar(e.to_string()))?;
        let diff_id = sha256_digest(&format!("{:x}", hashed.hasher.finalize()));
        let entries = self.stack(written);
        Ok(LayerChanges {
            entries,
            diff_id,
            digest: sha256(blob),
            tar_size: hashed.count,
            blob_size: blob.len() as u64,
        })
    }

    /// The layer's own entries, whiteouts and opaque directories, with every content byte read (and hashed).
    fn read_entries<R: Read>(&self, reader: &mut R) -> Result<Written, ExtractError> {
        let mut out = Written::default();
        let mut tar = tar::Archive::new(reader);
        let entries = tar.entries().map_err(|e| ExtractError::NotTar(e.to_string()))?;
        let (mut count, mut bytes) = (0usize, 0u64);
        for entry in entries {
            let mut entry = entry.map_err(|e| ExtractError::NotTar(e.to_string()))?;
            count += 1;
            if count > self.limits.max_entries {
                return Err(ExtractError::TooManyEntries(self.limits.max_entries));
            }
            let (raw, path) = entry_path(&entry)?;
            let bad = |reason: String| ExtractError::BadEntry {
                path: raw.clone(),
                reason,
            };
            if path.is_empty() {
                continue;
            }
            let size = entry.size();
            if size > self.limits.max_bytes - bytes {
                return Err(ExtractError::TooBig {
                    path: raw,
                    size,
                    limit: self.limits.max_bytes,
                });
            }
            let link = || -> Result<String, ExtractError> {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| bad("link without a target".into()))?;
                String::from_utf8(target.into_owned()).map_err(|_| bad("link target is not UTF-8".into()))
            };
            let kind = match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink(link()?),
                tar::EntryType::Link => {
                    EntryKind::HardLink(normalize(&link()?).map_err(|e| bad(e.to_string()))?)
                }
                tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => EntryKind::Special,
                other => return Err(bad(format!("unsupported entry type {other:?}"))),
            };
            let read = io::copy(&mut entry, &mut io::sink()).map_err(|e| bad(e.to_string()))?;
            if read != size {
                return Err(bad(format!("truncated: {read} of {size} bytes")));
            }
            bytes += size;
            let (dir, name) = (parent(&path), path.rsplit('/').next().unwrap_or(&path));
            if name == OPAQUE {
                out.opaque.insert(dir.to_owned());
            } else if let Some(hidden) = name.strip_prefix(WHITEOUT) {
                let target = if dir.is_empty() {
                    hidden.to_owned()
                } else {
                    format!("{dir}/{hidden}")
                };
                out.whiteouts
                    .insert(normalize(&target).map_err(|e| bad(e.to_string()))?);
            } else {
                let size = if kind == EntryKind::File { size } else { 0 };
                // A later entry for the same path replaces the earlier one, as extraction does.
                out.entries.insert(path, Below { kind, size });
            }
        }
        Ok(out)
    }

    /// Marks the layer's paths against the layers below, then makes the layer part of "below".
    fn stack(&mut self, written: Written) -> Vec<ChangedEntry> {
        // Whiteouts and opaque directories hide what is below, whatever their order in the tar; entries of the
        // same layer stay (OCI image spec, "Whiteouts").
        let mut removed: BTreeSet<String> = BTreeSet::new();
        let mut changes: BTreeMap<String, ChangedEntry> = BTreeMap::new();
        for target in &written.whiteouts {
            removed.insert(target.clone());
            removed.extend(descendants(&self.below, target).map(|(p, _)| p.clone()));
        }
        for dir in &written.opaque {
            removed.extend(descendants(&self.below, dir).map(|(p, _)| p.clone()));
        }
        for (path, entry) in &written.entries {
            if entry.kind != EntryKind::Dir {
                // A file over a directory replaces the directory and everything in it.
                removed.extend(descendants(&self.below, path).map(|(p, _)| p.clone()));
            }
        }
        for path in &removed {
            if written.entries.contains_key(path) {
                continue;
            }
            let (kind, size) = match self.below.get(path) {
                Some(b) => (b.kind.clone(), b.size),
                None => (EntryKind::Unknown, 0),
            };
            changes.insert(
                path.clone(),
                ChangedEntry {
                    path: path.clone(),
                    kind,
                    size,
                    change: Change::Deleted,
                },
            );
        }
        for (path, entry) in &written.entries {
            let change = if self.below.contains_key(path) {
                Change::Modified
            } else {
                Change::Added
            };
            changes.insert(
                path.clone(),
                ChangedEntry {
                    path: path.clone(),
                    kind: entry.kind.clone(),
                    size: entry.size,
                    change,
                },
            );
        }
        for path in &removed {
            self.below.remove(path);
        }
        for path in written.entries.keys() {
            // A tar may leave out parent directories; they exist all the same.
            let mut dir = parent(path);
            while !dir.is_empty() && !self.below.contains_key(dir) {
                self.below.insert(
                    dir.to_owned(),
                    Below {
                        kind: EntryKind::Dir,
                        size: 0,
                    },
                );
                dir = parent(dir);
            }
        }
        self.below.extend(written.entries);
        changes.into_values().collect()
    }
}

/// One layer's tar, as read.
#[derive(Default)]
struct Written {
    entries: BTreeMap<String, Below>,
    /// Paths a `.wh.NAME` removes.
    whiteouts: BTreeSet<String>,
    /// Directories whose lower contents a `.wh..wh..opq` hides.
    opaque: BTreeSet<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzip tar of `(path, contents)`; a path ending in `/` is a directory.
    fn layer(entries: &[(&str, &str)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (path, data) in entries {
            let mut header = tar::Header::new_ustar();
            if path.ends_with('/') {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                header.set_mode(0o755);
            } else {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
            }
            header.set_cksum();
            builder.append_data(&mut header, path, data.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn marks(changes: &LayerChanges) -> Vec<(String, Change, u64)> {
        changes
            .entries
            .iter()
            .map(|e| (e.path.clone(), e.change, e.size))
            .collect()
    }

    fn entry(path: &str, change: Change, size: u64) -> (String, Change, u64) {
        (path.to_owned(), change, size)
    }

    #[test]
    fn added_modified_deleted_against_the_layers_below() {
        let mut stack = LayerStack::default();
        let first = stack
            .apply(&layer(&[
                ("app/", ""),
                ("app/a.txt", "alpha"),
                ("app/old/", ""),
                ("app/old/x", "xx"),
            ]))
            .unwrap();
        assert_eq!(
            marks(&first),
            [
                entry("app", Change::Added, 0),
                entry("app/a.txt", Change::Added, 5),
                entry("app/old", Change::Added, 0),
                entry("app/old/x", Change::Added, 2),
            ]
        );
        let second = stack
            .apply(&layer(&[
                ("app/", ""),
                ("app/a.txt", "alpha2"),
                ("app/b.txt", "b"),
                ("app/.wh.old", ""),
            ]))
            .unwrap();
        assert_eq!(
            marks(&second),
            [
                entry("app", Change::Modified, 0),
                entry("app/a.txt", Change::Modified, 6),
                entry("app/b.txt", Change::Added, 1),
                entry("app/old", Change::Deleted, 0),
                entry("app/old/x", Change::Deleted, 2),
            ]
        );
        assert_eq!(second.content_size(), 7);
        // The whiteout is applied: a third layer adding `app/old` adds it anew.
        let third = stack.apply(&layer(&[("app/old", "file now")])).unwrap();
        assert_eq!(marks(&third), [entry("app/old", Change::Added, 8)]);
    }

    #[test]
    fn opaque_directories_hide_only_what_is_below() {
        let mut stack = LayerStack::default();
        stack
            .apply(&layer(&[
                ("etc/", ""),
                ("etc/a", "1"),
                ("etc/b", "22"),
                ("etc/sub/c", "333"),
            ]))
            .unwrap();
        // The opaque marker comes after the layer's own entry: that entry stays.
        let changes = stack
            .apply(&layer(&[
                ("etc/", ""),
                ("etc/a", "new"),
                ("etc/.wh..wh..opq", ""),
            ]))
            .unwrap();
        assert_eq!(
            marks(&changes),
            [
                entry("etc", Change::Modified, 0),
                entry("etc/a", Change::Modified, 3),
                entry("etc/b", Change::Deleted, 2),
                entry("etc/sub", Change::Deleted, 0),
                entry("etc/sub/c", Change::Deleted, 3),
            ]
        );
        let after = stack.apply(&layer(&[("etc/b", "back")])).unwrap();
        assert_eq!(marks(&after), [entry("etc/b", Change::Added, 4)]);
    }

    #[test]
    fn a_file_over_a_directory_deletes_its_contents() {
        let mut stack = LayerStack::default();
        stack.apply(&layer(&[("d/", ""), ("d/x", "x")])).unwrap();
        let changes = stack.apply(&layer(&[("d", "file")])).unwrap();
        assert_eq!(
            marks(&changes),
            [entry("d", Change::Modified, 4), entry("d/x", Change::Deleted, 1)]
        );
    }

    #[test]
    fn digests_sizes_and_tree_match_the_blob() {
        let blob = layer(&[("app/a.txt", "alpha"), ("app/sub/b", "bb"), ("top", "t")]);
        let changes = LayerStack::default().apply(&blob).unwrap();
        let mut tar = Vec::new();
        GzDecoder::new(&blob[..]).read_to_end(&mut tar).unwrap();
        assert_eq!(changes.diff_id, sha256(&tar));
        assert_eq!(changes.tar_size, tar.len() as u64);
        assert_eq!(changes.digest, sha256(&blob));
        assert_eq!(changes.blob_size, blob.len() as u64);
        let tree = changes.tree();
        assert_eq!(
            tree.iter()
                .map(|n| (n.name.as_str(), n.total_size))
                .collect::<Vec<_>>(),
            [("app", 7), ("top", 1)]
        );
        // `app` has no entry of its own in this tar: it is shown only to reach its files.
        assert!(tree[0].entry.is_none() && tree[0].is_dir());
        assert_eq!(tree[0].children[1].name, "sub");
        assert_eq!(tree[0].children[1].children[0].entry.as_ref().unwrap().size, 2);
    }

    #[test]
    fn hostile_layers_are_refused() {
        let mut stack = LayerStack::new(ExtractLimits {
            max_bytes: 4,
            max_entries: 10,
        });
        let too_big = stack.apply(&layer(&[("big", "12345")])).unwrap_err();
        assert!(matches!(too_big, ExtractError::TooBig { .. }), "{too_big}");
        // `tar::Builder` refuses `..` itself: write the name into the header by hand.
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
        header.set_size(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let mut raw = header.as_bytes().to_vec();
        raw.extend_from_slice(&[0; 1024]);
        let escape = stack.apply(&raw).unwrap_err();
        assert!(escape.to_string().contains(".."), "{escape}");
        let garbage = stack.apply(b"BZh91AY&SY").unwrap_err();
        assert!(matches!(garbage, ExtractError::Compression("bzip2")), "{garbage}");
        let truncated = layer(&[("a", "abcd")]);
        let cut = stack.apply(&truncated[..truncated.len() / 2]).unwrap_err();
        assert!(!cut.to_string().is_empty());
    }
}
