//! Safe unpacking of OCI layer tarballs into overlayfs-format directories, once per digest.
//!
//! A layer from a stranger is hostile until proven otherwise: entries with `..` or absolute paths, writes through a
//! symlink, hard links that point outside the layer, device nodes and decompression bombs are all refused. OCI
//! whiteouts become overlayfs whiteouts (`.wh.NAME` → char device 0:0, `.wh..wh..opq` → `trusted.overlay.opaque=y`),
//! so unpacked layers stack directly as overlay lower dirs.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::{lchown, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::fs::{FileType, Mode, CWD};
use sha2::{Digest as _, Sha256};

/// Why a layer was not unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("layer entry {0:?} escapes the layer root (absolute path or `..`)")]
    PathTraversal(String),
    #[error("layer entry {path:?} is a symlink to {target:?}, which escapes the layer root")]
    EscapingSymlink { path: String, target: String },
    #[error(
        "layer entry {path:?} is a hard link to {target:?}, which is not a regular file inside this layer"
    )]
    BadHardLink { path: String, target: String },
    #[error("layer entry {0:?} would be written through a symlink or a non-directory")]
    ThroughSymlink(String),
    #[error("layer entry {0:?} is a device node; device nodes are refused")]
    DeviceNode(String),
    #[error("layer entry {0:?} has an unsupported type")]
    Unsupported(String),
    #[error("layer decompresses to more than {0} bytes")]
    TooLarge(u64),
    #[error("layer has more than {0} entries")]
    TooManyEntries(u64),
    #[error("no room to unpack the layer: {0}")]
    DiskFull(#[from] crate::registry::quota::DiskFull),
    #[error("layer blob digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("I/O error while unpacking {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> UnpackError {
    let context = context.into();
    move |source| UnpackError::Io { context, source }
}

/// Bounds on what one layer may expand to.
#[derive(Debug, Clone, Copy)]
pub struct UnpackLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        UnpackLimits {
            max_bytes: 4 << 30,
            max_entries: 500_000,
        }
    }
}

/// Container ids 0..size are stored as host ids base..base+size (user namespace); ids beyond the range become the
/// overflow id 65534. `IdShift::NONE` keeps ids as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdShift {
    pub base: u32,
    pub size: u32,
}

impl IdShift {
    pub const NONE: IdShift = IdShift {
        base: 0,
        size: u32::MAX,
    };

    pub fn to_host(self, id: u64) -> u32 {
        match u32::try_from(id) {
            Ok(id) if id < self.size => self.base + id,
            _ => self.base + 65534,
        }
    }

    /// Host id back to the container id (for layers captured from an upper dir).
    pub fn to_container(self, host: u32) -> u32 {
        host.checked_sub(self.base)
            .filter(|id| *id < self.size)
            .unwrap_or(65534)
    }
}

/// Asked for each piece of decompressed layer before it is unpacked: the disk budget (see [`Spend`]).
pub type SpendFn<'a> = &'a mut dyn FnMut(u64) -> Result<(), crate::registry::quota::DiskFull>;

/// Reads at most `limit` bytes, then fails: the decompression bound; each piece read is first spent.
struct Bounded<'a, R> {
    inner: R,
    left: u64,
    limit: u64,
    spend: SpendFn<'a>,
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::other(BoundExceeded(self.limit)));
        }
        (self.spend)(n as u64).map_err(io::Error::other)?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// What one unpack takes from the server's disk budget: the blob's size before it starts (a layer that
/// cannot fit is refused before any file is written), then every decompressed byte past that as it is read.
/// Everything taken goes back if the unpack fails.
struct Spend<'b> {
    budget: Option<&'b crate::registry::quota::DiskBudget>,
    taken: u64,
    read: u64,
}

impl<'b> Spend<'b> {
    fn prepay(
        budget: Option<&'b crate::registry::quota::DiskBudget>,
        bytes: u64,
    ) -> Result<Self, crate::registry::quota::DiskFull> {
        if let Some(budget) = budget {
            budget.reserve(bytes)?;
        }
        Ok(Spend {
            budget,
            taken: if budget.is_some() { bytes } else { 0 },
            read: 0,
        })
    }

