//! Share links: a project's files in the URL fragment (`#share=` + URL-safe base64 of deflated bytes), so a link
//! opens someone's exact project without any server storing it. The fragment never reaches a server.
//!
//! Payload before deflate: the byte `1` (format version), then per entry a kind byte (`f` file, `d` folder), the
//! path (u16 LE length + UTF-8), and for files the mode (u32 LE) and the content (u32 LE length + bytes).

use std::io::{Read, Write};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;

use super::project::{Project, ProjectFile};

/// What starts a share link's fragment.
pub const SHARE_PREFIX: &str = "#share=";
/// The longest encoded payload a link may carry: browsers, chat apps and mail clients cut longer URLs.
pub const MAX_SHARE_ENCODED: usize = 32 * 1024;
/// The most bytes a payload may inflate to (a crafted link must not fill the page's memory).
const MAX_SHARE_DECODED: u64 = 16 << 20;
const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    #[error(
        "this project is too large to share as a link: it encodes to {encoded} bytes, over the limit of \
         {limit} bytes (32 KiB); download it as a zip instead, or share a smaller project"
    )]
    TooLarge { encoded: usize, limit: usize },
    #[error("this share link is damaged: {0}")]
    Damaged(String),
    #[error("this share link was made by a newer Slipway (format {0}); this page reads format 1")]
    UnknownVersion(u8),
}

fn damaged(why: impl ToString) -> ShareError {
    ShareError::Damaged(why.to_string())
}

/// The payload for `project` (without the prefix), or `TooLarge` naming the limit.
pub fn encode(project: &Project) -> Result<String, ShareError> {
    fn entry(raw: &mut Vec<u8>, kind: u8, path: &str) {
        raw.push(kind);
        raw.extend_from_slice(&(path.len() as u16).to_le_bytes());
        raw.extend_from_slice(path.as_bytes());
    }
    let mut raw = vec![VERSION];
    for folder in &project.folders {
        entry(&mut raw, b'd', folder);
    }
    for (path, file) in &project.files {
        entry(&mut raw, b'f', path);
        raw.extend_from_slice(&file.mode.to_le_bytes());
        raw.extend_from_slice(&(file.data.len() as u32).to_le_bytes());
        raw.extend_from_slice(&file.data);
    }
    let mut deflate = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(&raw).expect("deflate into memory");
    let packed = deflate.finish().expect("deflate into memory");
    let encoded = URL_SAFE_NO_PAD.encode(packed);
    if encoded.len() > MAX_SHARE_ENCODED {
        return Err(ShareError::TooLarge {
            encoded: encoded.len(),
            limit: MAX_SHARE_ENCODED,
        });
    }
    Ok(encoded)
}

/// A full link: `page` (its own fragment dropped) + `#share=` + payload.
pub fn link(page: &str, project: &Project) -> Result<String, ShareError> {
    let base = page.split('#').next().unwrap_or(page);
    Ok(format!("{base}{SHARE_PREFIX}{}", encode(project)?))
}

