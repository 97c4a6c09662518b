//! Content-addressed blob storage on disk: streamed, digest-verified, atomically committed blobs shared by all
//! repositories, and upload sessions that survive a restart.
//!
//! Layout under the storage root:
//! - `blobs/<alg>/<2 hex>/<hex>`: blob bytes, only ever created by `rename` of a fully written, fsynced file;
//! - `uploads/<uuid>/{repo,data}`: an upload session (created whole by renaming a prepared directory);
//! - `tmp/`: files being written; anything found there at start is the leftover of a crash and is removed;
//! - `repos/<name>/_repo/...`: per-repository links, tags and manifests (see `repository.rs`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use oci_spec::image::Digest;
use tokio::io::AsyncWriteExt;

use super::digest::{Algorithm, Hasher};
use super::error::RegistryError;
use super::names::RepoName;
use super::quota::{DiskBudget, NamespaceLocks};

/// What one upload stream may still write: its namespace's quota (the count taken when the stream began,
/// under the namespace's lock, which the allowance holds) and the server's disk budget.
pub struct Allowance {
    namespace: Option<(String, u64, u64, tokio::sync::OwnedMutexGuard<()>)>,
    disk: Arc<DiskBudget>,
    /// Bytes this stream has taken from both.
    taken: u64,
}

impl Allowance {
    /// Take `bytes` before writing them, or refuse with the quota or budget they would pass.
    async fn take(&mut self, bytes: u64) -> Result<(), RegistryError> {
        if let Some((namespace, used, quota, _)) = &self.namespace {
            let needed = used + self.taken + bytes;
            if needed > *quota {
                return Err(RegistryError::QuotaExceeded {
                    namespace: super::usage::quota_owner(namespace),
                    needed,
                    quota: *quota,
                });
            }
        }
        self.disk.reserve_async(bytes).await?;
        self.taken += bytes;
        Ok(())
    }

    /// The bytes taken were removed again (a refused or failed stream).
    fn give_back(&mut self) {
        self.disk.release(std::mem::take(&mut self.taken));
    }
}

/// Size limits and quotas; `None` means unlimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_blob_size: Option<u64>,
    pub max_manifest_size: u64,
    /// Bytes each namespace outside `slipway-local/` (`learner1` in `learner1/app`) may store.
    pub namespace_quota: Option<u64>,
    /// Bytes each session's local store (`slipway-local/KEY/`) may store, uploads in progress included.
    pub session_quota: Option<u64>,
    /// The server-wide budget ([`super::quota::DiskBudget`]): bytes under the data directories, and bytes the
    /// filesystem must keep free.
    pub disk_quota: Option<u64>,
    pub min_free_disk: u64,
}

/// `--session-quota`'s default: 2 GiB per session.
pub const DEFAULT_SESSION_QUOTA: u64 = 2 << 30;
/// `--min-free-disk`'s default: 1 GiB.
pub const DEFAULT_MIN_FREE_DISK: u64 = 1 << 30;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_blob_size: None,
            max_manifest_size: 4 * 1024 * 1024,
            namespace_quota: None,
            session_quota: Some(DEFAULT_SESSION_QUOTA),
            disk_quota: None,
            min_free_disk: DEFAULT_MIN_FREE_DISK,
        }
    }
}

/// The running hash of an upload session, valid while `hashed` equals the session's size on disk.
struct SessionHash {
    hashed: u64,
    hasher: Option<Hasher>,
}