    fn spend(&mut self, bytes: u64) -> Result<(), crate::registry::quota::DiskFull> {
        self.read += bytes;
        let Some(budget) = self.budget else {
            return Ok(());
        };
        if self.read > self.taken {
            let more = self.read - self.taken;
            budget.reserve(more)?;
            self.taken += more;
        }
        Ok(())
    }

    fn give_back(self) {
        if let Some(budget) = self.budget {
            budget.release(self.taken);
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("decompressed size bound of {0} bytes exceeded")]
struct BoundExceeded(u64);

/// Hashes what passes through (the compressed blob, to check its digest).
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Turn a tar path into checked relative components, refusing absolute paths and `..`.
pub fn safe_components(raw: &str) -> Result<Vec<String>, UnpackError> {
    if raw.starts_with('/') {
        return Err(UnpackError::PathTraversal(raw.to_string()));
    }
    let mut out = Vec::new();
    for c in Path::new(raw).components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return Err(UnpackError::PathTraversal(raw.to_string())),
        }
    }
    Ok(out)
}

/// Whether a relative symlink target, seen from `depth` directories below the root, stays inside the root.
fn symlink_stays_inside(depth: usize, target: &str) -> bool {
    if target.starts_with('/') {
        // Absolute targets are resolved by the kernel inside the container's root; the host never follows them.
        return true;
    }
    let mut level = depth as isize;
    for c in Path::new(target).components() {
        match c {
            Component::ParentDir => level -= 1,
            Component::Normal(_) => level += 1,
            _ => {}
        }
        if level < 0 {
            return false;
        }
    }
    true
}

/// Create missing parents of `comps` below `root`, refusing any parent that is not a real directory.
fn prepare_parent(root: &Path, comps: &[String], raw: &str, shift: IdShift) -> Result<PathBuf, UnpackError> {
    let mut dir = root.to_path_buf();
    for c in &comps[..comps.len().saturating_sub(1)] {
        dir.push(c);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(UnpackError::ThroughSymlink(raw.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(io_err(dir.display().to_string()))?;
                lchown(&dir, Some(shift.to_host(0)), Some(shift.to_host(0)))
                    .map_err(io_err(dir.display().to_string()))?;
            }
            Err(e) => return Err(io_err(dir.display().to_string())(e)),
        }
    }
    Ok(dir)
}

/// Remove whatever is at `path` (not following symlinks), unless it is a directory and `keep_dir` is set.
fn clear(path: &Path, keep_dir: bool) -> Result<(), UnpackError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            if !keep_dir {
                fs::remove_dir_all(path).map_err(io_err(path.display().to_string()))?;
            }
        }
        Ok(_) => fs::remove_file(path).map_err(io_err(path.display().to_string()))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(path.display().to_string())(e)),
    }
    Ok(())
}

/// What an unpack did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnpackStats {
    pub entries: u64,
    pub bytes: u64,
    pub whiteouts: u64,
    pub diff_id: String,
}

/// Unpack one layer blob (gzip or plain tar, detected by magic bytes) into `dest`, which must be an empty directory.
pub fn unpack_layer<R: Read>(
    blob: R,
    dest: &Path,
    limits: UnpackLimits,
    shift: IdShift,
    expected_digest: Option<&str>,
) -> Result<UnpackStats, UnpackError> {
    unpack_layer_spending(blob, dest, limits, shift, expected_digest, &mut |_| Ok(()))
}

