//! The background collector of `slipway serve`: on an interval, removes what strangers left behind.
//!
//! That is registry upload sessions untouched for longer than `--upload-grace` (a client that started a push and
//! went away), the local image stores (`slipway-local/KEY/`) of sessions expired for `--local-store-grace` and
//! then the registry blobs no repository links any more (older than the same grace, `registry/gc.rs`), unpacked
//! layers no container uses and none used for `--layer-grace`, RUN steps' blobs untouched for
//! `--step-blob-grace` (`runner/layer_gc.rs`), and the containers of sessions that expired (their owner left:
//! their slots, memory and ports come back). The filesystem work runs in `spawn_blocking`, never on the async
//! workers, and takes the locks the users take: an upload session's lock (a session being written to is kept),
//! and the runner's creation gate and per-layer lock (a layer or step blob handed to a container being created,
//! or being unpacked, is kept).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::registry::gc::{
    collect_stale_uploads, collect_unlinked, local_store_keys, remove_local_stores, UploadsFreed,
};
use crate::registry::Store;
use crate::runner::Runner;
use crate::sessions::Sessions;

/// What the collector removes and after how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Upload sessions untouched for this long are removed.
    pub upload_grace: Duration,
    /// Unpacked layers no container uses are removed once unused for this long.
    pub layer_grace: Duration,
    /// An expired session's local store is removed once it has been expired this long; registry blobs no
    /// repository links are removed once this old.
    pub local_store_grace: Duration,
    /// RUN steps' blobs in the runner's store are removed once neither written nor stacked for this long.
    pub step_blob_grace: Duration,
}

impl CollectorConfig {
    /// How often the collector looks: a tenth of the shortest grace, between 1 second and 1 minute, so nothing
    /// outlives its grace by much more than a tenth and a long grace does not mean a busy loop.
    pub fn interval(&self) -> Duration {
        let shortest = [self.layer_grace, self.local_store_grace, self.step_blob_grace]
            .into_iter()
            .fold(self.upload_grace, Duration::min);
        (shortest / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

/// What a pass needs, and the local stores found without a live session (since when).
struct Collector {
    store: Arc<Store>,
    runner: Option<Arc<Runner>>,
    sessions: Arc<Sessions>,
    config: CollectorConfig,
    expired_since: Mutex<HashMap<String, Instant>>,
}

/// Start the collector on the current tokio runtime; it runs until the runtime shuts down. Without a runner
/// (no usable OCI runtime) only upload sessions are collected.
pub fn start(
    store: Arc<Store>,
    runner: Option<Arc<Runner>>,
    sessions: Arc<Sessions>,
    config: CollectorConfig,
) -> tokio::task::JoinHandle<()> {
    let collector = Arc::new(Collector {
        store,
        runner,
        sessions,
        config,
        expired_since: Mutex::default(),
    });
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(config.interval());
        // A slow pass (a disk under load) must not be followed by a burst of catch-up passes.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Some(runner) = &collector.runner {
                remove_expired_sessions_containers(runner, &collector.sessions).await;
            }
            let collector = collector.clone();
            match tokio::task::spawn_blocking(move || collector.collect_once()).await {
                Ok(()) => {}
                Err(e) => tracing::warn!(error = %e, "a collector pass panicked"),
            }
        }
    })
}

/// Containers whose session expired (or was never issued by this server run) are removed as `docker rm -f`
/// removes them: nobody can reach them any more, and they would hold slots, memory and published ports.
async fn remove_expired_sessions_containers(runner: &Runner, sessions: &Sessions) {
    for container in runner.orphans(|session| sessions.is_live(session)) {
        match runner.remove(&container, true).await {
            Ok(()) => tracing::info!(id = %container.id, "removed a container whose session expired"),
            Err(e) => {
                tracing::warn!(id = %container.id, error = %e, "removing a container whose session expired")
            }
        }
    }
    runner.events.forget_sessions(|session| sessions.is_live(session));
    let networks = runner
        .networks
        .remove_orphans(|session| sessions.is_live(session));
    if networks > 0 {
        tracing::info!(networks, "removed the networks of expired sessions");
    }
}

/// The local store keys in `on_disk` whose session is not in `live` and that have been so for `grace`;
/// `expired_since` remembers since when (from the first pass that saw it: after a restart, the grace starts
/// again for stores whose session did not survive).
fn stores_to_remove(
    on_disk: Vec<String>,
    live: &HashSet<String>,
    expired_since: &mut HashMap<String, Instant>,
    now: Instant,
    grace: Duration,
) -> Vec<String> {
    expired_since.retain(|key, _| !live.contains(key));
    let mut due = Vec::new();
    for key in on_disk {
        if live.contains(&key) {
            continue;
        }
        let since = *expired_since.entry(key.clone()).or_insert(now);
        if now.saturating_duration_since(since) >= grace {
            expired_since.remove(&key);
            due.push(key);
        }
    }
    due
}

