//! `docker cp` on the companion's side (`GET`/`PUT /api/containers/{id}/archive`, dockerd's archive routes): a
//! tar of a path in a container, or a tar extracted into a directory of it. Running, created, paused and
//! stopped containers alike: a stopped one has its root filesystem mounted again over its kept changes for the
//! copy ([`super::keep`]), and a copy into it is kept again afterwards.
//!
//! Every path is resolved inside the container's root filesystem, which a running container may rewrite at any
//! moment: the start is opened with `openat2(RESOLVE_IN_ROOT)` (symbolic links resolve as they would inside
//! the container, never above its root) and everything below it through directory descriptors with
//! `O_NOFOLLOW`, so no swap between a check and a use can lead outside. `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` are read from the files the runtime mounts there, as the container sees them. Volumes are
//! not reached (they are mounted in the container's own namespace).

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use slipway::api::{self, paths, ErrorBody, MAX_COPY_BYTES};
use slipway::layer::{Meta, TarWriter};

use super::lifecycle::{Container, Status};
use super::unpack::IdShift;
use super::{io_ctx, Runner, RunnerError};

/// Why a copy was refused, in dockerd's words where it has some (`daemon/archive.go`, `daemon/errors.go`).
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// dockerd's `containerFileNotFound`.
    #[error("Could not find the file {path} in container {container}")]
    NotFound { path: String, container: String },
    /// dockerd's `ErrExtractPointNotDirectory`.
    #[error("extraction point is not a directory")]
    NotADirectory,
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Runner(#[from] RunnerError),
}

impl IntoResponse for CopyError {
    fn into_response(self) -> Response {
        let status = match &self {
            CopyError::NotFound { .. } => StatusCode::NOT_FOUND,
            CopyError::NotADirectory | CopyError::Refused(_) => StatusCode::BAD_REQUEST,
            CopyError::Runner(e) => return RunnerError::into_response(clone_runner(e)),
        };
        (status, Json(ErrorBody::new(self.to_string()))).into_response()
    }
}

/// The runner's answer for its own errors (status and body), from a borrowed error.
fn clone_runner(e: &RunnerError) -> RunnerError {
    match e {
        RunnerError::NotFound(id) => RunnerError::NotFound(id.clone()),
        RunnerError::Busy(why) => RunnerError::Busy(why.clone()),
        other => RunnerError::Refused(other.to_string()),
    }
}

pub fn routes() -> Router<Arc<Runner>> {
    Router::new()
        .route(
            paths::CONTAINER_ARCHIVE,
            get(archive)
                .put(extract)
                .layer(DefaultBodyLimit::max(MAX_COPY_BYTES as usize)),
        )
        .route(paths::CONTAINER_ARCHIVE_STAT, get(stat))
        .route(paths::CONTAINER_EXPORT, get(export))
}

async fn export(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, CopyError> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let (this, typed, c2) = (r.clone(), id.clone(), c.clone());
    let tar = tokio::task::spawn_blocking(move || {
        this.with_rootfs(&c2, false, |root| {
            let shift = this.config.userns.unwrap_or(IdShift::NONE);
            archive_root(root, &c2.dir.join("etc"), shift).map_err(|e| e.named("/", &typed))
        })
    })
    .await
    .map_err(|e| io_ctx("export task")(std::io::Error::other(e)))??;
    // dockerd's `ContainerExport`, `containerArchivePath` and `containerExtractToDir` each log one event.
    r.container_event(&c, "export", &[]);
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], tar).into_response())
}

/// The caller's session, as [`super::api`] reads it.
fn session(headers: &HeaderMap) -> String {
    crate::registry::local::session_token(headers).unwrap_or_default()
}

async fn stat(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<api::ArchiveQuery>,
) -> Result<Json<api::PathStat>, CopyError> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let (this, typed) = (r.clone(), id.clone());
    let stat = tokio::task::spawn_blocking(move || {
        this.with_rootfs(&c, false, |root| {
            stat_path(root, &q.path).map_err(|e| e.named(&q.path, &typed))
        })
    })
    .await
    .map_err(|e| io_ctx("copy task")(std::io::Error::other(e)))??;
    Ok(Json(stat))
}