/// [`unpack_layer`], asking `spend` for every piece of decompressed tar before unpacking it.
fn unpack_layer_spending<R: Read>(
    blob: R,
    dest: &Path,
    limits: UnpackLimits,
    shift: IdShift,
    expected_digest: Option<&str>,
    spend: SpendFn<'_>,
) -> Result<UnpackStats, UnpackError> {
    let mut hashing = Hashing {
        inner: blob,
        hasher: Sha256::new(),
    };
    let stats = {
        let mut buffered = BufReader::new(&mut hashing);
        let magic = buffered.fill_buf().map_err(io_err("layer header"))?;
        let gz = magic.starts_with(&[0x1f, 0x8b]);
        let raw: Box<dyn Read + '_> = if gz {
            Box::new(flate2::read::GzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        let mut tar_hash = Hashing {
            inner: Bounded {
                inner: raw,
                left: limits.max_bytes,
                limit: limits.max_bytes,
                spend,
            },
            hasher: Sha256::new(),
        };
        let mut stats = unpack_tar(&mut tar_hash, dest, limits, shift)?;
        // Drain trailing padding so the diff_id and blob digest cover every byte.
        io::copy(&mut tar_hash, &mut io::sink()).map_err(map_read_err(limits))?;
        stats.diff_id = format!("sha256:{:x}", tar_hash.hasher.finalize());
        stats
    };
    io::copy(&mut hashing, &mut io::sink()).map_err(io_err("layer blob"))?;
    let actual = format!("sha256:{:x}", hashing.hasher.finalize());
    if let Some(expected) = expected_digest {
        if expected != actual {
            return Err(UnpackError::DigestMismatch {
                expected: expected.to_string(),
                actual,
            });
        }
    }
    Ok(stats)
}

fn map_read_err(limits: UnpackLimits) -> impl Fn(io::Error) -> UnpackError {
    move |e| {
        let inner = e.get_ref();
        if inner.is_some_and(|inner| inner.is::<BoundExceeded>()) {
            UnpackError::TooLarge(limits.max_bytes)
        } else if let Some(full) = inner.and_then(|i| i.downcast_ref::<crate::registry::quota::DiskFull>()) {
            UnpackError::DiskFull(full.clone())
        } else {
            UnpackError::Io {
                context: "layer stream".into(),
                source: e,
            }
        }
    }
}

fn unpack_tar<R: Read>(
    reader: R,
    dest: &Path,
    limits: UnpackLimits,
    shift: IdShift,
) -> Result<UnpackStats, UnpackError> {
    let mut archive = tar::Archive::new(reader);
    let mut stats = UnpackStats::default();
    let read_err = map_read_err(limits);
    for entry in archive.entries().map_err(&read_err)? {
        let mut entry = entry.map_err(&read_err)?;
        stats.entries += 1;
        if stats.entries > limits.max_entries {
            return Err(UnpackError::TooManyEntries(limits.max_entries));
        }
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let comps = safe_components(&raw)?;
        let Some(name) = comps.last().cloned() else {
            continue; // the layer root itself ("./")
        };
        let parent = prepare_parent(dest, &comps, &raw, shift)?;
        let target = parent.join(&name);
        let header = entry.header();
        let uid = shift.to_host(header.uid().unwrap_or(0));
        let gid = shift.to_host(header.gid().unwrap_or(0));
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        // Set-id bits never reach the disk (see `strip_set_id`); directories keep theirs (a set-gid directory only
        // chooses the group of new entries, it grants nothing to whoever runs a file).
        let file_mode = mode & !SET_ID_BITS;
        let mtime = header.mtime().unwrap_or(0);

        if unpack_whiteout(&parent, &name, &raw)? {
            stats.whiteouts += 1;
            continue;
        }

        match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                clear(&target, false)?;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .map_err(io_err(raw.clone()))?;
                stats.bytes += io::copy(&mut entry, &mut file).map_err(&read_err)?;
                drop(file);
                finish(&target, uid, gid, Some(file_mode), mtime, &raw)?;
                if mode != file_mode {
                    record_layer_mode(&target, mode, uid, gid).map_err(io_err(raw.clone()))?;
                }
            }
            tar::EntryType::Directory => {
                clear(&target, true)?;
                if !target.exists() {
                    fs::create_dir(&target).map_err(io_err(raw.clone()))?;
                }
                lchown(&target, Some(uid), Some(gid)).map_err(io_err(raw.clone()))?;
                fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                    .map_err(io_err(raw.clone()))?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                if link.is_empty() || !symlink_stays_inside(comps.len() - 1, &link) {
                    return Err(UnpackError::EscapingSymlink {
                        path: raw,
                        target: link,
                    });
                }
                clear(&target, false)?;
                std::os::unix::fs::symlink(&link, &target).map_err(io_err(raw.clone()))?;
                finish(&target, uid, gid, None, mtime, &raw)?;
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                unpack_hard_link(dest, &target, &raw, link)?;
            }
            tar::EntryType::Fifo => {
                clear(&target, false)?;
                rustix::fs::mknodat(CWD, &target, FileType::Fifo, Mode::from_raw_mode(file_mode), 0)
                    .map_err(|e| io_err(raw.clone())(e.into()))?;
                finish(&target, uid, gid, Some(file_mode), mtime, &raw)?;
            }
            tar::EntryType::Char | tar::EntryType::Block => return Err(UnpackError::DeviceNode(raw)),
            _ => return Err(UnpackError::Unsupported(raw)),
        }
    }
    Ok(stats)
}

