//! The build cache: a key per step (the parent step's key, the instruction after expansion, and content
//! checksums of what it reads), a store behind a small async trait (memory, a directory natively, IndexedDB
//! later in the browser), and the record that lets a miss say why.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::layer::{FileTree, Node};

/// Where cache entries live. Async so an IndexedDB store fits; not `Send` (the browser has one thread).
#[allow(async_fn_in_trait)]
pub trait CacheStore {
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    async fn put(&self, key: &str, value: &[u8]);
}

/// A store in memory (tests, and the browser until IndexedDB is wired).
#[derive(Debug, Default)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryCache {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl CacheStore for MemoryCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    async fn put(&self, key: &str, value: &[u8]) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key.to_owned(), value.to_vec());
        }
    }
}

/// A store in a directory: one file per key, written atomically (native builds: `slipway build`).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone)]
pub struct DirCache {
    root: std::path::PathBuf,
}

#[cfg(not(target_arch = "wasm32"))]
impl DirCache {
    pub fn new(root: impl Into<std::path::PathBuf>) -> Self {
        DirCache { root: root.into() }
    }

    fn path(&self, key: &str) -> std::path::PathBuf {
        // Keys are `kind/hex` or `blob/sha256:hex`: keep them as two levels, with a file-name-safe colon.
        self.root.join(key.replace(':', "-"))
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl CacheStore for DirCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.path(key)).ok()
    }

    async fn put(&self, key: &str, value: &[u8]) {
        let path = self.path(key);
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        // A cache that cannot be written only makes the next build slower: errors are not the build's.
        if std::fs::write(&tmp, value).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// What a step produced, as remembered under its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedStep {
    /// The layer the step made; `None` for steps without one.
    pub layer: Option<CachedLayer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedLayer {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    pub diff_id: String,
    /// The registry repository holding the blob when the cache does not (RUN layers).
    pub repository: Option<String>,
}

/// What a step read, remembered under its place (parent key + instruction) to explain the next miss.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceRecord {
    /// Path (as the step names it) → checksum.
    pub files: BTreeMap<String, String>,
    /// The server a RUN step's layer was made on, so a step missed against another server can say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

impl PlaceRecord {
    /// Paths added, removed or changed since `earlier`, sorted.
    pub fn changed_since(&self, earlier: &PlaceRecord) -> Vec<String> {
        let mut changed: Vec<String> = self
            .files
            .iter()
            .filter(|(p, sum)| earlier.files.get(*p) != Some(sum))
            .map(|(p, _)| p.clone())
            .collect();
        changed.extend(
            earlier
                .files
                .keys()
                .filter(|p| !self.files.contains_key(*p))
                .cloned(),
        );
        changed.sort();
        changed
    }
}

/// Cache keys: `step/<hex>` (results), `place/<hex>` (what a step read), `blob/<digest>` (layer blobs),
/// `base/<hex>` (the digest a base name resolved to).
pub fn hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    format!("{:x}", h.finalize())
}

/// sha256 of file contents, remembered per buffer: the page keeps a file's `Arc` while it is unchanged, so a
/// rebuild hashes only what changed. The memo holds the buffers it names (an address is never reused while
/// remembered) and forgets everything past a bound.
fn content_hash(data: &std::sync::Arc<[u8]>) -> String {
    use std::cell::RefCell;
    use std::collections::HashMap;
    const MAX_BYTES: usize = 256 << 20;
    type Memo = (HashMap<usize, (std::sync::Arc<[u8]>, String)>, usize);
    thread_local! {
        static MEMO: RefCell<Memo> = RefCell::new((HashMap::new(), 0));
    }
    let key = data.as_ptr() as usize;
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some((kept, sum)) = memo.0.get(&key) {
            if kept.len() == data.len() {
                return sum.clone();
            }
        }
        let sum = format!("{:x}", Sha256::digest(data));
        if memo.1 + data.len() > MAX_BYTES {
            *memo = (HashMap::new(), 0);
        }
        memo.1 += data.len();
        memo.0.insert(key, (data.clone(), sum.clone()));
        sum
    })
}

/// The checksum of one entry: its kind, owner, mode and content (or link target).
pub fn node_checksum(node: &Node, tree: &FileTree) -> String {
    let mut h = Sha256::new();
    match node {
        Node::File { data, meta } => {
            h.update(format!("f {:o} {} {}\n", meta.mode, meta.uid, meta.gid));
            h.update(content_hash(data));
        }
        Node::Dir { meta } => h.update(format!("d {:o} {} {}\n", meta.mode, meta.uid, meta.gid)),
        Node::Symlink { target, meta } => {
            h.update(format!("l {:o} {} {} {target}\n", meta.mode, meta.uid, meta.gid))
        }
        Node::HardLink { target } => match tree.get(target) {
            Some(inner @ Node::File { .. }) => return node_checksum(inner, tree),
            _ => h.update(format!("h {target}\n")),
        },
    }
    format!("{:x}", h.finalize())
}

/// Checksums of every context entry at or below `paths` (what a COPY of those sources reads).
pub fn checksums_below(tree: &FileTree, paths: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (path, node) in tree.iter() {
        let read = paths.iter().any(|p| {
            p.is_empty()
                || path == p
                || (path.len() > p.len() && path.starts_with(p.as_str()) && path.as_bytes()[p.len()] == b'/')
        });
        if read {
            out.insert(path.to_owned(), node_checksum(node, tree));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Meta;

    #[test]
    fn changed_files_are_named() {
        let mut a = PlaceRecord::default();
        a.files.insert("app.py".into(), "1".into());
        a.files.insert("gone.txt".into(), "1".into());
        let mut b = PlaceRecord::default();
        b.files.insert("app.py".into(), "2".into());
        b.files.insert("new.txt".into(), "1".into());
        assert_eq!(b.changed_since(&a), ["app.py", "gone.txt", "new.txt"]);
    }

    #[test]
    fn checksums_cover_paths_below() {
        let mut t = FileTree::new();
        t.insert_file("src/a.py", b"a".to_vec(), Meta::file()).unwrap();
        t.insert_file("srcx", b"b".to_vec(), Meta::file()).unwrap();
        let sums = checksums_below(&t, &["src".into()]);
        assert_eq!(sums.keys().collect::<Vec<_>>(), ["src", "src/a.py"]);
        assert_ne!(hex(&["a", "bc"]), hex(&["ab", "c"]));
    }

    #[test]
    fn memory_store_round_trips() {
        let cache = MemoryCache::new();
        let run = async {
            cache.put("step/x", b"1").await;
            cache.get("step/x").await
        };
        assert_eq!(futures_lite_block_on(run), Some(b"1".to_vec()));
    }

    /// Polls a future that never waits (the memory store's) to completion.
    pub(crate) fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        super::super::block_on(f)
    }
}
