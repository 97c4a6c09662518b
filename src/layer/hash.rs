//! One streaming pass: tar bytes are hashed (diff_id), gzipped, hashed again (digest) and counted on the way out.

use std::io::{self, Read, Write};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use oci_spec::image::Digest;
use sha2::{Digest as _, Sha256};

use super::tar::{Meta, TarWriter};
use super::LayerError;

/// A `Write` adapter that hashes and counts every byte on its way to `inner`.
pub struct HashWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashWriter<W> {
    pub fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The inner writer, the `sha256:<hex>` digest of what passed and its length.
    pub fn finish(self) -> (W, Digest, u64) {
        let hex = format!("{:x}", self.hasher.finalize());
        (self.inner, sha256_digest(&hex), self.count)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `sha256:<hex>` from 64 lowercase hex digits (as produced by `Sha256`).
pub(crate) fn sha256_digest(hex: &str) -> Digest {
    Digest::try_from(format!("sha256:{hex}")).expect("sha256 hex output is a valid digest")
}

/// The `sha256:` digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest {
    sha256_digest(&format!("{:x}", Sha256::digest(bytes)))
}

/// What one pass over a layer yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// sha256 of the uncompressed tar: goes into the image config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// sha256 of the gzip blob: the manifest's layer descriptor and the blob's name.
    pub digest: Digest,
    /// Length of the uncompressed tar.
    pub tar_size: u64,
    /// Length of the gzip blob (the descriptor's `size`).
    pub size: u64,
}

/// Settings of a layer pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerOptions {
    /// The time of every entry without its own (`SOURCE_DATE_EPOCH` or 0 by [`LayerOptions::from_env`]).
    pub mtime: u64,
    /// gzip level 0-9; 6 is gzip's and Docker's default.
    pub level: u32,
}

impl Default for LayerOptions {
    fn default() -> Self {
        LayerOptions { mtime: 0, level: 6 }
    }
}

impl LayerOptions {
    /// The defaults with `mtime` from `SOURCE_DATE_EPOCH` when it is set and numeric (never in a browser).
    pub fn from_env() -> Self {
        let mtime = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        LayerOptions {
            mtime,
            ..Self::default()
        }
    }
}

/// What the gzip encoder is fed at a time. A streaming deflate's output can depend on where its input writes
/// split, not only on the bytes (miniz_oxide's did; zlib-rs gives no promise either); cutting the tar into pieces of this size makes the gzip blob depend
/// on the tar bytes and the level alone, whoever writes them and however (the tar writer's header-sized
/// writes natively, a Web Worker's pieces of a transferred buffer in the page).
const GZIP_INPUT_PIECE: usize = 64 << 10;

/// Passes bytes on in pieces of exactly `GZIP_INPUT_PIECE` (the last one shorter, at [`FixedPieces::finish`]).
struct FixedPieces<W: Write> {
    inner: W,
    held: Vec<u8>,
}

impl<W: Write> FixedPieces<W> {
    fn new(inner: W) -> Self {
        FixedPieces {
            inner,
            held: Vec::with_capacity(GZIP_INPUT_PIECE),
        }
    }

