//! Volumes: `/api/volumes` (`docker volume create|ls|inspect|rm|prune`) and the mounts of `docker run -v` /
//! `--mount type=volume` (`docs/volumes.md`).

use serde::{Deserialize, Serialize};

use super::{paths, Companion, CompanionError};
use crate::registry::{Method, Transport};

/// A volume mounted into a container: `-v NAME:/path[:ro]`, `-v /path` (anonymous), `--mount type=volume,...`;
/// or a bind of the project's own files (`-v ./src:/app`, `--mount type=bind`, compose `- .:/code`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct VolumeMount {
    /// The volume's name; empty: a new anonymous volume (the server names it). For a bind: the path as the
    /// learner typed it (`./src`), shown by inspect.
    pub source: String,
    /// The absolute path in the container.
    pub target: String,
    pub read_only: bool,
    /// A bind of the project's files instead of a volume (`docs/volumes.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<ProjectBind>,
}

/// The project's folder or file a bind mounts: packed by the client as a layer blob (a deterministic tar, gzip)
/// and uploaded into the session's local store, where the runner finds it by digest. Always mounted read-only:
/// a container's writes would not come back to the page's files.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectBind {
    /// The layer blob's digest (`sha256:...`), linked in the session's local store.
    pub digest: String,
    /// A single file rather than a folder: the blob holds it as [`BIND_FILE_NAME`].
    pub file: bool,
}

/// The name of a bound single file inside its blob.
pub const BIND_FILE_NAME: &str = "file";

/// The most bytes of files a bind of the project's files may carry.
pub const MAX_BIND_BYTES: u64 = 64 << 20;

/// The body of `POST /api/volumes` (`docker volume create [NAME]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct VolumeCreate {
    /// Empty: the server names it (64 hex characters, as Docker does).
    pub name: String,
}

/// A volume: a row of `GET /api/volumes`, the answer of `GET /api/volumes/{name}` and of its creation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VolumeInfo {
    pub name: String,
    /// Unix seconds.
    pub created: u64,
    /// Made for a container (`-v /path`, the image's `VOLUME`): `docker rm -v` and `--rm` remove it.
    pub anonymous: bool,
    /// The ids of the containers (any state) that mount it.
    pub used_by: Vec<String>,
}

/// The query of `POST /api/volumes/prune`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct VolumePruneQuery {
    /// Named volumes too, not only anonymous ones (`docker volume prune -a`).
    pub all: bool,
}

/// The answer to `POST /api/volumes/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct VolumePruneAnswer {
    pub volumes_deleted: Vec<String>,
    pub space_reclaimed: u64,
}

impl<T: Transport> Companion<'_, T> {
    /// `POST /api/volumes`.
    pub async fn create_volume(&self, request: &VolumeCreate) -> Result<VolumeInfo, CompanionError> {
        self.json(Method::Post, paths::VOLUMES, Some(request)).await
    }

    /// `GET /api/volumes`.
    pub async fn volumes(&self) -> Result<Vec<VolumeInfo>, CompanionError> {
        self.json(Method::Get, paths::VOLUMES, None::<&()>).await
    }

    /// `GET /api/volumes/{name}`.
    pub async fn volume(&self, name: &str) -> Result<VolumeInfo, CompanionError> {
        self.json(Method::Get, &paths::volume(name), None::<&()>).await
    }

    /// `DELETE /api/volumes/{name}`.
    pub async fn remove_volume(&self, name: &str) -> Result<(), CompanionError> {
        self.call(Method::Delete, &paths::volume(name)).await
    }

    /// `POST /api/volumes/prune[?all=true]`.
    pub async fn prune_volumes(&self, query: &VolumePruneQuery) -> Result<VolumePruneAnswer, CompanionError> {
        let path = format!("{}{}", paths::VOLUMES_PRUNE, super::query_string(query));
        self.json(Method::Post, &path, None::<&()>).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn volume_types_round_trip_and_refuse_misspelt_fields() {
        round_trip(&VolumeMount {
            source: "data".into(),
            target: "/data".into(),
            read_only: true,
            bind: None,
        });
        round_trip(&VolumeMount {
            source: "./src".into(),
            target: "/app".into(),
            read_only: true,
            bind: Some(ProjectBind {
                digest: format!("sha256:{}", "a".repeat(64)),
                file: true,
            }),
        });
        round_trip(&VolumeInfo {
            name: "data".into(),
            created: 1,
            anonymous: false,
            used_by: vec!["ab".into()],
        });
        round_trip(&VolumePruneAnswer {
            volumes_deleted: vec!["data".into()],
            space_reclaimed: 4,
        });
        let refused = serde_json::from_str::<VolumeMount>(r#"{"source":"a","traget":"/x"}"#).unwrap_err();
        assert!(
            refused.to_string().contains("unknown field `traget`"),
            "{refused}"
        );
    }
}
