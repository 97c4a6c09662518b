//! FROM an image: a trait that resolves a reference to its config and layers for a platform, and its
//! implementation over the registry client (the session's local repository first, then the registry, as
//! `docs/local-images.md` says).

use oci_spec::image::{ImageConfiguration, ImageManifest};

use super::rootfs::LayerRef;
use super::{BaseError, BuildError};
use crate::image::local_store::local_repository;
use crate::image::Reference;
use crate::registry::{Client, ClientError, Transport};

/// A platform as `--platform` and `FROM --platform` spell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// The platform containers run on here: the host's natively (`linux/amd64` or `linux/arm64`); in the page, which
/// has no host to ask, `linux/amd64`.
impl Default for Platform {
    fn default() -> Self {
        let architecture = match std::env::consts::ARCH {
            "aarch64" => "arm64",
            "arm" => "arm",
            _ => "amd64",
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }
}

/// containerd's `knownOS` (`platforms/database.go`).
const KNOWN_OS: [&str; 18] = [
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];

/// containerd's `knownArch`, after `normalizeArch` (`x86_64` is `amd64`, `aarch64` `arm64`, ...).
const KNOWN_ARCH: [&str; 25] = [
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
    "wasm32",
];

impl Platform {
    /// `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`, or one part as containerd's `platforms.Parse` reads
    /// it, the rest from this machine's platform ([`Platform::parse_on`]).
    pub fn parse(text: &str) -> Result<Platform, BuildError> {
        Platform::parse_on(text, &Platform::default())
    }

    /// As [`Platform::parse`], one part completed from `host` (the companion's platform, where images run): a
    /// known OS (`linux`) takes the host's architecture, a known architecture (`arm64`, `x86_64`) the OS
    /// `linux`; anything else is containerd's `unknown operating system or architecture`.
    pub fn parse_on(text: &str, host: &Platform) -> Result<Platform, BuildError> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let bad = || BuildError::Platform(text.to_owned());
        match parts.as_slice() {
            [one] => {
                let one = one.to_ascii_lowercase();
                let os = if one == "macos" {
                    "darwin".to_owned()
                } else {
                    one.clone()
                };
                if KNOWN_OS.contains(&os.as_str()) {
                    return Ok(Platform { os, ..host.clone() });
                }
                let arch = match one.as_str() {
                    "x86_64" | "x86-64" => "amd64",
                    "aarch64" => "arm64",
                    "armhf" | "armel" => "arm",
                    "i386" => "386",
                    other => other,
                };
                match KNOWN_ARCH.contains(&arch) {
                    true => Ok(Platform {
                        os: "linux".into(),
                        architecture: arch.into(),
                        variant: None,
                    }),
                    false => Err(BuildError::UnknownPlatform(text.to_owned())),
                }
            }
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(variant.to_string()),
            }),
            _ => Err(bad()),
        }
    }
}

impl Platform {
    /// containerd's normalized form, as docker prints it in errors: `linux/arm64` is `linux/arm64/v8`.
    pub fn normalized(&self) -> String {
        match (self.architecture.as_str(), &self.variant) {
            ("arm64", None) => format!("{}/arm64/v8", self.os),
            _ => self.to_string(),
        }
    }

    /// Whether an index entry's `platform` (OCI JSON: `os`, `architecture`, `variant`) is this one (arm64's
    /// `v8` is its default variant).
    pub fn matches(&self, entry: &serde_json::Value) -> bool {
        let arch = entry["architecture"].as_str().unwrap_or_default();
        let norm = |v: Option<&str>| match (v, arch) {
            (None, "arm64") => Some("v8".to_owned()),
            (v, _) => v.map(str::to_owned),
        };
        let variant_ok = (self.variant.is_none() && arch != "arm64")
            || norm(entry["variant"].as_str()) == norm(self.variant.as_deref());
        entry["os"].as_str() == Some(self.os.as_str()) && arch == self.architecture && variant_ok
    }

    /// The digest of `index`'s manifest for this platform, or docker's error when it has none.
    pub fn choose(&self, index: &serde_json::Value) -> Result<String, NoMatchingManifest> {
        index["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| self.matches(&m["platform"]))
            .and_then(|m| m["digest"].as_str().map(str::to_owned))
            .ok_or_else(|| NoMatchingManifest(self.normalized()))
    }
}

/// An index without the platform asked for: docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no matching manifest for {0} in the manifest list entries")]
pub struct NoMatchingManifest(pub String);

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A base image, resolved.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// `docker.io/library/busybox:latest@sha256:...`, as BuildKit prints it in the FROM step.
    pub pinned: String,
    pub manifest_digest: String,
    pub config: ImageConfiguration,
    /// The config as JSON, for the Docker fields OCI lacks (`Healthcheck`, `OnBuild`, `Shell`).
    pub config_json: serde_json::Value,
    pub layers: Vec<LayerRef>,
}