impl Collector {
    /// One pass: upload sessions, expired local stores and unlinked blobs, then layers and step blobs, each
    /// logging what it freed. Blocking.
    fn collect_once(&self) {
        let config = &self.config;
        match collect_stale_uploads(&self.store, config.upload_grace.as_secs()) {
            Ok(UploadsFreed { sessions: 0, .. }) => {}
            Ok(freed) => {
                tracing::info!(
                    sessions = freed.sessions,
                    bytes = freed.bytes,
                    "collected stale upload sessions"
                )
            }
            Err(e) => tracing::warn!(error = %e, "collecting stale upload sessions"),
        }
        self.collect_local_stores();
        let Some(runner) = &self.runner else { return };
        match runner.collect_unused_layers(config.layer_grace) {
            Ok(freed) if freed.digests.is_empty() => {}
            Ok(freed) => {
                tracing::info!(layers = freed.digests.len(), digests = ?freed.digests, "collected unused layers")
            }
            Err(e) => tracing::warn!(error = %e, "collecting unused layers"),
        }
        match runner.collect_step_blobs(config.step_blob_grace) {
            Ok(freed) if freed.blobs == 0 => {}
            Ok(freed) => tracing::info!(
                blobs = freed.blobs,
                bytes = freed.bytes,
                "collected RUN step blobs"
            ),
            Err(e) => tracing::warn!(error = %e, "collecting RUN step blobs"),
        }
    }

    /// Expired sessions' local stores, then the registry blobs nobody links any more.
    fn collect_local_stores(&self) {
        let grace = self.config.local_store_grace;
        let due = local_store_keys(&self.store).map(|on_disk| {
            let live = self.sessions.live_keys();
            let mut since = self.expired_since.lock().unwrap_or_else(|e| e.into_inner());
            stores_to_remove(on_disk, &live, &mut since, Instant::now(), grace)
        });
        match due
            .map_err(Into::into)
            .and_then(|keys| remove_local_stores(&self.store, &keys))
        {
            Ok(0) => {}
            Ok(repositories) => tracing::info!(repositories, "collected expired sessions' local images"),
            Err(e) => tracing::warn!(error = %e, "collecting expired sessions' local images"),
        }
        match collect_unlinked(&self.store, grace.as_secs()) {
            Ok(freed) => {
                if freed.blobs > 0 {
                    tracing::info!(
                        blobs = freed.blobs,
                        bytes = freed.bytes,
                        "collected registry blobs no repository links"
                    );
                }
                if freed.restored > 0 {
                    tracing::info!(
                        blobs = freed.restored,
                        "put back blobs linked while being collected"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "collecting registry blobs"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_follows_the_grace_within_bounds() {
        let every = |uploads, layers| {
            CollectorConfig {
                upload_grace: Duration::from_secs(uploads),
                layer_grace: Duration::from_secs(layers),
                local_store_grace: Duration::from_secs(3600),
                step_blob_grace: Duration::from_secs(7200),
            }
            .interval()
        };
        assert_eq!(every(3600, 3600), Duration::from_secs(60));
        assert_eq!(every(100, 3600), Duration::from_secs(10));
        assert_eq!(every(3600, 50), Duration::from_secs(5));
        assert_eq!(every(1, 3600), Duration::from_secs(1));
    }

    #[test]
    fn a_store_goes_a_grace_after_its_session_is_gone_and_a_live_ones_never() {
        let grace = Duration::from_secs(10);
        let start = Instant::now();
        let mut since = HashMap::new();
        let live: HashSet<String> = ["alive".to_string()].into();
        let on_disk = || vec!["alive".to_string(), "gone".to_string()];
        assert!(stores_to_remove(on_disk(), &live, &mut since, start, grace).is_empty());
        let later = start + Duration::from_secs(9);
        assert!(stores_to_remove(on_disk(), &live, &mut since, later, grace).is_empty());
        let due = stores_to_remove(on_disk(), &live, &mut since, start + grace, grace);
        assert_eq!(due, ["gone"]);
        assert!(since.is_empty());

        // A session seen live again (a restart that kept it) starts over.
        let mut since = HashMap::from([("back".to_string(), start)]);
        let live: HashSet<String> = ["back".to_string()].into();
        assert!(stores_to_remove(vec!["back".into()], &live, &mut since, start + grace, grace).is_empty());
        assert!(since.is_empty());
    }
}
