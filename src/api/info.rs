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
        /// Where the binary is: the server's own business, never sent (a stranger learns nothing of the host's
        /// file system from `/api/info`).
        #[serde(skip)]
        path: String,
        /// `v1`, `hybrid` or `v2`: what the host's cgroup hierarchy is.
        cgroup: String,
    },
    Unavailable {
        reason: String,
    },
}

/// The embedded OCI registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryInfo {
    /// Where it keeps its blobs and manifests: for the operator's logs, never sent (a host path).
    #[serde(skip)]
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
        assert!(json.get("path").is_none(), "a host path went out: {json}");
        let back = serde_json::from_value::<RuntimeInfo>(json).unwrap();
        assert_eq!(back.summary(), info.summary());
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