/// The registry's storage: one per data directory.
pub struct Store {
    root: PathBuf,
    pub limits: Limits,
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<SessionHash>>>>,
    /// The server-wide disk budget, shared with the runner (unpacked layers).
    pub disk: Arc<DiskBudget>,
    namespace_locks: NamespaceLocks,
    /// Held (shared) from a blob's existence check to its link, and (exclusive) by the running server's sweep of
    /// unlinked blobs (`gc::collect_unlinked`): the sweep never moves a blob out between another request seeing
    /// it and linking it.
    blob_links: std::sync::RwLock<()>,
    /// While a sweep marks the linked blobs: every digest linked meanwhile, which its mark may have missed.
    links_during_sweep: Mutex<Option<std::collections::HashSet<String>>>,
    /// `(namespace_quota, session_quota)` in force: `limits`' at start, a classroom reload's (SIGHUP) after
    /// ([`Store::set_quotas`]).
    quotas: std::sync::RwLock<(Option<u64>, Option<u64>)>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

impl Store {
    /// Open (creating if needed) the storage under `root`. Tools (`gc`, `import`) open it beside a running
    /// server, so this leaves `tmp/` alone; the server calls [`Store::clear_temp`] at start.
    pub fn open(root: &Path, limits: Limits) -> std::io::Result<Self> {
        for dir in ["blobs", "uploads", "repos", "tmp"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        Ok(Store {
            root: root.to_path_buf(),
            disk: Arc::new(DiskBudget::new(limits.disk_quota, limits.min_free_disk, root)),
            quotas: std::sync::RwLock::new((limits.namespace_quota, limits.session_quota)),
            limits,
            sessions: Mutex::new(HashMap::new()),
            namespace_locks: NamespaceLocks::default(),
            blob_links: std::sync::RwLock::new(()),
            links_during_sweep: Mutex::new(None),
        })
    }

    /// Remember that `digest` was just linked, if a sweep is marking (see `links_during_sweep`).
    pub(crate) fn note_link(&self, digest: &Digest) {
        let mut noted = self.links_during_sweep.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(noted) = noted.as_mut() {
            noted.insert(digest.to_string());
        }
    }

    /// A sweep starts marking: links from now on are noted.
    pub(crate) fn note_links_from_now(&self) {
        *self.links_during_sweep.lock().unwrap_or_else(|e| e.into_inner()) = Some(Default::default());
    }

    /// The digests linked since [`Store::note_links_from_now`]; noting stops.
    pub(crate) fn links_noted(&self) -> std::collections::HashSet<String> {
        self.links_during_sweep
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }

    /// Hold this from checking that a blob exists until it is linked (see `blob_links`). Blocking.
    pub fn linking(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.blob_links.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Held by the sweep of unlinked blobs: no link is being made meanwhile. Blocking.
    pub(crate) fn sweeping(&self) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.blob_links.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Remove what a crash left half-written in `tmp/` (only safe while nothing else writes there).
    pub fn clear_temp(&self) -> std::io::Result<()> {
        let tmp = self.root.join("tmp");
        std::fs::remove_dir_all(&tmp)?;
        std::fs::create_dir_all(&tmp)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        super::usage::blob_path_in(&self.root, digest)
    }

    /// The size of a committed blob, or `None` when the store does not hold it.
    pub fn blob_size(&self, digest: &Digest) -> Option<u64> {
        super::usage::blob_size_in(&self.root, digest)
    }

    fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(uuid::Uuid::new_v4().to_string())
    }

    /// Write a small file atomically: temp file, fsync, rename into place, fsync the directory.
    pub fn write_atomic(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let temp = self.temp_path();
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        self.commit_file(&temp, path)
    }

    /// Move a fully written, fsynced file into place and make the rename durable.
    fn commit_file(&self, temp: &Path, path: &Path) -> std::io::Result<()> {
        let parent = path.parent().expect("storage paths have parents");
        std::fs::create_dir_all(parent)?;
        std::fs::rename(temp, path)?;
        sync_dir(parent)
    }

    /// Store bytes already in memory (a manifest) as a blob under their digest.
    pub fn put_small_blob(&self, digest: &Digest, bytes: &[u8]) -> std::io::Result<()> {
        if self.blob_size(digest).is_some() {
            return Ok(());
        }
        self.write_atomic(&self.blob_path(digest), bytes)
    }

    /// Stream a whole blob (a monolithic upload) into the store, verifying `expected` as it arrives.
    pub async fn put_blob<S, E>(
        &self,
        repo: &RepoName,
        expected: &Digest,
        body: S,
    ) -> Result<u64, RegistryError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let mut allowance = self.allowance(repo, Some(expected)).await?;
        let temp = self.temp_path();
        let mut file = tokio::fs::File::create(&temp).await?;
        let mut hasher = Some(Hasher::new(Algorithm::of(expected)?));
        let limit = self.limits.max_blob_size;
        let written = write_stream(&mut file, body, &mut hasher, 0, limit, &mut allowance).await;
        let result = match written {
            Ok(size) => {
                let actual = hasher.take().expect("hasher kept").finish();
                self.check_digest(expected, &actual).map(|()| size)
            }
            Err(e) => Err(e),
        };
        let size = match result {
            Ok(size) => size,
            Err(e) => {
                drop(file);
                let _ = tokio::fs::remove_file(&temp).await;
                allowance.give_back();
                return Err(e);
            }
        };
        file.sync_all().await?;
        drop(file);
        let kept = self.commit_blob(repo, expected, &temp, size);
        if !matches!(kept, Ok(true)) {
            allowance.give_back();
        }
        kept.map(|_| size)
    }