/// A whiteout entry (`.wh.NAME` hides NAME below, `.wh..wh..opq` makes `parent` opaque) becomes overlayfs's own
/// marker; returns false for every other entry.
fn unpack_whiteout(parent: &Path, name: &str, raw: &str) -> Result<bool, UnpackError> {
    if name == ".wh..wh..opq" {
        rustix::fs::lsetxattr(
            parent,
            "trusted.overlay.opaque",
            b"y",
            rustix::fs::XattrFlags::empty(),
        )
        .map_err(|e| io_err(raw)(e.into()))?;
        return Ok(true);
    }
    let Some(hidden) = name.strip_prefix(".wh.") else {
        return Ok(false);
    };
    if hidden.is_empty() || hidden.contains('/') || hidden == "." || hidden == ".." {
        return Err(UnpackError::PathTraversal(raw.to_string()));
    }
    let hidden_path = parent.join(hidden);
    clear(&hidden_path, false)?;
    rustix::fs::mknodat(CWD, &hidden_path, FileType::CharacterDevice, Mode::empty(), 0)
        .map_err(|e| io_err(raw)(e.into()))?;
    Ok(true)
}

/// A hard link to `link` (a path inside the layer): every component of it must be a real directory already
/// unpacked under `dest`, and the target a regular file, so a link can never reach outside.
fn unpack_hard_link(dest: &Path, target: &Path, raw: &str, link: String) -> Result<(), UnpackError> {
    let bad = || UnpackError::BadHardLink {
        path: raw.to_string(),
        target: link.clone(),
    };
    let link_comps = safe_components(&link).map_err(|_| bad())?;
    if link_comps.is_empty() {
        return Err(bad());
    }
    let mut source = dest.to_path_buf();
    for (i, c) in link_comps.iter().enumerate() {
        source.push(c);
        let meta = fs::symlink_metadata(&source).map_err(|_| bad())?;
        let last = i + 1 == link_comps.len();
        if (last && !meta.is_file()) || (!last && !meta.is_dir()) {
            return Err(bad());
        }
    }
    clear(target, false)?;
    fs::hard_link(&source, target).map_err(io_err(raw))?;
    Ok(())
}

/// Set-user-id and set-group-id (`S_ISUID | S_ISGID`).
pub const SET_ID_BITS: u32 = 0o6000;

/// The xattr that remembers a file's mode from its layer when the set-id bits were stripped on disk. `trusted.*`:
/// a container can neither read nor forge it, and overlayfs copies it up with the file.
const LAYER_MODE_XATTR: &str = "trusted.slipway.layer-mode";

