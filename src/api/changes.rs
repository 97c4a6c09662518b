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

/// The query of `POST /api/containers/{id}/commit` (`docker commit`): the local repository of the caller's
/// session the layer goes to. The answer is the layer's [`super::StepLayer`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CommitQuery {
    pub repository: String,
}

/// The query of `GET /api/stats`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct StatsQuery {
    /// Containers that do not run too (`docker stats -a`): their figures are zero.
    pub all: bool,
}

/// One row of `docker stats`: a container's use of its cgroup over about a second (`GET /api/stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsRow {
    pub id: String,
    pub name: String,
    pub running: bool,
    /// Percent of one CPU (200 = two CPUs busy), as docker computes it.
    pub cpu_percent: f64,
    /// Bytes in use, the page cache that can be dropped left out (docker's `usage - inactive_file`).
    pub mem_usage: u64,
    /// The container's memory limit in bytes.
    pub mem_limit: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

/// The body of `POST /api/containers/{id}/update` (`docker update`): the limits to change, the others kept.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UpdateLimits {
    /// `-m`, bytes.
    pub memory: Option<i64>,
    /// `--cpus`
    pub cpus: Option<f64>,
    /// `--pids-limit`
    pub pids_limit: Option<i64>,
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
        round_trip(&StatsQuery { all: true });
        round_trip(&CommitQuery {
            repository: "slipway-local/k/app".into(),
        });
        round_trip(&StatsRow {
            cpu_percent: 12.5,
            mem_usage: 1 << 20,
            ..StatsRow::default()
        });
        round_trip(&UpdateLimits {
            memory: Some(64 << 20),
            cpus: Some(0.5),
            pids_limit: None,
        });
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