    /// The quota of `repo`'s namespace: `--namespace-quota`, and for a session's local store (a namespace of
    /// its own, `slipway-local/KEY`) `--session-quota` too, the smaller one holding.
    pub fn quota_for(&self, repo: &RepoName) -> Option<u64> {
        let (namespace_quota, session_quota) = self.quotas();
        let session = super::local::owner(repo.as_str()).and(session_quota);
        match (namespace_quota, session) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// `(namespace_quota, session_quota)` now.
    pub fn quotas(&self) -> (Option<u64>, Option<u64>) {
        *self.quotas.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replace the namespace and session quotas (a classroom reload): uploads from now on count against them;
    /// bytes stored already stay (a lower quota refuses the next upload, it deletes nothing).
    pub fn set_quotas(&self, namespace_quota: Option<u64>, session_quota: Option<u64>) {
        *self.quotas.write().unwrap_or_else(|e| e.into_inner()) = (namespace_quota, session_quota);
    }

    /// What a stream into `repo` may write (see [`Allowance`]); waits for the namespace's other streams. A
    /// blob the namespace already holds (`digest`, when the request names it) costs its quota nothing.
    pub async fn allowance(
        &self,
        repo: &RepoName,
        digest: Option<&Digest>,
    ) -> Result<Allowance, RegistryError> {
        let namespace = match self.quota_for(repo) {
            None => None,
            Some(quota) => {
                let name = repo.namespace().to_string();
                let guard = self.namespace_locks.lock(&name).await;
                let (root, counted) = (self.root.clone(), name.clone());
                let (used, held) =
                    tokio::task::spawn_blocking(move || super::usage::bytes_in_use(&root, &counted))
                        .await
                        .map_err(|e| std::io::Error::other(e.to_string()))??;
                let free = digest.is_some_and(|d| held.contains(&d.to_string()));
                (!free).then_some((name, used, quota, guard))
            }
        };
        Ok(Allowance {
            namespace,
            disk: self.disk.clone(),
            taken: 0,
        })
    }

    fn check_digest(&self, expected: &Digest, actual: &Digest) -> Result<(), RegistryError> {
        if expected == actual {
            Ok(())
        } else {
            Err(RegistryError::DigestInvalid(format!(
                "the content's digest is {actual}, not {expected}"
            )))
        }
    }

    /// Rename a verified, fsynced temp file to its blob path (or drop it if the blob exists), then link it.
    /// True when the file became the blob; otherwise (and on error) the file is gone.
    fn commit_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        temp: &Path,
        size: u64,
    ) -> Result<bool, RegistryError> {
        if let Err(e) = self.check_quota(repo, digest, size) {
            let _ = std::fs::remove_file(temp);
            return Err(e);
        }
        let _linking = self.linking();
        let kept = self.blob_size(digest).is_none();
        if kept {
            self.commit_file(temp, &self.blob_path(digest))?;
        } else {
            std::fs::remove_file(temp)?;
        }
        self.link_blob(repo, digest)?;
        Ok(kept)
    }

    /// Copy a file into the store as a blob of `repo` (imports), hashing it on the way; returns its digest and
    /// size. With `expected`, a different digest is refused.
    pub fn put_blob_file(
        &self,
        repo: &RepoName,
        source: &Path,
        expected: Option<&Digest>,
    ) -> Result<(Digest, u64), RegistryError> {
        let algorithm = match expected {
            Some(digest) => Algorithm::of(digest)?,
            None => Algorithm::Sha256,
        };
        let temp = self.temp_path();
        let mut input = std::fs::File::open(source)?;
        let reserved = input.metadata()?.len();
        self.disk.reserve(reserved)?;
        let release = |e: RegistryError| {
            self.disk.release(reserved);
            e
        };
        let copied = self
            .copy_hashing(&mut input, &temp, algorithm)
            .map_err(|e| release(e.into()));
        let (digest, size) = copied?;
        if let Some(expected) = expected {
            if let Err(e) = self.check_digest(expected, &digest) {
                let _ = std::fs::remove_file(&temp);
                return Err(release(e));
            }
        }
        match self.commit_blob(repo, &digest, &temp, size) {
            Ok(true) => Ok((digest, size)),
            Ok(false) => {
                self.disk.release(reserved);
                Ok((digest, size))
            }
            Err(e) => Err(release(e)),
        }
    }

    /// Copy `input` to a new file at `temp`, fsynced, hashing it: its digest and size.
    fn copy_hashing(
        &self,
        input: &mut std::fs::File,
        temp: &Path,
        algorithm: Algorithm,
    ) -> std::io::Result<(Digest, u64)> {
        let mut output = std::fs::File::create(temp)?;
        let mut hasher = Hasher::new(algorithm);
        let mut buffer = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = input.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            output.write_all(&buffer[..n])?;
            size += n as u64;
        }
        output.sync_all()?;
        Ok((hasher.finish(), size))
    }

