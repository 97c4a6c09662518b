//! Volumes (`docker volume`, `-v NAME:/path`, `--mount type=volume`, anonymous volumes from `-v /path` and the
//! image's `VOLUME`): a directory per volume under `DATA/volumes/OWNER/NAME/_data`, bind-mounted into the
//! container, owned by the container's root (the user namespace's shifted id). OWNER is a hash of the session,
//! never the token itself. On first use an empty volume gets a copy of what the image has at the mount path, as
//! Docker's does. The bytes count in the server's disk budget and against the session's quota (checked when a
//! container using volumes is created, and while copying up). See `docs/volumes.md`.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use sha2::Digest;

use super::unpack::IdShift;

/// Volumes one session may have.
pub const MAX_PER_SESSION: usize = 32;
/// Mounts one container may have.
pub const MAX_MOUNTS: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("get {0}: no such volume")]
    NotFound(String),
    #[error("remove {name}: volume is in use - [{ids}]")]
    InUse { name: String, ids: String },
    #[error("{0}")]
    Invalid(String),
    /// Docker's words for a host path, with the reason.
    #[error(
        "invalid mount config: bind mounts of host paths are refused here ({0}): the server's files are not a \
         learner's to mount; use a named volume (-v NAME:/path)"
    )]
    HostBind(String),
    #[error("too many volumes (limit {0})")]
    TooMany(usize),
    #[error("the session's disk quota is spent: its volumes hold {used} bytes of {quota}")]
    Quota { used: u64, quota: u64 },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl VolumeError {
    pub fn status(&self) -> u16 {
        match self {
            VolumeError::NotFound(_) => 404,
            VolumeError::InUse { .. } => 409,
            VolumeError::TooMany(_) => 429,
            VolumeError::Quota { .. } => 507,
            VolumeError::Io { .. } => 500,
            _ => 400,
        }
    }
}

fn io_ctx(context: impl Into<String>) -> impl FnOnce(io::Error) -> VolumeError {
    let context = context.into();
    move |source| VolumeError::Io { context, source }
}

/// A volume name docker accepts: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`, here at most 64 bytes.
pub fn valid_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// A mount target: absolute, no `..`, not `/` itself.
pub fn check_target(target: &str) -> Result<(), VolumeError> {
    let path = Path::new(target);
    let normal = path
        .components()
        .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
    if !target.starts_with('/') || !normal || target == "/" || target.len() > 4096 {
        return Err(VolumeError::Invalid(format!(
            "invalid mount config for type \"volume\": invalid mount path: '{target}' mount path must be absolute"
        )));
    }
    Ok(())
}

/// The server's volumes on disk.
#[derive(Debug)]
pub struct Volumes {
    root: PathBuf,
    shift: IdShift,
}

impl Volumes {
    pub fn new(root: PathBuf, shift: IdShift) -> Volumes {
        Volumes { root, shift }
    }

    /// The session's directory: a hash of the session, never the token.
    fn owner_dir(&self, session: &str) -> PathBuf {
        let digest = sha2::Sha256::digest(session.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.root.join(hex)
    }

    fn dir(&self, session: &str, name: &str) -> PathBuf {
        self.owner_dir(session).join(name)
    }

    /// The directory mounted into containers.
    pub fn data(&self, session: &str, name: &str) -> PathBuf {
        self.dir(session, name).join("_data")
    }

    pub fn exists(&self, session: &str, name: &str) -> bool {
        valid_name(name) && self.data(session, name).is_dir()
    }

    /// The session's volume names, sorted.
    pub fn list(&self, session: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.owner_dir(session))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| valid_name(n))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Make the volume if it does not exist (an existing one is kept, as `docker volume create` does). Blocking.
    pub fn create(&self, session: &str, name: &str, anonymous: bool) -> Result<(), VolumeError> {
        if !valid_name(name) {
            return Err(VolumeError::Invalid(format!(
                "create {name}: \"{name}\" includes invalid characters for a local volume name, only \
                 \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"
            )));
        }
        if self.exists(session, name) {
            return Ok(());
        }
        if self.list(session).len() >= MAX_PER_SESSION {
            return Err(VolumeError::TooMany(MAX_PER_SESSION));
        }
        let data = self.data(session, name);
        std::fs::create_dir_all(&data).map_err(io_ctx(format!("creating volume {name}")))?;
        for dir in [&self.root, &self.owner_dir(session), &self.dir(session, name)] {
            super::private_dir(dir, self.shift).map_err(io_ctx(format!("securing volume {name}")))?;
        }
        let root = self.shift.to_host(0);
        std::os::unix::fs::lchown(&data, Some(root), Some(root)).map_err(io_ctx("chown volume"))?;
        if anonymous {
            std::fs::write(self.dir(session, name).join("anonymous"), b"")
                .map_err(io_ctx("marking an anonymous volume"))?;
        }
        Ok(())
    }

    pub fn is_anonymous(&self, session: &str, name: &str) -> bool {
        self.dir(session, name).join("anonymous").is_file()
    }

    pub fn created(&self, session: &str, name: &str) -> u64 {
        std::fs::metadata(self.dir(session, name)).map_or(0, |m| m.mtime().max(0) as u64)
    }

    /// Remove the volume and its data; the bytes it held. Blocking.
    pub fn remove(&self, session: &str, name: &str) -> Result<u64, VolumeError> {
        if !self.exists(session, name) {
            return Err(VolumeError::NotFound(name.to_string()));
        }
        let dir = self.dir(session, name);
        let bytes = crate::registry::quota::disk_usage(&dir, &mut Default::default());
        std::fs::remove_dir_all(&dir).map_err(io_ctx(format!("removing volume {name}")))?;
        Ok(bytes)
    }