/// Unpacked layers are owned by shifted container ids, below the runner's 0710 directory (container root reaches
/// them by its group, other host users do not): were it reachable, a set-uid file could be run as set-uid by any
/// host user. Containers run
/// with `no_new_privileges`, so the bits do nothing inside one anyway; they are stripped on disk and the layer's
/// mode is kept in an xattr (with the owner, host ids) so a RUN step's diff can give a copied-up file its bits back.
fn record_layer_mode(path: &Path, mode: u32, uid: u32, gid: u32) -> io::Result<()> {
    let value = format!("{mode:o} {uid} {gid}");
    rustix::fs::lsetxattr(
        path,
        LAYER_MODE_XATTR,
        value.as_bytes(),
        rustix::fs::XattrFlags::empty(),
    )?;
    Ok(())
}

/// The mode (`& 0o7777`) a layer should carry for `path`: its own mode, or the layer's original mode with set-id
/// bits when the file is still what was unpacked (same mode less set-id, same owner; `chown`/`chmod` inside the
/// container change that, as they would clear or set the bits under Docker).
pub fn layer_mode(path: &Path, meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::MetadataExt;
    let mode = meta.mode() & 0o7777;
    if !meta.is_file() || mode & SET_ID_BITS != 0 {
        return mode;
    }
    let mut buf = [0u8; 64];
    let Ok(len) = rustix::fs::lgetxattr(path, LAYER_MODE_XATTR, &mut buf[..]) else {
        return mode;
    };
    let text = String::from_utf8_lossy(&buf[..len]);
    let mut parts = text.split(' ');
    let recorded = parts.next().and_then(|m| u32::from_str_radix(m, 8).ok());
    let owner = (
        parts.next().and_then(|u| u.parse::<u32>().ok()),
        parts.next().and_then(|g| g.parse::<u32>().ok()),
    );
    match recorded {
        Some(orig) if orig & !SET_ID_BITS == mode && owner == (Some(meta.uid()), Some(meta.gid())) => {
            orig & 0o7777
        }
        _ => mode,
    }
}

/// Owner first (chown clears set-id bits), then mode, then mtime; never following a symlink.
fn finish(
    path: &Path,
    uid: u32,
    gid: u32,
    mode: Option<u32>,
    mtime: u64,
    raw: &str,
) -> Result<(), UnpackError> {
    lchown(path, Some(uid), Some(gid)).map_err(io_err(raw))?;
    if let Some(mode) = mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(raw))?;
    }
    let t = rustix::fs::Timespec {
        tv_sec: mtime as i64,
        tv_nsec: 0,
    };
    let times = rustix::fs::Timestamps {
        last_access: t,
        last_modification: t,
    };
    rustix::fs::utimensat(CWD, path, &times, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| io_err(raw)(e.into()))?;
    Ok(())
}

/// Unpacked layers on disk, one directory per blob digest, each unpacked at most once.
#[derive(Debug)]
pub struct LayerStore {
    root: PathBuf,
    limits: UnpackLimits,
    shift: IdShift,
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// When each layer was last handed out or seen in use (for collection); a layer unpacked by an earlier run
    /// counts as used when this store opened.
    last_used: Mutex<HashMap<String, Instant>>,
    opened: Instant,
}