    /// Writes what is held and returns the inner writer.
    fn finish(mut self) -> io::Result<W> {
        if !self.held.is_empty() {
            self.inner.write_all(&self.held)?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for FixedPieces<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        if !self.held.is_empty() {
            let take = rest.len().min(GZIP_INPUT_PIECE - self.held.len());
            self.held.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.held.len() < GZIP_INPUT_PIECE {
                return Ok(buf.len());
            }
            self.inner.write_all(&self.held)?;
            self.held.clear();
        }
        // Whole pieces straight from the caller's buffer: no copy for large writes.
        while rest.len() >= GZIP_INPUT_PIECE {
            self.inner.write_all(&rest[..GZIP_INPUT_PIECE])?;
            rest = &rest[GZIP_INPUT_PIECE..];
        }
        self.held.extend_from_slice(rest);
        Ok(buf.len())
    }

    /// Holds on to a partial piece: flushing it early would change the gzip bytes.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

type Pipeline<W> = HashWriter<FixedPieces<GzEncoder<HashWriter<W>>>>;

/// tar bytes in → sha256 (diff_id) → fixed pieces → gzip → sha256 (digest) → `sink`.
fn pipeline<W: Write>(sink: W, level: u32) -> Pipeline<W> {
    // No file name, mtime 0 and the "unknown" OS byte: the gzip header depends on nothing but the level.
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(HashWriter::new(sink), Compression::new(level));
    HashWriter::new(FixedPieces::new(gz))
}

/// Ends a pipeline: the sink and the layer's digests and sizes.
fn finish_pipeline<W: Write>(tar_hash: Pipeline<W>) -> Result<(W, LayerInfo), LayerError> {
    let (pieces, diff_id, tar_size) = tar_hash.finish();
    let gz_hash = pieces.finish()?.finish()?;
    let (sink, digest, size) = gz_hash.finish();
    Ok((
        sink,
        LayerInfo {
            diff_id,
            digest,
            tar_size,
            size,
        },
    ))
}

/// The second half of the layer pass for a tar written elsewhere (a Web Worker gets the page's tar bytes):
/// feed it the tar in pieces, get the gzip blob and the same [`LayerInfo`] a [`LayerWriter`] gives.
pub struct TarCompressor {
    pipeline: Pipeline<Vec<u8>>,
}

impl TarCompressor {
    pub fn new(level: u32) -> Self {
        TarCompressor {
            pipeline: pipeline(Vec::new(), level),
        }
    }

    /// Adds the next piece of the tar.
    pub fn write(&mut self, tar: &[u8]) -> Result<(), LayerError> {
        Ok(self.pipeline.write_all(tar)?)
    }

    /// Tar bytes taken so far.
    pub fn tar_bytes(&self) -> u64 {
        self.pipeline.count()
    }

    /// The gzip blob and the layer's digests and sizes.
    pub fn finish(self) -> Result<(Vec<u8>, LayerInfo), LayerError> {
        finish_pipeline(self.pipeline)
    }
}

/// Writes a gzipped tar layer to `W` and computes diff_id, digest and both sizes while the bytes pass.
pub struct LayerWriter<W: Write> {
    tar: TarWriter<Pipeline<W>>,
}

impl<W: Write> LayerWriter<W> {
    pub fn new(sink: W, options: &LayerOptions) -> Self {
        LayerWriter {
            tar: TarWriter::new(pipeline(sink, options.level), options.mtime),
        }
    }

    pub fn append_dir(&mut self, path: &str, meta: &Meta) -> Result<(), LayerError> {
        self.tar.append_dir(path, meta)
    }

    pub fn append_symlink(&mut self, path: &str, target: &str, meta: &Meta) -> Result<(), LayerError> {
        self.tar.append_symlink(path, target, meta)
    }

    pub fn append_hardlink(&mut self, path: &str, target: &str, meta: &Meta) -> Result<(), LayerError> {
        self.tar.append_hardlink(path, target, meta)
    }

    pub fn append_fifo(&mut self, path: &str, meta: &Meta) -> Result<(), LayerError> {
        self.tar.append_fifo(path, meta)
    }

    pub fn append_file(
        &mut self,
        path: &str,
        meta: &Meta,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(), LayerError> {
        self.tar.append_file(path, meta, size, data)
    }

    pub fn append_bytes(&mut self, path: &str, meta: &Meta, data: &[u8]) -> Result<(), LayerError> {
        self.tar.append_bytes(path, meta, data)
    }

    /// Uncompressed bytes written so far (for progress reports).
    pub fn tar_bytes(&mut self) -> u64 {
        self.tar.get_mut().count()
    }

    /// Ends the archive and the gzip stream; returns the sink and the layer's digests and sizes.
    pub fn finish(self) -> Result<(W, LayerInfo), LayerError> {
        finish_pipeline(self.tar.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_writer_matches_one_shot() {
        let mut w = HashWriter::new(Vec::new());
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        let (out, digest, n) = w.finish();
        assert_eq!(out, b"hello world");
        assert_eq!(n, 11);
        assert_eq!(digest, sha256(b"hello world"));
        assert_eq!(
            sha256(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn empty_layer_is_two_zero_blocks() {
        let (bytes, info) = LayerWriter::new(Vec::new(), &LayerOptions::default())
            .finish()
            .unwrap();
        assert_eq!(info.tar_size, 1024);
        assert_eq!(info.diff_id, sha256(&[0u8; 1024]));
        assert_eq!(info.digest, sha256(&bytes));
        assert_eq!(info.size, bytes.len() as u64);
        // The well-known diff_id of Docker's empty layer.
        assert_eq!(
            info.diff_id.to_string(),
            "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
        );
    }

    #[test]
    fn compressor_in_pieces_matches_the_one_pass_writer() {
        let mut tree = super::super::FileTree::new();
        let text: Vec<u8> = (0..300_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        tree.insert_file("app/data.bin", text, super::super::Meta::file())
            .unwrap();
        tree.insert_file(
            "app/main.py",
            b"print('hi')\n".to_vec(),
            super::super::Meta::file(),
        )
        .unwrap();
        let options = LayerOptions::default();
        let (gz, info) = tree.to_layer(&options).unwrap();
        let tar = tree.to_tar(options.mtime).unwrap();
        let mut compressor = TarCompressor::new(options.level);
        for piece in tar.chunks(7_001) {
            compressor.write(piece).unwrap();
        }
        assert_eq!(compressor.tar_bytes(), tar.len() as u64);
        let (gz_pieces, info_pieces) = compressor.finish().unwrap();
        assert_eq!(info_pieces, info);
        assert_eq!(gz_pieces, gz);
    }
}
