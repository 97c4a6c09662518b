//! Reading tar archives (plain or gzip) into a [`FileTree`]: dropped `.tar(.gz)` contexts and ADD's local
//! archive extraction. Untrusted input: `..` paths, links to missing files, size claims over the limits are
//! clear errors, never a panic or a huge allocation.

use std::io::{self, Read};

use flate2::read::GzDecoder;

use super::path::normalize;
use super::tree::FileTree;
use super::{LayerError, Meta};

/// Bounds for one archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Total bytes of file content.
    pub max_bytes: u64,
    pub max_entries: usize,
}

impl Default for ExtractLimits {
    /// 1 GiB and 200,000 entries: more than a playground context or ADD needs.
    fn default() -> Self {
        ExtractLimits {
            max_bytes: 1 << 30,
            max_entries: 200_000,
        }
    }
}

/// What an extraction did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub entries: usize,
    pub bytes: u64,
    /// Device nodes and FIFOs: a file tree does not hold them.
    pub skipped: Vec<String>,
}

/// Errors from reading an archive.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("not a tar archive: {0}")]
    NotTar(String),
    #[error("unsupported compression ({0}): use a plain or gzip-compressed tar")]
    Compression(&'static str),
    #[error(
        "archive entry {path:?} claims {size} bytes, over the limit of {limit} bytes for the whole archive"
    )]
    TooBig { path: String, size: u64, limit: u64 },
    #[error("archive has more than {0} entries")]
    TooManyEntries(usize),
    #[error("archive entry {path:?}: {reason}")]
    BadEntry { path: String, reason: String },
    #[error(transparent)]
    Layer(#[from] LayerError),
}

/// `Some(kind)` when `bytes` start like a compressed stream other than gzip.
pub(super) fn other_compression(head: &[u8]) -> Option<&'static str> {
    match head {
        [b'B', b'Z', b'h', ..] => Some("bzip2"),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Some("xz"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd"),
        _ => None,
    }
}

/// An entry's name as written and normalized; a name that is not UTF-8 or has `..` is refused.
pub(super) fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> Result<(String, String), ExtractError> {
    let raw = String::from_utf8(entry.path_bytes().into_owned()).map_err(|_| ExtractError::BadEntry {
        path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
        reason: "name is not UTF-8".into(),
    })?;
    let path = normalize(&raw).map_err(|e| ExtractError::BadEntry {
        path: raw.clone(),
        reason: e.to_string(),
    })?;
    Ok((raw, path))
}

impl FileTree {
    /// Unpacks a tar or tar.gz (detected by its magic bytes) below `dest`; later entries replace earlier ones.
    pub fn extract_tar(
        &mut self,
        archive: &[u8],
        dest: &str,
        limits: &ExtractLimits,
    ) -> Result<Extracted, ExtractError> {
        if let Some(kind) = other_compression(archive) {
            return Err(ExtractError::Compression(kind));
        }
        let reader: Box<dyn Read + '_> = if archive.starts_with(&[0x1f, 0x8b]) {
            Box::new(GzDecoder::new(archive))
        } else {
            Box::new(archive)
        };
        let dest = normalize(dest)?;
        let mut out = Extracted::default();
        let mut tar = tar::Archive::new(reader);
        let entries = tar.entries().map_err(|e| ExtractError::NotTar(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| ExtractError::NotTar(e.to_string()))?;
            out.entries += 1;
            if out.entries > limits.max_entries {
                return Err(ExtractError::TooManyEntries(limits.max_entries));
            }
            let (raw, rel) = entry_path(&entry)?;
            let bad = |reason: String| ExtractError::BadEntry {
                path: raw.clone(),
                reason,
            };
            let path = match (dest.is_empty(), rel.is_empty()) {
                (_, true) => continue, // "./": the destination itself
                (true, false) => rel,
                (false, false) => format!("{dest}/{rel}"),
            };
            let header = entry.header();
            let field = |r: io::Result<u64>| r.map_err(|e| bad(e.to_string()));
            let meta = Meta {
                mode: header.mode().map_err(|e| bad(e.to_string()))? & 0o7777,
                uid: u32::try_from(field(header.uid())?).map_err(|_| bad("uid out of range".into()))?,
                gid: u32::try_from(field(header.gid())?).map_err(|_| bad("gid out of range".into()))?,
                mtime: Some(field(header.mtime())?),
            };
            let link = entry
                .link_name_bytes()
                .map(|l| {
                    String::from_utf8(l.into_owned()).map_err(|_| bad("link target is not UTF-8".into()))
                })
                .transpose()?;
            match header.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let size = entry.size();
                    if size > limits.max_bytes - out.bytes {
                        return Err(ExtractError::TooBig {
                            path: raw,
                            size,
                            limit: limits.max_bytes,
                        });
                    }
                    // The header's size is a claim: reserve no more than the input could hold (a 1 GiB claim
                    // in a small archive must not grow the page's memory), then read only what is there.
                    let mut data = Vec::with_capacity(size.min(archive.len() as u64) as usize);
                    entry.read_to_end(&mut data).map_err(|e| bad(e.to_string()))?;
                    if data.len() as u64 != size {
                        return Err(bad(format!(
                            "truncated: the header claims {size} bytes, the archive holds {}",
                            data.len()
                        )));
                    }
                    out.bytes += size;
                    self.insert_file(&path, data, meta)?;
                }
                tar::EntryType::Directory => self.insert_dir(&path, meta)?,
                tar::EntryType::Symlink => {
                    let target = link.ok_or_else(|| bad("symlink without a target".into()))?;
                    self.insert_symlink(&path, &target, meta)?;
                }
                tar::EntryType::Link => {
                    let target = link.ok_or_else(|| bad("hard link without a target".into()))?;
                    let target = normalize(&target).map_err(|e| bad(e.to_string()))?;
                    let target = if dest.is_empty() {
                        target
                    } else {
                        format!("{dest}/{target}")
                    };
                    self.insert_hardlink(&path, &target)
                        .map_err(|e| bad(e.to_string()))?;
                }
                tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => out.skipped.push(path),
                other => return Err(bad(format!("unsupported entry type {other:?}"))),
            }
        }
        Ok(out)
    }
}

/// A plain tar with one regular file whose header claims `claimed` bytes, followed by `data` (hostile-input tests).
#[cfg(test)]
pub(crate) fn tar_claiming(name: &str, claimed: u64, data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_path(name).unwrap();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_size(claimed);
    header.set_cksum();
    [header.as_bytes().as_slice(), data].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Node;

    #[test]
    fn an_entry_claiming_more_than_the_archive_holds_is_a_clear_error() {
        let lying = tar_claiming("big.bin", 1 << 30, b"0123456789");
        let err = FileTree::new()
            .extract_tar(&lying, "/", &ExtractLimits::default())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "archive entry \"big.bin\": truncated: the header claims 1073741824 bytes, the archive holds 10"
        );
    }

    #[test]
    fn an_honest_archive_still_extracts() {
        let mut honest = tar_claiming("hello.txt", 10, b"0123456789");
        honest.resize(honest.len() + 512 - 10 + 1024, 0); // pad the data block, then the end-of-archive blocks
        let mut tree = FileTree::new();
        let done = tree
            .extract_tar(&honest, "/app", &ExtractLimits::default())
            .unwrap();
        assert_eq!((done.entries, done.bytes), (1, 10));
        match tree.get("app/hello.txt") {
            Some(Node::File { data, .. }) => assert_eq!(&data[..], b"0123456789"),
            other => panic!("app/hello.txt is {other:?}"),
        }
    }
}
