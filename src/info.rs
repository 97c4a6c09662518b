//! The companion's `/api/info` document: what the page learns about the server it talks to.

use serde::{Deserialize, Serialize};

/// `GET /api/info`: the companion's version, its OCI runtime and its registry storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// Always `"slipway"`, so the page can tell it reached a Slipway companion and not some other server.
    pub name: String,
    pub version: String,
    pub runtime: RuntimeInfo,
    pub registry: RegistryInfo,
}

/// The OCI runtime the companion found at start, or why it found none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RuntimeInfo {
    Available {
        /// `runc` or `crun`.
        name: String,
        version: String,
        path: String,
        /// `v1`, `hybrid` or `v2`: what the host's cgroup hierarchy is.
        cgroup: String,
    },
    Unavailable {
        reason: String,
    },
}

/// Where the embedded OCI registry keeps its blobs and manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryInfo {
    pub storage: String,
}

impl RuntimeInfo {
    /// A one-line summary for people: `runc 1.1.5`, or `none (reason)`.
    pub fn summary(&self) -> String {
        match self {
            RuntimeInfo::Available { name, version, .. } => format!("{name} {version}"),
            RuntimeInfo::Unavailable { reason } => format!("none ({reason})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_info_round_trips_with_a_status_tag() {
        let info = RuntimeInfo::Available {
            name: "runc".into(),
            version: "1.1.5".into(),
            path: "/usr/sbin/runc".into(),
            cgroup: "hybrid".into(),
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["status"], "available");
        assert_eq!(serde_json::from_value::<RuntimeInfo>(json).unwrap(), info);
        assert_eq!(info.summary(), "runc 1.1.5");
    }

    #[test]
    fn unavailable_runtime_names_its_reason() {
        let info = RuntimeInfo::Unavailable {
            reason: "neither runc nor crun on PATH".into(),
        };
        assert_eq!(info.summary(), "none (neither runc nor crun on PATH)");
    }
}
