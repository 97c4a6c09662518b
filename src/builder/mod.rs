//! The image builder: a Dockerfile and a context [`FileTree`](crate::layer::FileTree) in, an OCI image out,
//! with the same code in the browser and natively. Side effects sit behind narrow traits: base images
//! ([`BaseResolver`]), RUN steps ([`RunExecutor`]), the cache ([`CacheStore`]) and the output ([`ImageSink`]).
//!
//! Layers made from the context (COPY, ADD, WORKDIR) are assembled and hashed here; RUN goes to the companion.
//! The config and `history` follow BuildKit's Dockerfile front end field by field (`docs/building.md` lists
//! the deliberate differences).

pub mod add_url;
mod builder_io;
mod cache;
mod checks;
mod context;
mod engine;
pub mod history;
mod layers;
mod mounts;
mod pack;
mod progress;
mod resolve;
mod rootfs;
mod run;
mod sink;
mod state;
mod steps;
mod store;
mod wiring;

use std::collections::BTreeMap;

#[cfg(not(target_arch = "wasm32"))]
pub use cache::DirCache;
pub use cache::{CacheStore, CachedLayer, CachedStep, MemoryCache, PlaceRecord};
pub use context::{apply_dockerignore, context_size};
pub use engine::Builder;
pub use mounts::{parse_mount, Mount, MountKind, Secrets};
pub use pack::{InlinePacker, LayerPacker, PackFuture, Packed};
pub use progress::{Event, MissReason, PlainRenderer};
pub use resolve::{
    registry_repository, BaseResolver, NoMatchingManifest, NoRegistry, Platform, RegistryResolver,
    ResolvedImage,
};
pub use rootfs::{apply_layer, resolve_owner, LayerRef, Rootfs};
pub use run::{CompanionExecutor, NoCompanion, RunExecutor, StepOutcome, StepRequest};
pub use sink::{BuiltImage, ImageSink, MemorySink, RegistrySink};
pub use store::{archive, find_in, BothSinks, KeyValueStore, LocalStore, StoreError, StoreSink};
pub use wiring::{plain_progress, CompanionLink, Workshop};

use crate::image::{Format, Reference};