    fn upload_dir(&self, id: &str) -> Result<PathBuf, RegistryError> {
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| RegistryError::UploadUnknown(format!("{id:?} is not an upload id")))?;
        Ok(self.root.join("uploads").join(id.to_string()))
    }

    /// Begin an upload session for `repo`; the session directory appears whole or not at all.
    pub fn start_upload(&self, repo: &RepoName) -> std::io::Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let temp = self.temp_path();
        std::fs::create_dir(&temp)?;
        let mut name = std::fs::File::create(temp.join("repo"))?;
        name.write_all(repo.as_str().as_bytes())?;
        name.sync_all()?;
        std::fs::File::create(temp.join("data"))?.sync_all()?;
        sync_dir(&temp)?;
        let target = self.root.join("uploads").join(&id);
        std::fs::rename(&temp, &target)?;
        sync_dir(&self.root.join("uploads"))?;
        self.session(&id);
        Ok(id)
    }

    fn session(&self, id: &str) -> Arc<tokio::sync::Mutex<SessionHash>> {
        let mut sessions = self.sessions.lock().expect("session map lock");
        sessions
            .entry(id.to_string())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(SessionHash {
                    hashed: 0,
                    hasher: Some(Hasher::new(Algorithm::Sha256)),
                }))
            })
            .clone()
    }

    /// The session's data file, after checking that the session exists and belongs to `repo`.
    fn upload_data(&self, repo: &RepoName, id: &str) -> Result<PathBuf, RegistryError> {
        let dir = self.upload_dir(id)?;
        let owner = std::fs::read_to_string(dir.join("repo"))
            .map_err(|_| RegistryError::UploadUnknown(id.to_string()))?;
        let data = dir.join("data");
        if owner != repo.as_str() || !data.is_file() {
            return Err(RegistryError::UploadUnknown(id.to_string()));
        }
        Ok(data)
    }

    /// Bytes received so far by an upload session.
    pub fn upload_size(&self, repo: &RepoName, id: &str) -> Result<u64, RegistryError> {
        let data = self.upload_data(repo, id)?;
        Ok(std::fs::metadata(data)?.len())
    }

    /// Append a chunk; `start`, from `Content-Range`, must equal the bytes received so far. On a failed or short
    /// chunk the session is truncated back, so its size always counts whole chunks.
    pub async fn append_upload<S, E>(
        &self,
        repo: &RepoName,
        id: &str,
        start: Option<u64>,
        expected_len: Option<u64>,
        body: S,
    ) -> Result<u64, RegistryError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let data = self.upload_data(repo, id)?;
        let mut allowance = self.allowance(repo, None).await?;
        let session = self.session(id);
        let mut state = session.lock().await;
        // The collector may have removed the session while this request waited for its lock.
        self.upload_data(repo, id)?;
        let chunk = Chunk {
            start,
            expected_len,
            body,
        };
        self.append_locked(&data, &mut state, chunk, &mut allowance).await
    }

    async fn append_locked<S, E>(
        &self,
        data: &Path,
        state: &mut SessionHash,
        chunk: Chunk<S>,
        allowance: &mut Allowance,
    ) -> Result<u64, RegistryError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let Chunk {
            start,
            expected_len,
            body,
        } = chunk;
        let mut file = tokio::fs::OpenOptions::new().write(true).open(data).await?;
        let current = file.metadata().await?.len();
        if let Some(start) = start {
            if start != current {
                return Err(RegistryError::RangeInvalid { current, start });
            }
        }
        file.set_len(current).await?;
        use tokio::io::AsyncSeekExt;
        file.seek(std::io::SeekFrom::Start(current)).await?;
        if state.hashed != current {
            state.hasher = None;
        }
        let mut hasher = state.hasher.take();
        let limit = self.limits.max_blob_size;
        let mut written = write_stream(&mut file, body, &mut hasher, current, limit, allowance).await;
        if let (Ok(n), Some(expected)) = (&written, expected_len) {
            if *n != expected {
                written = Err(RegistryError::SizeInvalid(format!(
                    "the chunk declared {expected} bytes but {n} arrived"
                )));
            }
        }
        match written {
            Ok(n) => {
                file.flush().await?;
                state.hashed = current + n;
                state.hasher = hasher;
                Ok(current + n)
            }
            Err(e) => {
                file.set_len(current).await?;
                allowance.give_back();
                state.hasher = None;
                Err(e)
            }
        }
    }

    /// Finish a session: append the last chunk if any, verify the digest, commit the blob, end the session.
    pub async fn finish_upload<S, E>(
        &self,
        repo: &RepoName,
        id: &str,
        expected: &Digest,
        start: Option<u64>,
        body: S,
    ) -> Result<u64, RegistryError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let algorithm = Algorithm::of(expected)?;
        let data = self.upload_data(repo, id)?;
        let mut allowance = self.allowance(repo, None).await?;
        let session = self.session(id);
        let mut state = session.lock().await;
        self.upload_data(repo, id)?;
        let chunk = Chunk {
            start,
            expected_len: None,
            body,
        };
        let size = self
            .append_locked(&data, &mut state, chunk, &mut allowance)
            .await?;
        let cached = state.hasher.take().filter(|h| h.algorithm() == algorithm);
        let actual = match cached {
            Some(hasher) if state.hashed == size => hasher.finish(),
            _ => {
                let path = data.clone();
                tokio::task::spawn_blocking(move || hash_file(&path, algorithm))
                    .await
                    .map_err(|e| std::io::Error::other(e.to_string()))??
            }
        };
        state.hashed = u64::MAX;
        if let Err(e) = self.check_digest(expected, &actual) {
            drop(state);
            self.cancel_upload(repo, id)?;
            return Err(e);
        }
        std::fs::File::open(&data)?.sync_all()?;
        let result = self.commit_blob(repo, expected, &data, size);
        if !matches!(result, Ok(true)) {
            self.disk.release(size);
        }
        drop(state);
        self.remove_session(id)?;
        result.map(|_| size)
    }

    /// Drop an upload session and whatever it received.
    pub fn cancel_upload(&self, repo: &RepoName, id: &str) -> Result<(), RegistryError> {
        let data = self.upload_data(repo, id)?;
        let size = std::fs::metadata(data).map(|m| m.len()).unwrap_or(0);
        self.remove_session(id)?;
        self.disk.release(size);
        Ok(())
    }

    fn remove_session(&self, id: &str) -> Result<(), RegistryError> {
        let dir = self.upload_dir(id)?;
        self.sessions.lock().expect("session map lock").remove(id);
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Upload sessions on disk with the seconds since each was last touched (for garbage collection).
    pub fn upload_sessions(&self) -> std::io::Result<Vec<(String, u64)>> {
        let mut sessions = Vec::new();
        for entry in std::fs::read_dir(self.root.join("uploads"))? {
            let entry = entry?;
            let age = untouched_for(&entry.path())?;
            sessions.push((entry.file_name().to_string_lossy().into_owned(), age));
        }
        Ok(sessions)
    }

    /// Remove upload session `id` when it has been untouched for at least `max_age_secs`; returns the bytes it
    /// held, or `None` when it was kept. A session whose lock a request holds (a chunk or a finish in progress)
    /// is kept: the lock is taken here as the requests take it, and the age is read again under it.
    pub fn remove_stale_upload(&self, id: &str, max_age_secs: u64) -> Result<Option<u64>, RegistryError> {
        let dir = self.upload_dir(id)?;
        let session = self.session(id);
        let Ok(_busy) = session.try_lock() else {
            return Ok(None);
        };
        let age = match untouched_for(&dir) {
            Ok(age) => age,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if age < max_age_secs {
            return Ok(None);
        }
        let size = std::fs::metadata(dir.join("data")).map(|m| m.len()).unwrap_or(0);
        self.remove_session(id)?;
        self.disk.release(size);
        Ok(Some(size))
    }
}

/// Seconds since an upload session's directory or its data was last changed (a chunk changes only the data
/// file's mtime, not the directory's).
fn untouched_for(session_dir: &Path) -> std::io::Result<u64> {
    let mut newest = std::fs::metadata(session_dir)?.modified()?;
    if let Ok(data) = std::fs::metadata(session_dir.join("data")) {
        newest = newest.max(data.modified()?);
    }
    Ok(newest.elapsed().map(|d| d.as_secs()).unwrap_or(0))
}

/// One chunk of an upload session: where it says it starts, how long it says it is, its bytes.
struct Chunk<S> {
    start: Option<u64>,
    expected_len: Option<u64>,
    body: S,
}

/// Write every chunk of `body` to `file`, hashing as it goes; fails past `limit` total bytes, and before
/// writing a piece the allowance refuses.
async fn write_stream<S, E>(
    file: &mut tokio::fs::File,
    mut body: S,
    hasher: &mut Option<Hasher>,
    already: u64,
    limit: Option<u64>,
    allowance: &mut Allowance,
) -> Result<u64, RegistryError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| RegistryError::Body(e.to_string()))?;
        written += chunk.len() as u64;
        if let Some(limit) = limit {
            if already + written > limit {
                return Err(RegistryError::TooLarge {
                    what: "blob",
                    size: already + written,
                    limit,
                });
            }
        }
        allowance.take(chunk.len() as u64).await?;
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(&chunk);
        }
        file.write_all(&chunk).await?;
    }
    Ok(written)
}

/// Hash a file from disk (an upload session resumed after a restart).
pub fn hash_file(path: &Path, algorithm: Algorithm) -> std::io::Result<Digest> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Hasher::new(algorithm);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hasher.finish());
        }
        hasher.update(&buffer[..n]);
    }
}

/// Make renames and creations in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