/// Resolves base images and fetches their blobs.
#[allow(async_fn_in_trait)]
pub trait BaseResolver {
    async fn resolve(&self, reference: &Reference, platform: &Platform) -> Result<ResolvedImage, BuildError>;
    async fn blob(&self, repository: &str, digest: &str) -> Result<Vec<u8>, BuildError>;
}

/// No registry at all: FROM an image fails with a clear message; FROM scratch builds work.
pub struct NoRegistry;

impl BaseResolver for NoRegistry {
    async fn resolve(&self, reference: &Reference, _: &Platform) -> Result<ResolvedImage, BuildError> {
        Err(BuildError::NeedsRegistry(format!(
            "FROM {}",
            reference.familiar()
        )))
    }

    async fn blob(&self, repository: &str, digest: &str) -> Result<Vec<u8>, BuildError> {
        Err(BuildError::NeedsRegistry(format!(
            "reading layer {digest} of {repository}"
        )))
    }
}

/// Resolves through the companion's registry: the session's local repository, then the registry's own
/// repository (`library/python`, pull-through for Docker Hub names when the companion is online).
pub struct RegistryResolver<'a, T: Transport> {
    pub client: &'a Client<T>,
    pub session_key: String,
}

/// The repository a reference has in the companion's registry (its pull-through names other registries by
/// host: `ghcr.io/a/b`).
pub fn registry_repository(reference: &Reference) -> String {
    if reference.is_docker_hub() {
        reference.repository().to_owned()
    } else {
        format!("{}/{}", reference.registry(), reference.repository())
    }
}

/// The code of the error an index without the build's platform gives (not a missing image).
const NO_PLATFORM: &str = "NO_MATCHING_PLATFORM";

fn not_found(e: &ClientError) -> bool {
    match e {
        ClientError::Registry { code, .. } if code == NO_PLATFORM => false,
        ClientError::Registry { status: 404, .. } | ClientError::Unexpected { status: 404, .. } => true,
        _ => false,
    }
}