async fn archive(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<api::ArchiveQuery>,
) -> Result<Response, CopyError> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let tar = r.copy_out(&c, &id, &q).await?;
    r.container_event(&c, "archive-path", &[]);
    Ok(([(header::CONTENT_TYPE, "application/x-tar")], tar).into_response())
}

async fn extract(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Query(q): Query<api::ExtractQuery>,
    body: Bytes,
) -> Result<StatusCode, CopyError> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    r.copy_in(&c, &id, &q, body).await?;
    r.container_event(&c, "extract-to-dir", &[]);
    Ok(StatusCode::NO_CONTENT)
}

impl Runner {
    /// A tar of `q.path` in the container (`typed`: the container as the client named it, for errors).
    pub async fn copy_out(
        self: &Arc<Self>,
        c: &Arc<Container>,
        typed: &str,
        q: &api::ArchiveQuery,
    ) -> Result<Vec<u8>, CopyError> {
        let (this, c2, typed, q) = (self.clone(), c.clone(), typed.to_string(), q.clone());
        tokio::task::spawn_blocking(move || {
            this.with_rootfs(&c2, false, |root| {
                let shift = this.config.userns.unwrap_or(IdShift::NONE);
                archive_path(root, &c2.dir.join("etc"), &q, shift).map_err(|e| e.named(&q.path, &typed))
            })
        })
        .await
        .map_err(|e| io_ctx("copy task")(std::io::Error::other(e)))?
    }

    /// Extract `tar` into the directory `q.path` of the container.
    pub async fn copy_in(
        self: &Arc<Self>,
        c: &Arc<Container>,
        typed: &str,
        q: &api::ExtractQuery,
        tar: Bytes,
    ) -> Result<(), CopyError> {
        let (this, c2, typed, q) = (self.clone(), c.clone(), typed.to_string(), q.clone());
        tokio::task::spawn_blocking(move || {
            this.with_rootfs(&c2, true, |root| {
                let shift = this.config.userns.unwrap_or(IdShift::NONE);
                extract_into(root, &q, &tar, shift).map_err(|e| e.named(&q.path, &typed))
            })
        })
        .await
        .map_err(|e| io_ctx("copy task")(std::io::Error::other(e)))?
    }

    /// Run `f` on the container's mounted root filesystem. A stopped container's is mounted again for it (no
    /// start can run meanwhile), then let go; after a write its changes are kept again. Blocking.
    fn with_rootfs<T>(
        &self,
        c: &Container,
        writes: bool,
        f: impl FnOnce(&File) -> Result<T, CopyError>,
    ) -> Result<T, CopyError> {
        let rootfs = c.dir.join("rootfs");
        if c.state().status != Status::Exited {
            let root = File::open(&rootfs).map_err(io_ctx("opening the container's root"))?;
            return f(&root);
        }
        if !c.claim_start_again() {
            return Err(CopyError::Refused(format!(
                "container {} is starting: try again in a moment",
                c.name
            )));
        }
        let done = self.remount(c).map_err(CopyError::from).and_then(|()| {
            let root = File::open(&rootfs).map_err(io_ctx("opening the container's root"))?;
            f(&root)
        });
        let _ = super::overlay::unmount(&rootfs);
        if writes && done.is_ok() {
            // The new changes are kept as the exit kept the old ones (the disk budget pays for them).
            self.park(c);
        } else {
            super::keep::release_writable(&c.dir);
        }
        c.end_claim();
        done
    }
}

