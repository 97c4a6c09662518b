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
    /// Where containers' web apps are served (absent when the server runs no containers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<PreviewInfo>,
    /// Present when the server runs a class (`slipway serve --classroom`): sessions come from signing in
    /// with a join code ([`super::paths::CLASSROOM_JOIN`]), never from [`super::paths::SESSIONS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classroom: Option<super::ClassroomInfo>,
}

/// The preview listener: containers' web apps are served there, on an origin other than the app's, so a
/// container's page can never read the app's storage or act as the app (`docs/security.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewInfo {
    /// The preview listener's port.
    pub port: u16,
    /// `slipway serve --preview-host`: the host name (`preview.example.org`), `host:port`, or a whole origin
    /// (`https://preview.example.org`) previews are reached by. None: the app's host name with [`Self::port`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// `name:port` or `[v6]:port`, not a bare name or `[v6]`.
fn has_port(host: &str) -> bool {
    match host.strip_prefix('[') {
        Some(v6) => v6.contains("]:"),
        None => host.contains(':'),
    }
}

impl PreviewInfo {
    /// The preview origin as a CSP source for a page reached as `page_host` (a host name, no port):
    /// `preview.example.org:8081`, or the configured origin when it names its scheme.
    pub fn source(&self, page_host: &str) -> String {
        match &self.host {
            Some(host) if host.contains("://") || has_port(host) => host.clone(),
            Some(host) => format!("{host}:{}", self.port),
            None => format!("{page_host}:{}", self.port),
        }
    }

    /// The preview origin for a page at `page_protocol` (`http:`) and `page_host`, e.g. `http://127.0.0.1:8081`;
    /// [`super::paths::preview`] goes after it.
    pub fn origin(&self, page_protocol: &str, page_host: &str) -> String {
        let source = self.source(page_host);
        if source.contains("://") {
            source.trim_end_matches('/').to_string()
        } else {
            format!("{page_protocol}//{source}")
        }
    }
}

/// The OCI runtime the companion found at start, or why it found none: `{"available": {...}}` or
/// `{"unavailable": {"reason": ...}}`. Externally tagged (serde's default): an internally tagged enum buffers
/// through serde's `Content` and cost the page's wasm more (see docs/performance.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    fn runtime_info_round_trips_tagged_by_its_variant() {
        let info = RuntimeInfo::Available {
            name: "runc".into(),
            version: "1.1.5".into(),
            path: "/usr/sbin/runc".into(),
            cgroup: "hybrid".into(),
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["available"]["name"], "runc", "{json}");
        assert!(
            json["available"].get("path").is_none(),
            "a host path went out: {json}"
        );
        let back = serde_json::from_value::<RuntimeInfo>(json).unwrap();
        assert_eq!(back.summary(), info.summary());
        assert_eq!(info.summary(), "runc 1.1.5");
    }

    #[test]
    fn the_preview_origin_is_the_pages_host_on_the_preview_port_unless_configured() {
        let own = PreviewInfo {
            port: 8081,
            host: None,
        };
        assert_eq!(own.origin("http:", "127.0.0.1"), "http://127.0.0.1:8081");
        assert_eq!(own.source("[::1]"), "[::1]:8081");
        let named = PreviewInfo {
            port: 8081,
            host: Some("preview.example.org".into()),
        };
        assert_eq!(
            named.origin("https:", "play.example.org"),
            "https://preview.example.org:8081"
        );
        let with_port = PreviewInfo {
            port: 8081,
            host: Some("preview.example.org:443".into()),
        };
        assert_eq!(with_port.source("x"), "preview.example.org:443");
        let v6 = |host: &str| {
            PreviewInfo {
                port: 8081,
                host: Some(host.into()),
            }
            .source("x")
        };
        assert_eq!(v6("[::1]"), "[::1]:8081");
        assert_eq!(v6("[::1]:9000"), "[::1]:9000");
        let origin = PreviewInfo {
            port: 8081,
            host: Some("https://preview.example.org/".into()),
        };
        assert_eq!(origin.origin("http:", "x"), "https://preview.example.org");
    }

    #[test]
    fn unavailable_runtime_names_its_reason() {
        let info = RuntimeInfo::Unavailable {
            reason: "neither runc nor crun on PATH".into(),
        };
        assert_eq!(info.summary(), "none (neither runc nor crun on PATH)");
    }
}
