//! What `docker cp` exchanges with the companion: a tar of a path in a container (`GET`), or a tar extracted
//! into a directory of a container (`PUT`), both at [`super::paths::CONTAINER_ARCHIVE`] (dockerd's
//! `/containers/{id}/archive`). The client decides names and places as docker's `archive.CopyTo` and
//! `PrepareArchiveCopy` do; the server only resolves paths inside the container's root filesystem.

use serde::{Deserialize, Serialize};

/// The query of `GET /api/containers/{id}/archive`: the answer is an uncompressed tar whose top entry is
/// named after the base name of `path` (a directory: its whole tree).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveQuery {
    /// A path in the container (relative paths start at `/`).
    pub path: String,
    /// A symbolic link at `path` is followed (inside the container): `docker cp -L`.
    pub follow: bool,
}

/// The query of `PUT /api/containers/{id}/archive` (body: an uncompressed tar): `path` must be a directory of
/// the container, where the entries land.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ExtractQuery {
    pub path: String,
    /// Keep the archive's owners (`docker cp -a`); without it every entry belongs to the container's root.
    pub keep_ids: bool,
}

/// The answer of `GET /api/containers/{id}/archive/stat?path=` (dockerd's `HEAD .../archive`): what `path`
/// names, resolved inside the container (a link is followed).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PathStat {
    pub name: String,
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    pub dir: bool,
}

/// The most bytes one `docker cp` moves either way (a tar held in memory on both sides).
pub const MAX_COPY_BYTES: u64 = 256 << 20;

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn copy_queries_round_trip() {
        round_trip(&ArchiveQuery {
            path: "/etc/hostname".into(),
            follow: true,
        });
        round_trip(&PathStat {
            name: "app".into(),
            size: 4096,
            mode: 0o755,
            dir: true,
        });
        round_trip(&ExtractQuery {
            path: "/app".into(),
            keep_ids: true,
        });
    }
}