/// An error of a copy, named once the container and path are known.
enum Failure {
    Missing,
    NotDir,
    Refused(String),
    Io(std::io::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}

impl From<rustix::io::Errno> for Failure {
    fn from(e: rustix::io::Errno) -> Self {
        match e {
            rustix::io::Errno::NOENT => Failure::Missing,
            other => Failure::Io(other.into()),
        }
    }
}

impl Failure {
    fn named(self, path: &str, container: &str) -> CopyError {
        match self {
            Failure::Missing => CopyError::NotFound {
                path: path.to_string(),
                container: container.to_string(),
            },
            Failure::NotDir => CopyError::NotADirectory,
            Failure::Refused(why) => CopyError::Refused(why),
            Failure::Io(e) => CopyError::Runner(io_ctx(format!("copying {path}"))(e)),
        }
    }
}

/// `path` as clean components below the root (`..` stops at the root, as `filepath.Clean("/" + path)`).
fn components(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts
}

/// Whether docker resolves the last component too: the path ends with `/` or `/.` (it names a directory).
fn names_a_directory(path: &str) -> bool {
    path.ends_with('/') || path.ends_with("/.") || path == "."
}

fn open_in_root(root: &File, rel: &str, flags: OFlags) -> Result<OwnedFd, Failure> {
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let rel = if rel.is_empty() { "." } else { rel };
    rustix::fs::openat2(root, rel, flags | OFlags::CLOEXEC, Mode::empty(), resolve).map_err(|e| match e {
        rustix::io::Errno::NOENT => Failure::Missing,
        rustix::io::Errno::NOTDIR => Failure::NotDir,
        other => Failure::Io(other.into()),
    })
}

/// The files the runtime mounts over the root filesystem, read from where they are kept.
fn runtime_file(rel: &str, etc: &Path) -> Option<std::path::PathBuf> {
    let name = rel.strip_prefix("etc/")?;
    ["hostname", "hosts", "resolv.conf"]
        .contains(&name)
        .then(|| etc.join(name))
}

/// What `path` is, resolved whole inside the root.
fn stat_path(root: &File, path: &str) -> Result<api::PathStat, Failure> {
    let parts = components(path);
    let fd = open_in_root(root, &parts.join("/"), OFlags::PATH)?;
    let stat = rustix::fs::fstat(&fd)?;
    Ok(api::PathStat {
        name: parts.last().map_or("/", |n| n).to_string(),
        size: stat.st_size.max(0) as u64,
        mode: stat.st_mode & 0o7777,
        dir: FileType::from_raw_mode(stat.st_mode) == FileType::Directory,
    })
}

/// Counts what goes into the archive against [`MAX_COPY_BYTES`].
struct Budget(u64);

impl Budget {
    fn spend(&mut self, bytes: u64) -> Result<(), Failure> {
        self.0 = self.0.saturating_add(bytes + 512);
        if self.0 > MAX_COPY_BYTES {
            return Err(Failure::Refused(format!(
                "the copy is larger than this server allows ({})",
                slipway::image::units::human_size(MAX_COPY_BYTES)
            )));
        }
        Ok(())
    }
}

struct Archiver<'a> {
    tar: TarWriter<Vec<u8>>,
    shift: IdShift,
    etc: &'a Path,
    budget: Budget,
}

fn archive_path(root: &File, etc: &Path, q: &api::ArchiveQuery, shift: IdShift) -> Result<Vec<u8>, Failure> {
    let parts = components(&q.path);
    let Some((name, parent)) = parts.split_last() else {
        return Err(Failure::Refused(
            "copying a container's whole root filesystem is not supported here: use docker export".into(),
        ));
    };
    let parent = open_in_root(root, &parent.join("/"), OFlags::PATH | OFlags::DIRECTORY)?;
    let mut out = Archiver {
        tar: TarWriter::new(Vec::new(), 0),
        shift,
        etc,
        budget: Budget(1024),
    };
    let rel = parts.join("/");
    if q.follow || names_a_directory(&q.path) {
        // Resolved whole, inside the root: the entry keeps the name asked for.
        let target = open_in_root(root, &rel, OFlags::PATH)?;
        out.entry_at(&target, "", name, &rel)?;
    } else {
        out.entry_at(&parent, name, name, &rel)?;
    }
    out.tar
        .finish()
        .map_err(|e| Failure::Io(std::io::Error::other(e)))
}

/// The container's whole root filesystem as a tar, entries named from its root (`docker export`).
fn archive_root(root: &File, etc: &Path, shift: IdShift) -> Result<Vec<u8>, Failure> {
    let mut out = Archiver {
        tar: TarWriter::new(Vec::new(), 0),
        shift,
        etc,
        budget: Budget(1024),
    };
    let top = open_in_root(root, "", OFlags::RDONLY | OFlags::DIRECTORY)?;
    out.children(&top, "", "")?;
    out.tar
        .finish()
        .map_err(|e| Failure::Io(std::io::Error::other(e)))
}