/// The project in a location hash, `None` when the hash is not a share link.
pub fn from_hash(hash: &str) -> Option<Result<Project, ShareError>> {
    hash.strip_prefix(SHARE_PREFIX).map(decode)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ShareError> {
        if self.0.len() < n {
            return Err(damaged("it ends in the middle of a file"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<usize, ShareError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")) as usize)
    }

    fn u32(&mut self) -> Result<u32, ShareError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
}

/// The project in a payload (without the prefix).
pub fn decode(payload: &str) -> Result<Project, ShareError> {
    if payload.len() > MAX_SHARE_ENCODED {
        return Err(ShareError::TooLarge {
            encoded: payload.len(),
            limit: MAX_SHARE_ENCODED,
        });
    }
    let packed = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| damaged(format!("not URL-safe base64 ({e})")))?;
    let mut raw = Vec::new();
    DeflateDecoder::new(&packed[..])
        .take(MAX_SHARE_DECODED + 1)
        .read_to_end(&mut raw)
        .map_err(|e| damaged(format!("does not inflate ({e})")))?;
    if raw.len() as u64 > MAX_SHARE_DECODED {
        return Err(damaged(format!(
            "it inflates to more than {MAX_SHARE_DECODED} bytes"
        )));
    }
    let mut r = Reader(&raw);
    let version = r.take(1).map_err(|_| damaged("it is empty"))?[0];
    if version != VERSION {
        return Err(ShareError::UnknownVersion(version));
    }
    let mut project = Project::default();
    while !r.0.is_empty() {
        let kind = r.take(1)?[0];
        let len = r.u16()?;
        let path = std::str::from_utf8(r.take(len)?).map_err(|_| damaged("a path is not UTF-8"))?;
        match kind {
            b'd' => {
                project.create_folder(path).map_err(damaged)?;
            }
            b'f' => {
                let mode = r.u32()? & 0o7777;
                let len = r.u32()? as usize;
                let data = r.take(len)?.to_vec();
                project.put(path, ProjectFile { data, mode }).map_err(damaged)?;
            }
            other => return Err(damaged(format!("unknown entry kind {other}"))),
        }
    }
    project.open_default();
    Ok(project)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Project {
        let mut p = Project::from_files([
            (
                "Dockerfile",
                ProjectFile::new("FROM python:3.11-slim\nCOPY . .\n"),
            ),
            ("app.py", ProjectFile::new("print('héllo')\n")),
            (
                "bin/run",
                ProjectFile {
                    data: vec![0, 159, 255],
                    mode: 0o755,
                },
            ),
        ])
        .unwrap();
        p.create_folder("static").unwrap();
        p
    }

    #[test]
    fn round_trip_through_a_link() {
        let p = sample();
        let url = link("http://127.0.0.1:8080/?lesson=x#old", &p).unwrap();
        assert!(url.starts_with("http://127.0.0.1:8080/?lesson=x#share="), "{url}");
        let hash = &url[url.find('#').unwrap()..];
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"#=-_".contains(&b)),
            "{hash}"
        );
        let back = from_hash(hash).unwrap().unwrap();
        assert_eq!(back.files, p.files);
        assert_eq!(back.folders, p.folders);
        assert_eq!(back.active.as_deref(), Some("Dockerfile"));
        assert!(from_hash("#section-2").is_none());
    }

    #[test]
    fn too_large_projects_say_the_limit() {
        // Incompressible content: a simple xorshift stream.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..40_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut p = sample();
        p.put("big.bin", ProjectFile::new(noise)).unwrap();
        let err = encode(&p).unwrap_err();
        assert!(matches!(
            err,
            ShareError::TooLarge {
                limit: MAX_SHARE_ENCODED,
                ..
            }
        ));
        assert!(
            err.to_string().contains("over the limit of 32768 bytes (32 KiB)"),
            "{err}"
        );
        let long = "A".repeat(MAX_SHARE_ENCODED + 1);
        assert!(matches!(decode(&long), Err(ShareError::TooLarge { .. })));
    }

    #[test]
    fn damaged_links_are_explained() {
        let good = encode(&sample()).unwrap();
        for bad in ["!!!", "AAAA", &good[..good.len() / 2]] {
            let err = decode(bad).unwrap_err();
            assert!(
                err.to_string().starts_with("this share link is damaged"),
                "{bad}: {err}"
            );
        }
        let mut deflate = DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        deflate.write_all(&[9]).unwrap();
        let future = URL_SAFE_NO_PAD.encode(deflate.finish().unwrap());
        assert_eq!(decode(&future), Err(ShareError::UnknownVersion(9)));
        let mut deflate = DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        deflate.write_all(&[1, b'f', 5, 0]).unwrap();
        deflate.write_all(b"../x\0").unwrap();
        let evil = URL_SAFE_NO_PAD.encode(deflate.finish().unwrap());
        assert!(matches!(decode(&evil), Err(ShareError::Damaged(_))));
    }
}