/// Why a build failed. Messages follow BuildKit's where it has one.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("dockerfile parse error on line {line}: {message}")]
    Dockerfile { line: usize, message: String },
    #[error(transparent)]
    Target(#[from] crate::dockerfile::stages::TargetError),
    /// A stage the target needs was skipped: a bug in the stage graph, never the Dockerfile's fault.
    #[error("the target stage was not built")]
    TargetNotBuilt,
    #[error("line {line}: {message}")]
    Instruction { line: usize, message: String },
    #[error("invalid platform {0:?}: expected os/arch, e.g. linux/amd64")]
    Platform(String),
    /// One part that is neither an OS nor an architecture: containerd's `platforms.Parse` words.
    #[error("{0:?}: unknown operating system or architecture: invalid argument")]
    UnknownPlatform(String),
    #[error("{0}: needs a registry to resolve images, and this build has none")]
    NeedsRegistry(String),
    #[error("RUN {0}: RUN steps need the Slipway companion server, which is not connected (builds without RUN work without it)")]
    NeedsCompanion(String),
    #[error("the companion could not run the step: {0}")]
    Companion(#[from] StepError),
    #[error("{image}: {source}")]
    Base {
        /// The image as the Dockerfile names it (`python:3.12`).
        image: String,
        #[source]
        source: BaseError,
    },
    #[error("registry: {0}")]
    Registry(#[from] crate::registry::ClientError),
    /// Reading the page's own image store (IndexedDB).
    #[error("registry: {0}")]
    Store(#[from] StoreError),
    /// The image was built but the page's store refused to keep it.
    #[error("registry: keeping the image in this browser: {0}")]
    KeepInBrowser(#[source] StoreError),
    #[error("registry: layer {digest} has no repository to be read from")]
    LayerWithoutSource { digest: String },
    #[error("registry: layer {digest} is neither in this build nor in a known repository")]
    LayerNowhere { digest: String },
    /// Writing the image where the caller asked (an OCI layout, an archive file) failed.
    #[error("registry: {0}")]
    Output(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("invalid user {spec:?}: {reason}")]
    OwnerUnknown { spec: String, reason: String },
    #[error("process \"{command}\" did not complete successfully: exit code: {exit_code}")]
    RunFailed {
        command: String,
        exit_code: i32,
        output: String,
    },
    #[error(transparent)]
    Copy(#[from] crate::layer::copy::CopyError),
    #[error(transparent)]
    Extract(#[from] crate::layer::ExtractError),
    #[error(transparent)]
    Layer(#[from] crate::layer::LayerError),
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    /// A step asks for what needs an entitlement (`network.host`, `security.insecure`): BuildKit's words.
    #[error("{0} is not allowed")]
    NotAllowed(&'static str),
    /// A value BuildKit refuses as the build runs (its words, e.g. `secret X not found: not found`).
    #[error("{0}")]
    Unsupported(String),
    /// `# check=error=true` and BuildKit's checks warned (the rules, sorted).
    #[error("lint violation found for rules: {0}")]
    LintViolation(String),
}

/// Why a base image (FROM) could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error(transparent)]
    Registry(#[from] crate::registry::ClientError),
    /// Neither the session's local images nor the registry have it.
    #[error("failed to resolve source metadata for {0}: not found")]
    NotFound(String),
    /// An index without the stage's platform (BuildKit's words).
    #[error("failed to resolve source metadata for {name}: {message}")]
    NoMatchingPlatform { name: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "not in this browser's image store, and the Slipway companion (which pulls images) is unreachable; \
         only FROM scratch and images built in this page work offline"
    )]
    Offline,
}

/// Why the companion did not run a RUN step (`BuildError::Companion`).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// An error status, before the step started or while it streamed (a quota, a full disk).
    #[error("{message} ({status})")]
    Refused { status: u16, message: String },
    /// No answer at all.
    #[error("{0}")]
    Unreachable(#[source] crate::registry::TransportError),
    /// A line of the answer that is not a step event.
    #[error("unreadable step event: {0}")]
    Unreadable(#[source] serde_json::Error),
    #[error("the companion's answer ended before the step's result")]
    NoResult,
    /// The layer the step made names a digest that is none.
    #[error("{0}")]
    LayerDigest(#[source] oci_spec::OciSpecError),
}

/// What to build and how.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The Dockerfile's text.
    pub dockerfile: String,
    /// Its name in the context, for progress (`load build definition from Dockerfile`).
    pub dockerfile_name: String,
    /// `-t`, repeatable.
    pub tags: Vec<Reference>,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    /// `--label`: labels of the final image.
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    pub platform: Platform,
    /// Media types: OCI by default, Docker schema 2 on request.
    pub format: Format,
    /// Seconds since the epoch for file times in layers made here (`SOURCE_DATE_EPOCH`, else 0).
    pub epoch: u64,
    /// Seconds since the epoch for `created` in the config and its history: `SOURCE_DATE_EPOCH` when given,
    /// else the time of the build, as BuildKit writes them ([`BuildOptions::created_at`]). 0 by default (tests).
    pub created: u64,
    /// gzip level of layers made here.
    pub gzip_level: u32,
    /// `--secret id=...`: what `RUN --mount=type=secret` reads; never in a layer, the config or the cache key.
    pub secrets: Secrets,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            dockerfile: String::new(),
            dockerfile_name: "Dockerfile".into(),
            tags: Vec::new(),
            target: None,
            build_args: BTreeMap::new(),
            labels: BTreeMap::new(),
            no_cache: false,
            platform: Platform::default(),
            format: Format::Oci,
            epoch: 0,
            created: 0,
            gzip_level: 6,
            secrets: Secrets::default(),
        }
    }
}

impl BuildOptions {
    /// `SOURCE_DATE_EPOCH` when set and numeric (natively; a browser has no environment), else 0.
    pub fn epoch_from_env() -> u64 {
        crate::layer::LayerOptions::from_env().mtime
    }

    /// `created` for a build at `now` (seconds): `SOURCE_DATE_EPOCH` when it was given, else `now`.
    pub fn created_at(source_date_epoch: Option<u64>, now: u64) -> u64 {
        source_date_epoch.unwrap_or(now)
    }

    /// `SOURCE_DATE_EPOCH` when set and numeric (natively; a browser has no environment).
    pub fn source_date_epoch() -> Option<u64> {
        std::env::var("SOURCE_DATE_EPOCH").ok()?.trim().parse().ok()
    }
}

/// Polls a future that never waits on I/O (memory stores in tests) to completion.
#[cfg(test)]
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