impl Archiver<'_> {
    /// Everything in the open directory `dir`, named below `archive_name` (`""`: at the top).
    fn children(&mut self, dir: &OwnedFd, archive_name: &str, rel: &str) -> Result<(), Failure> {
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(dir)? {
            let entry = entry?;
            let child = entry.file_name().to_bytes();
            if child != b"." && child != b".." {
                names.push(String::from_utf8_lossy(child).into_owned());
            }
        }
        names.sort();
        let below = |parent: &str, child: &str| match parent.is_empty() {
            true => child.to_string(),
            false => format!("{parent}/{child}"),
        };
        for child in names {
            self.entry_at(dir, &child, &below(archive_name, &child), &below(rel, &child))?;
        }
        Ok(())
    }

    /// One entry, `name` in `dir` (`""`: `dir` itself), written as `archive_name`; a directory with its tree.
    /// `rel` is its path in the container as far as known (for the runtime's files).
    fn entry_at(&mut self, dir: &OwnedFd, name: &str, archive_name: &str, rel: &str) -> Result<(), Failure> {
        let flags = if name.is_empty() {
            AtFlags::EMPTY_PATH
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        let stat = rustix::fs::statat(dir, name, flags)?;
        let meta = Meta {
            mode: stat.st_mode & 0o7777,
            uid: self.shift.to_container(stat.st_uid),
            gid: self.shift.to_container(stat.st_gid),
            mtime: Some(stat.st_mtime.max(0) as u64),
        };
        let layer = |e: slipway::layer::LayerError| Failure::Io(std::io::Error::other(e));
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => {
                self.budget.spend(0)?;
                self.tar.append_dir(archive_name, &meta).map_err(layer)?;
                let opened = rustix::fs::openat(
                    dir,
                    if name.is_empty() { "." } else { name },
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                self.children(&opened, archive_name, rel)?;
            }
            FileType::RegularFile => {
                let mut file = match runtime_file(rel, self.etc) {
                    Some(kept) => File::open(kept)?,
                    // A link followed: `dir` is the file itself (an `O_PATH` descriptor of ours), opened again.
                    None if name.is_empty() => {
                        use std::os::fd::AsRawFd;
                        File::open(format!("/proc/self/fd/{}", dir.as_raw_fd()))?
                    }
                    None => File::from(rustix::fs::openat(
                        dir,
                        name,
                        OFlags::RDONLY
                            | OFlags::NOFOLLOW
                            | OFlags::NONBLOCK
                            | OFlags::NOCTTY
                            | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?),
                };
                let size = file.metadata()?.len();
                self.budget.spend(size)?;
                self.tar
                    .append_file(archive_name, &meta, size, &mut (&mut file as &mut dyn Read))
                    .map_err(layer)?;
            }
            FileType::Symlink => {
                let target = rustix::fs::readlinkat(dir, name, Vec::new())?;
                self.budget.spend(0)?;
                let target = String::from_utf8_lossy(target.as_bytes()).into_owned();
                self.tar
                    .append_symlink(archive_name, &target, &meta)
                    .map_err(layer)?;
            }
            // Devices, fifos and sockets are not copied out.
            _ => {}
        }
        Ok(())
    }
}

/// Extract `tar` below the directory `q.path` of the container: every entry's parents are walked by descriptor
/// without following links, so an entry never lands outside the root. Owners are the container's root unless
/// `keep_ids`; set-id bits are dropped.
fn extract_into(root: &File, q: &api::ExtractQuery, tar: &[u8], shift: IdShift) -> Result<(), Failure> {
    let rel = components(&q.path).join("/");
    let dest = open_in_root(root, &rel, OFlags::RDONLY | OFlags::DIRECTORY)?;
    let mut archive = tar::Archive::new(tar);
    let entries = archive
        .entries()
        .map_err(|e| Failure::Refused(format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Failure::Refused(format!("not a tar archive: {e}")))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = slipway::layer::path::normalize(&raw)
            .map_err(|e| Failure::Refused(format!("archive entry {raw:?}: {e}")))?;
        let Some((name, parents)) = path
            .rsplit_once('/')
            .map_or(Some((path.as_str(), "")), |(p, n)| Some((n, p)))
        else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        let header = entry.header();
        let (uid, gid) = match q.keep_ids {
            true => (header.uid().unwrap_or(0), header.gid().unwrap_or(0)),
            false => (0, 0),
        };
        let owner = (shift.to_host(uid), shift.to_host(gid));
        let mode = header.mode().unwrap_or(0o644) & 0o1777;
        let dir = walk_parents(&dest, parents, shift)?;
        match header.entry_type() {
            tar::EntryType::Directory => make_dir(&dir, name, mode, owner)?,
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                replace_non_dir(&dir, name, &path)?;
                let fd = rustix::fs::openat(
                    &dir,
                    name,
                    OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::from_raw_mode(mode),
                )?;
                rustix::fs::fchown(&fd, Some(uid_of(owner.0)), Some(gid_of(owner.1)))?;
                rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
                std::io::copy(&mut entry, &mut File::from(fd))?;
            }
            tar::EntryType::Symlink => {
                replace_non_dir(&dir, name, &path)?;
                let target = entry.link_name_bytes().unwrap_or_default();
                rustix::fs::symlinkat(OsStr::from_bytes(&target), &dir, name)?;
                rustix::fs::chownat(
                    &dir,
                    name,
                    Some(uid_of(owner.0)),
                    Some(gid_of(owner.1)),
                    AtFlags::SYMLINK_NOFOLLOW,
                )?;
            }
            tar::EntryType::Link => {
                return Err(Failure::Refused(format!(
                    "archive entry {raw:?}: hard links are not copied into containers here"
                )))
            }
            // Devices and fifos are not made in a container by a copy.
            _ => {}
        }
    }
    Ok(())
}