impl LayerStore {
    /// The store's directory is the server's alone (0700, also when an older server left it 0755): the layers
    /// hold learners' files (their images' layers, binds of their projects), which other host users must not read.
    /// Containers still see them: the server mounts their overlays, and runc opens bind sources as the server
    /// before it enters the container's user namespace.
    pub fn new(root: PathBuf, limits: UnpackLimits, shift: IdShift) -> io::Result<Self> {
        fs::create_dir_all(&root)?;
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))?;
        Ok(LayerStore {
            root,
            limits,
            shift,
            locks: Mutex::new(HashMap::new()),
            last_used: Mutex::new(HashMap::new()),
            opened: Instant::now(),
        })
    }

    /// The lock `ensure` holds for digest `hex` while it looks for or unpacks that layer.
    fn digest_lock(&self, hex: &str) -> Arc<Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(hex.to_string()).or_default().clone()
    }

    fn mark_used(&self, hex: &str) {
        let mut last_used = self.last_used.lock().unwrap_or_else(|e| e.into_inner());
        last_used.insert(hex.to_string(), Instant::now());
    }

    /// Move every unpacked layer that is not in `in_use` and was last used at least `grace` ago out of the
    /// store (renamed to `.gc-HEX`, which `ensure` never looks at), and mark the ones in use as used now.
    /// Returns the moved directories and their digests' hex; the caller removes them. Blocking.
    ///
    /// The caller guarantees no container is being created meanwhile (see `Runner::collect_unused_layers`);
    /// the digest lock keeps a background unpack (`ensure`) of the same layer out.
    pub fn take_unused(
        &self,
        in_use: &HashSet<PathBuf>,
        grace: Duration,
    ) -> io::Result<Vec<(String, PathBuf)>> {
        let mut taken = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path();
            if name.starts_with(".gc-") {
                // Left by a pass that stopped before removing it (a crash): nothing refers to it.
                taken.push((name, dir));
                continue;
            }
            if name.starts_with('.') || !entry.file_type()?.is_dir() {
                continue;
            }
            let lock = self.digest_lock(&name);
            let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            if in_use.contains(&dir) {
                self.mark_used(&name);
                continue;
            }
            let mut last_used = self.last_used.lock().unwrap_or_else(|e| e.into_inner());
            let used = last_used.get(&name).copied().unwrap_or(self.opened);
            if used.elapsed() < grace {
                continue;
            }
            let moved = self.root.join(format!(".gc-{name}"));
            fs::rename(&dir, &moved)?;
            last_used.remove(&name);
            taken.push((name, moved));
        }
        Ok(taken)
    }

    pub fn shift(&self) -> IdShift {
        self.shift
    }

    /// Where the layer with this digest lives once unpacked (`sha256:HEX` → `ROOT/HEX`).
    pub fn path_for(&self, digest: &str) -> PathBuf {
        let hex = digest.rsplit(':').next().unwrap_or(digest);
        self.root.join(hex)
    }

    /// The unpacked directory for `digest`, unpacking `blob` first if this is the first use. Blocking.
    pub fn ensure(&self, digest: &str, blob: &Path) -> Result<PathBuf, UnpackError> {
        self.ensure_within(digest, blob, None)
    }

    /// [`LayerStore::ensure`], taking what a first unpack writes from `budget` (see [`Spend`]).
    pub fn ensure_within(
        &self,
        digest: &str,
        blob: &Path,
        budget: Option<&crate::registry::quota::DiskBudget>,
    ) -> Result<PathBuf, UnpackError> {
        let hex = digest.rsplit(':').next().unwrap_or(digest);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(UnpackError::PathTraversal(digest.to_string()));
        }
        let dir = self.path_for(digest);
        let lock = self.digest_lock(hex);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        self.mark_used(hex);
        if dir.is_dir() {
            return Ok(dir);
        }
        // Refused before anything is written when even the compressed blob does not fit.
        let file = File::open(blob).map_err(io_err(blob.display().to_string()))?;
        let size = file.metadata().map_err(io_err(blob.display().to_string()))?.len();
        let mut spend = Spend::prepay(budget, size)?;
        let tmp = self.root.join(format!(".tmp-{hex}"));
        let prepared = (|| {
            if tmp.exists() {
                fs::remove_dir_all(&tmp).map_err(io_err("stale partial layer"))?;
            }
            fs::create_dir(&tmp).map_err(io_err(tmp.display().to_string()))?;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).map_err(io_err("layer dir"))
        })();
        if let Err(e) = prepared {
            spend.give_back();
            return Err(e);
        }
        let unpacked = unpack_layer_spending(file, &tmp, self.limits, self.shift, Some(digest), &mut |n| {
            spend.spend(n)
        });
        if unpacked.is_err() {
            spend.give_back();
        }
        match unpacked {
            Ok(stats) => {
                tracing::debug!(
                    digest,
                    entries = stats.entries,
                    bytes = stats.bytes,
                    "layer unpacked"
                );
                fs::rename(&tmp, &dir).map_err(io_err(dir.display().to_string()))?;
                Ok(dir)
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
