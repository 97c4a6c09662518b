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
    /// The platform its containers run on (absent from a companion older than this field: the page then
    /// assumes `linux/amd64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformInfo>,
}

/// A platform as containerd's `platforms.Format` prints it: `linux/amd64`, `linux/arm64`, `linux/arm/v7`. As the
/// companion's own ([`ServerInfo::platform`]) it is moby's `maximumSpec()`: the host's OS and Go architecture
/// name (`amd64`, where `docker info` says `x86_64`), with the CPU's variant (`v3` for an x86-64-v3 CPU, `v8` on
/// arm64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformInfo {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl PlatformInfo {
    /// `OS/ARCH[/VARIANT]` as containerd's `platforms.Parse` reads it (normalized: `linux/arm64/v8` is
    /// `linux/arm64`, `linux/x86_64` is `linux/amd64`, `linux/arm` is `linux/arm/v7`); `None` when malformed.
    pub fn parse(text: &str) -> Option<PlatformInfo> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let (os, architecture, variant) = match parts.as_slice() {
            [os, arch] => (os, arch, None),
            [os, arch, variant] if !variant.is_empty() => (os, arch, Some(variant.to_string())),
            _ => return None,
        };
        if os.is_empty() || architecture.is_empty() {
            return None;
        }
        Some(
            PlatformInfo {
                os: os.to_lowercase(),
                architecture: architecture.to_lowercase(),
                variant,
            }
            .normalized(),
        )
    }

    /// containerd's `platforms.Normalize`: Go's architecture names and each one's default variant left out.
    pub fn normalized(&self) -> PlatformInfo {
        let variant = self.variant.as_deref().unwrap_or_default();
        let (architecture, variant) = match (self.architecture.as_str(), variant) {
            ("x86_64" | "x86-64" | "amd64", "v1") => ("amd64", ""),
            ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v),
            ("aarch64" | "arm64", "8" | "v8" | "v8.0") => ("arm64", ""),
            ("aarch64" | "arm64", v) => ("arm64", v),
            ("armhf", _) => ("arm", "v7"),
            ("armel", _) => ("arm", "v6"),
            ("arm", "" | "7") => ("arm", "v7"),
            ("arm", v @ ("5" | "6" | "8")) => return self.with("arm", &format!("v{v}")),
            ("i386", v) => ("386", v),
            (arch, v) => (arch, v),
        };
        self.with(architecture, variant)
    }

    fn with(&self, architecture: &str, variant: &str) -> PlatformInfo {
        PlatformInfo {
            os: self.os.clone(),
            architecture: architecture.to_string(),
            variant: (!variant.is_empty()).then(|| variant.to_string()),
        }
    }

    /// Whether an image of platform `image` is one `self` takes, as moby's `OnlyPlatformWithFallback(self)`
    /// matches it: the same OS and architecture, and the image's variant one this variant runs (an x86-64-v3 CPU
    /// runs `v2` images; `arm/v7` runs `arm/v6`). An image config without a variant matches on OS and
    /// architecture alone (most configs name none).
    pub fn accepts(&self, image: &PlatformInfo) -> bool {
        let (want, got) = (self.normalized(), image.normalized());
        if want.os != got.os || want.architecture != got.architecture {
            return false;
        }
        let level = |v: &str| v.trim_start_matches('v').parse::<u32>().ok();
        match (want.variant.as_deref(), got.variant.as_deref()) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(w), Some(g)) => match (level(w), level(g)) {
                (Some(w), Some(g)) => g <= w,
                _ => w == g,
            },
        }
    }

    /// moby's warning when a container is created without `--platform` from an image of another platform than
    /// the host's (`self`): `daemon/create.go`.
    pub fn mismatch_warning(&self, image: &PlatformInfo) -> String {
        format!(
            "The requested image's platform ({image}) does not match the detected host platform ({self}) and no specific platform was requested"
        )
    }

    /// moby's `GetImage` refusal when the image a reference names is not of the platform asked for
    /// (`daemon/images/image.go`; a not-found error, so the docker CLI pulls and tries again).
    pub fn mismatch_error(&self, reference: &str, image: &PlatformInfo) -> String {
        format!(
            "image with reference {reference} was found but does not match the specified platform: wanted {self}, actual: {image}"
        )
    }
}

impl std::fmt::Display for PlatformInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
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
    fn platforms_parse_and_match_as_containerd_and_moby_do() {
        let p = |text: &str| PlatformInfo::parse(text).unwrap();
        assert_eq!(p("linux/arm64/v8").to_string(), "linux/arm64");
        assert_eq!(p("linux/x86_64").to_string(), "linux/amd64");
        assert_eq!(p("linux/arm").to_string(), "linux/arm/v7");
        assert_eq!(p("linux/amd64/v1").to_string(), "linux/amd64");
        assert!(PlatformInfo::parse("linux").is_none() && PlatformInfo::parse("/amd64").is_none());
        let host = p("linux/amd64/v3");
        assert!(host.accepts(&p("linux/amd64")) && host.accepts(&p("linux/amd64/v2")));
        assert!(!host.accepts(&p("linux/amd64/v4")) && !host.accepts(&p("linux/arm64")));
        assert!(p("linux/arm64").accepts(&p("linux/arm64/v8")));
        assert!(!p("linux/amd64").accepts(&p("linux/amd64/v2")));
        assert_eq!(
            host.mismatch_warning(&p("linux/arm64")),
            "The requested image's platform (linux/arm64) does not match the detected host platform (linux/amd64/v3) and no specific platform was requested"
        );
        assert_eq!(
            p("linux/arm64").mismatch_error("alpine", &p("linux/amd64")),
            "image with reference alpine was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64"
        );
        let info: ServerInfo = serde_json::from_str(
            r#"{"name":"slipway","version":"0","runtime":{"unavailable":{"reason":"x"}},"registry":{}}"#,
        )
        .unwrap();
        assert_eq!(info.platform, None, "an older companion's info still reads");
    }

    #[test]
    fn unavailable_runtime_names_its_reason() {
        let info = RuntimeInfo::Unavailable {
            reason: "neither runc nor crun on PATH".into(),
        };
        assert_eq!(info.summary(), "none (neither runc nor crun on PATH)");
    }
}