    /// The bytes the session's volumes hold. Blocking (a walk).
    pub fn usage(&self, session: &str) -> u64 {
        crate::registry::quota::disk_usage(&self.owner_dir(session), &mut Default::default())
    }

    /// Docker's copy-up: an empty volume mounted at `target` gets what the container's root (`rootfs`, the
    /// mounted overlay) has there. Skipped when the path does not exist, is not a directory, or passes through a
    /// symbolic link (never followed: an image's link may point anywhere). At most `budget` bytes. Blocking.
    pub fn copy_up(
        &self,
        session: &str,
        name: &str,
        rootfs: &Path,
        target: &str,
        budget: u64,
    ) -> Result<(), VolumeError> {
        let data = self.data(session, name);
        let empty = std::fs::read_dir(&data)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        let mut source = rootfs.to_path_buf();
        for part in Path::new(target).components().skip(1) {
            source.push(part);
            match std::fs::symlink_metadata(&source) {
                Ok(meta) if meta.is_dir() => {}
                _ => return Ok(()),
            }
        }
        if !empty {
            return Ok(());
        }
        let meta = std::fs::symlink_metadata(&source).map_err(io_ctx("reading the image's directory"))?;
        std::fs::set_permissions(&data, meta.permissions()).map_err(io_ctx("copy-up"))?;
        std::os::unix::fs::lchown(&data, Some(meta.uid()), Some(meta.gid())).map_err(io_ctx("copy-up"))?;
        // Copied into a directory no container sees (beside `_data`, never mounted), then renamed into the
        // volume entry by entry: a container already using the volume cannot redirect a write of the server's
        // through a symbolic link it planted (`rename` replaces a link, it never follows one).
        let staging = self.dir(session, name).join("copy-up");
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir(&staging).map_err(io_ctx("copy-up"))?;
        let mut left = budget;
        let copied = copy_tree(&source, &staging, &mut left).and_then(|()| {
            for entry in std::fs::read_dir(&staging)? {
                let entry = entry?;
                std::fs::rename(entry.path(), data.join(entry.file_name()))?;
            }
            Ok(())
        });
        let _ = std::fs::remove_dir_all(&staging);
        copied.map_err(|e| match e.kind() {
            io::ErrorKind::StorageFull => VolumeError::Quota {
                used: budget,
                quota: budget,
            },
            _ => io_ctx(format!("copying the image's {target} into volume {name}"))(e),
        })
    }
}

/// Copy the tree below `from` into the existing directory `to`: directories, regular files and symbolic links
/// with their modes and owners (devices, sockets and fifos are left out); fails with `StorageFull` past `left`.
fn copy_tree(from: &Path, to: &Path, left: &mut u64) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let meta = entry.metadata()?;
        let kind = meta.file_type();
        if kind.is_dir() {
            std::fs::create_dir(&dst)?;
            copy_tree(&src, &dst, left)?;
            std::fs::set_permissions(&dst, meta.permissions())?;
        } else if kind.is_file() {
            *left = left
                .checked_sub(meta.len())
                .ok_or_else(|| io::Error::from(io::ErrorKind::StorageFull))?;
            std::fs::copy(&src, &dst)?;
            std::fs::set_permissions(&dst, meta.permissions())?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            continue;
        }
        std::os::unix::fs::lchown(&dst, Some(meta.uid()), Some(meta.gid()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_targets_are_checked() {
        for bad in ["", "a", "-a", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(valid_name("db-data_1.v2"));
        for bad in ["relative", "/", "/a/../b"] {
            assert!(check_target(bad).is_err(), "{bad:?}");
        }
        assert!(check_target("/var/lib/data").is_ok());
    }

    #[test]
    fn copy_up_copies_an_image_dir_into_an_empty_volume_but_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("srv/sub")).unwrap();
        std::fs::write(rootfs.join("srv/sub/seed"), b"seed").unwrap();
        std::os::unix::fs::symlink("sub/seed", rootfs.join("srv/link")).unwrap();
        std::os::unix::fs::symlink("/etc", rootfs.join("escape")).unwrap();
        let volumes = Volumes::new(dir.path().join("volumes"), IdShift::NONE);
        volumes.create("s", "data", false).unwrap();
        volumes.copy_up("s", "data", &rootfs, "/srv", 1 << 20).unwrap();
        let data = volumes.data("s", "data");
        assert_eq!(std::fs::read(data.join("sub/seed")).unwrap(), b"seed");
        assert_eq!(
            std::fs::read_link(data.join("link")).unwrap(),
            Path::new("sub/seed")
        );
        volumes.create("s", "other", true).unwrap();
        volumes
            .copy_up("s", "other", &rootfs, "/escape", 1 << 20)
            .unwrap();
        assert!(
            std::fs::read_dir(volumes.data("s", "other"))
                .unwrap()
                .next()
                .is_none(),
            "no copy through a link"
        );
        volumes.create("s", "small", false).unwrap();
        assert!(matches!(
            volumes.copy_up("s", "small", &rootfs, "/srv", 2),
            Err(VolumeError::Quota { .. })
        ));
        assert_eq!(volumes.list("s"), ["data", "other", "small"]);
        assert!(volumes.is_anonymous("s", "other") && !volumes.is_anonymous("s", "data"));
        assert_eq!(volumes.remove("s", "data").unwrap(), 4);
        assert!(matches!(
            volumes.remove("s", "data"),
            Err(VolumeError::NotFound(_))
        ));
        assert!(volumes.list("t").is_empty(), "another session sees none");
    }
}