impl<T: Transport> RegistryResolver<'_, T> {
    async fn resolve_in(
        &self,
        repository: &str,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<ResolvedImage, ClientError> {
        let tag_or_digest = match reference.digest() {
            Some(d) => d.to_string(),
            None => reference.tag().unwrap_or("latest").to_owned(),
        };
        let mut pulled = self.client.pull_manifest(repository, &tag_or_digest).await?;
        let top_digest = pulled.digest.clone();
        let value: serde_json::Value = serde_json::from_slice(&pulled.bytes).unwrap_or_default();
        if value.get("manifests").is_some() {
            // BuildKit's words (`docker pull` says docker's, `NoMatchingManifest`).
            let chosen = platform.choose(&value).map_err(|_| ClientError::Registry {
                status: 404,
                code: NO_PLATFORM.into(),
                message: format!("no match for platform in manifest {top_digest}: not found"),
            })?;
            pulled = self.client.pull_manifest(repository, &chosen).await?;
        }
        let manifest: ImageManifest =
            serde_json::from_slice(&pulled.bytes).map_err(|e| bad(repository, e))?;
        let config_bytes = self
            .client
            .pull_blob(repository, manifest.config().digest().as_ref())
            .await?;
        let config: ImageConfiguration =
            serde_json::from_slice(&config_bytes).map_err(|e| bad(repository, e))?;
        let config_json = serde_json::from_slice(&config_bytes).unwrap_or_default();
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != manifest.layers().len() {
            return Err(bad(repository, "layer count and diff_ids differ"));
        }
        let layers = manifest
            .layers()
            .iter()
            .zip(diff_ids)
            .map(|(d, diff_id)| {
                Ok(LayerRef {
                    descriptor: d.clone(),
                    diff_id: diff_id.parse().map_err(|e| bad(repository, e))?,
                    blob: None,
                    repository: Some(repository.to_owned()),
                })
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        let name = match reference.tag() {
            Some(tag) => format!("{}:{tag}", reference.name()),
            None => reference.name(),
        };
        Ok(ResolvedImage {
            pinned: format!("{name}@{top_digest}"),
            manifest_digest: top_digest,
            config,
            config_json,
            layers,
        })
    }
}

fn bad(repository: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Registry {
        status: 0,
        code: "MANIFEST_INVALID".into(),
        message: format!("{repository}: {e}"),
    }
}

impl<T: Transport> BaseResolver for RegistryResolver<'_, T> {
    async fn resolve(&self, reference: &Reference, platform: &Platform) -> Result<ResolvedImage, BuildError> {
        let local = local_repository(&self.session_key, reference);
        match self.resolve_in(&local, reference, platform).await {
            Ok(image) => return Ok(image),
            Err(e) if not_found(&e) => {}
            Err(e) => return Err(base_error(reference, e.into())),
        }
        self.resolve_in(&registry_repository(reference), reference, platform)
            .await
            .map_err(|e| {
                let source = match e {
                    ClientError::Registry { code, message, .. } if code == NO_PLATFORM => {
                        BaseError::NoMatchingPlatform {
                            name: reference.name()
                                + &reference.tag().map(|t| format!(":{t}")).unwrap_or_default(),
                            message,
                        }
                    }
                    e if not_found(&e) => BaseError::NotFound(
                        reference.name() + &reference.tag().map(|t| format!(":{t}")).unwrap_or_default(),
                    ),
                    e => e.into(),
                };
                base_error(reference, source)
            })
    }

    async fn blob(&self, repository: &str, digest: &str) -> Result<Vec<u8>, BuildError> {
        self.client
            .pull_blob(repository, digest)
            .await
            .map_err(BuildError::Registry)
    }
}

/// A base image that could not be resolved, named as the Dockerfile has it.
pub(super) fn base_error(reference: &Reference, source: BaseError) -> BuildError {
    BuildError::Base {
        image: reference.familiar(),
        source,
    }
}

#[cfg(test)]
mod platform_tests {
    use super::*;

    /// containerd's `platforms.Parse` with one part: a known OS takes the host's architecture, a known
    /// architecture (or Go's alias of one) the OS linux, anything else is refused in its words.
    #[test]
    fn one_part_is_completed_from_the_host_as_containerd_does() {
        let arm = Platform::parse("linux/arm64/v8").unwrap();
        let on_arm = |text: &str| Platform::parse_on(text, &arm).map(|p| p.to_string());
        assert_eq!(on_arm("linux").unwrap(), "linux/arm64/v8");
        assert_eq!(on_arm("Windows").unwrap(), "windows/arm64/v8");
        assert_eq!(on_arm("amd64").unwrap(), "linux/amd64");
        assert_eq!(on_arm("x86_64").unwrap(), "linux/amd64");
        assert_eq!(on_arm("aarch64").unwrap(), "linux/arm64");
        assert_eq!(
            on_arm("nope").unwrap_err().to_string(),
            "\"nope\": unknown operating system or architecture: invalid argument"
        );
        assert_eq!(on_arm("linux/386").unwrap(), "linux/386");
    }

    #[test]
    fn an_index_gives_the_platform_asked_for_or_dockers_error() {
        let index = serde_json::json!({"manifests": [
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"digest": "sha256:v7", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        ]});
        let pick = |p: &str| Platform::parse(p).unwrap().choose(&index);
        assert_eq!(pick("linux/amd64").unwrap(), "sha256:amd");
        assert_eq!(pick("linux/arm64").unwrap(), "sha256:arm");
        assert_eq!(pick("linux/arm64/v8").unwrap(), "sha256:arm");
        assert_eq!(pick("linux/arm/v7").unwrap(), "sha256:v7");
        assert_eq!(
            pick("linux/arm/v6").unwrap_err().to_string(),
            "no matching manifest for linux/arm/v6 in the manifest list entries"
        );
        let amd_only = serde_json::json!({"manifests": [
            {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}}]});
        assert_eq!(
            Platform::parse("linux/arm64")
                .unwrap()
                .choose(&amd_only)
                .unwrap_err()
                .to_string(),
            "no matching manifest for linux/arm64/v8 in the manifest list entries"
        );
        let host = Platform::default();
        assert_eq!(host.os, "linux");
        assert!(
            ["amd64", "arm64", "arm"].contains(&host.architecture.as_str()),
            "{host}"
        );
    }
}
