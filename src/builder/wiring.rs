//! The one place a [`Builder`] is put together, for every caller: the page, `slipway docker build`,
//! `slipway build` and the server's commands. Callers pick where bases come from, where RUN runs and where the
//! image goes; [`Workshop`] adds what comes from where the build runs, and [`CompanionLink`] holds the parts
//! that talk to the companion.

use std::cell::RefCell;

use super::engine::Builder;
use super::pack::LayerPacker;
use super::progress::{Event, PlainRenderer};
use super::resolve::{BaseResolver, RegistryResolver};
use super::run::{CompanionExecutor, RunExecutor};
use super::sink::RegistrySink;
use super::CacheStore;
use crate::registry::{Client, Transport};

/// What a build takes from where it runs: its step cache, how layers are packed (inline natively, Web
/// Workers in the page) and a clock for step durations.
pub struct Workshop<'a, C: CacheStore> {
    pub cache: &'a C,
    pub packer: &'a dyn LayerPacker,
    /// Milliseconds from any fixed point.
    pub clock: &'a dyn Fn() -> u64,
}

impl<'a, C: CacheStore> Workshop<'a, C> {
    /// A builder that resolves FROM through `resolver`, runs RUN through `executor` and reports to `progress`.
    pub fn builder<R: BaseResolver, X: RunExecutor>(
        &self,
        resolver: &'a R,
        executor: &'a X,
        progress: &'a dyn Fn(&Event),
    ) -> Builder<'a, R, X, C> {
        Builder {
            resolver,
            executor,
            cache: self.cache,
            packer: self.packer,
            clock: self.clock,
            progress,
        }
    }
}

/// The companion as a build uses it: FROM resolves through its registry, RUN runs on it, and the image goes
/// to the session's local repository in its registry.
pub struct CompanionLink<T: Transport> {
    transport: T,
    client: Client<T>,
    /// The companion's base URL ("" in the page: its own origin).
    base: String,
    /// Names the session's local repositories.
    session_key: String,
    /// The local repository RUN layers are linked to.
    repository: String,
}

impl<T: Transport + Clone> CompanionLink<T> {
    pub fn new(transport: T, base: &str, session_key: String, repository: String) -> Self {
        CompanionLink {
            client: Client::new(transport.clone(), base, None),
            transport,
            base: base.to_owned(),
            session_key,
            repository,
        }
    }

    pub fn resolver(&self) -> RegistryResolver<'_, T> {
        RegistryResolver {
            client: &self.client,
            session_key: self.session_key.clone(),
        }
    }

    pub fn executor(&self) -> CompanionExecutor<'_, T> {
        CompanionExecutor {
            transport: &self.transport,
            base: self.base.clone(),
            registry: &self.client,
            repository: self.repository.clone(),
        }
    }

    pub fn sink(&self) -> RegistrySink<'_, T> {
        RegistrySink {
            client: &self.client,
            session_key: self.session_key.clone(),
        }
    }
}

/// BuildKit's plain progress text of each event, handed to `out` as it is rendered; nothing when `quiet`.
pub fn plain_progress<'a>(quiet: bool, out: impl Fn(&str) + 'a) -> impl Fn(&Event) + 'a {
    let renderer = RefCell::new(PlainRenderer::new());
    move |e: &Event| {
        if quiet {
            return;
        }
        let chunk = {
            let mut r = renderer.borrow_mut();
            r.event(e);
            r.take()
        };
        out(&chunk);
    }
}