fn uid_of(raw: u32) -> rustix::fs::Uid {
    rustix::fs::Uid::from_raw(raw)
}

fn gid_of(raw: u32) -> rustix::fs::Gid {
    rustix::fs::Gid::from_raw(raw)
}

/// The directory `parents` below `dest`, made (root's, 0755) where missing; a component that is not a
/// directory (a link included) is refused.
fn walk_parents(dest: &OwnedFd, parents: &str, shift: IdShift) -> Result<OwnedFd, Failure> {
    let mut dir = rustix::fs::openat(
        dest,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for part in parents.split('/').filter(|p| !p.is_empty()) {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        dir = match rustix::fs::openat(&dir, part, flags, Mode::empty()) {
            Ok(next) => next,
            Err(rustix::io::Errno::NOENT) => {
                make_dir(&dir, part, 0o755, (shift.to_host(0), shift.to_host(0)))?;
                rustix::fs::openat(&dir, part, flags, Mode::empty())?
            }
            Err(rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
                return Err(Failure::Refused(format!(
                    "cannot overwrite non-directory \"{part}\" with directory"
                )))
            }
            Err(e) => return Err(e.into()),
        };
    }
    Ok(dir)
}

fn make_dir(dir: &OwnedFd, name: &str, mode: u32, owner: (u32, u32)) -> Result<(), Failure> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => return Ok(()),
        Ok(_) => rustix::fs::unlinkat(dir, name, AtFlags::empty())?,
        Err(_) => {}
    }
    rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(mode))?;
    rustix::fs::chownat(
        dir,
        name,
        Some(uid_of(owner.0)),
        Some(gid_of(owner.1)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    Ok(())
}

/// Make room for a file or link named `name`: what is there goes, unless it is a directory (dockerd's error).
fn replace_non_dir(dir: &OwnedFd, name: &str, path: &str) -> Result<(), Failure> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => Err(Failure::Refused(
            format!("cannot overwrite directory \"/{path}\" with non-directory"),
        )),
        Ok(_) => Ok(rustix::fs::unlinkat(dir, name, AtFlags::empty())?),
        Err(_) => Ok(()),
    }
}
