//! What the container and system commands of issue 17 exchange: `docker diff`'s changes, `docker restart`'s
//! query, `docker info`'s figures.

use serde::{Deserialize, Serialize};

/// What happened to a path in a container's writable layer (docker's `container.ChangeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Modified,
    Added,
    Deleted,
}

impl ChangeKind {
    /// The letter `docker diff` prints: `C`, `A` or `D`.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One line of `docker diff`: an element of `GET /api/containers/{id}/changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// Absolute, as the container sees it (`/etc/passwd`).
    pub path: String,
}

/// The query of `POST /api/containers/{id}/restart`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RestartQuery {
    /// Seconds to wait after SIGTERM before SIGKILL (the server's default when absent).
    pub t: Option<u64>,
}

/// `GET /api/system`: `docker info`'s figures, with docker's JSON names (so `docker info --format
/// '{{.ServerVersion}}'` reads them as docker's do). The containers are the caller's session's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemInfo {
    pub containers: u64,
    pub containers_running: u64,
    pub containers_paused: u64,
    pub containers_stopped: u64,
    /// The session's local images: the client counts them in its local store (the server answers 0).
    pub images: u64,
    pub server_version: String,
    /// The storage driver: the kernel's overlay file system over unpacked layers (`overlayfs`).
    pub driver: String,
    pub cgroup_driver: String,
    /// `1` or `2`.
    pub cgroup_version: String,
    pub default_runtime: String,
    /// The runtime's own version (`runc --version`).
    pub runtime_version: String,
    pub kernel_version: String,
    pub operating_system: String,
    #[serde(rename = "OSType")]
    pub os_type: String,
    pub architecture: String,
    #[serde(rename = "NCPU")]
    pub ncpu: u64,
    /// Bytes.
    pub mem_total: u64,
    pub name: String,
    /// docker's `name=seccomp,profile=builtin` form.
    pub security_options: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn changes_and_restart_queries_round_trip() {
        let json = round_trip(&Change {
            kind: ChangeKind::Deleted,
            path: "/tmp/x".into(),
        });
        assert_eq!(json["kind"], "deleted");
        assert_eq!(ChangeKind::Modified.letter(), 'C');
        round_trip(&RestartQuery { t: Some(1) });
        let info = round_trip(&SystemInfo {
            containers_running: 1,
            ncpu: 2,
            os_type: "linux".into(),
            ..SystemInfo::default()
        });
        assert_eq!(
            (&info["ContainersRunning"], &info["NCPU"], &info["OSType"]),
            (
                &serde_json::json!(1),
                &serde_json::json!(2),
                &serde_json::json!("linux")
            )
        );
        let refused = serde_json::from_str::<RestartQuery>(r#"{"time":1}"#).unwrap_err();
        assert!(refused.to_string().contains("unknown field `time`"), "{refused}");
    }
}
