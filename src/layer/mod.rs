//! Layers: deterministic tar from a file tree or a stream of entries, gzip, and diff_id + digest in one pass.
//!
//! Same input, same bytes: entries are written in path order with fixed times, numeric owners and no host
//! metadata, so a layer built in the browser has the digest of the one built natively.

pub mod changes;
pub mod copy;
mod hash;
pub mod path;
mod tar;
mod tree;
mod untar;

pub use hash::{sha256, HashWriter, LayerInfo, LayerOptions, LayerWriter, TarCompressor};
pub use tar::{HeaderKind, Meta, TarWriter};
pub use tree::{FileTree, Node};
pub use untar::{ExtractError, ExtractLimits, Extracted};

/// Errors from building a layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },
    #[error("{0:?} is not a directory")]
    NotADirectory(String),
    #[error("hard link target {0:?} is not a regular file in this layer")]
    BadHardLink(String),
    #[error("link {0:?} has an empty target")]
    EmptyLinkTarget(String),
    #[error("{path:?}: expected {expected} bytes, read {actual}")]
    SizeMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error("the archive is already finished")]
    Finished,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
