//! The background collector of `slipway serve`: on an interval, removes what strangers left behind.
//!
//! That is registry upload sessions untouched for longer than `--upload-grace` (a client that started a push and
//! went away), unpacked layers no container uses and none used for `--layer-grace`, and the containers of
//! sessions that expired (their owner left: their slots, memory and ports come back). The filesystem work runs
//! in `spawn_blocking`, never on the async workers, and takes the locks the users take: an upload session's lock
//! (a session being written to is kept), and the runner's creation gate and per-layer lock (a layer handed to a
//! container being created, or being unpacked, is kept).

use std::sync::Arc;
use std::time::Duration;

use crate::registry::gc::{collect_stale_uploads, UploadsFreed};
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
}

impl CollectorConfig {
    /// How often the collector looks: a tenth of the shorter grace, between 1 second and 1 minute, so nothing
    /// outlives its grace by much more than a tenth and a long grace does not mean a busy loop.
    pub fn interval(&self) -> Duration {
        (self.upload_grace.min(self.layer_grace) / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

/// Start the collector on the current tokio runtime; it runs until the runtime shuts down. Without a runner
/// (no usable OCI runtime) only upload sessions are collected.
pub fn start(
    store: Arc<Store>,
    runner: Option<Arc<Runner>>,
    sessions: Arc<Sessions>,
    config: CollectorConfig,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(config.interval());
        // A slow pass (a disk under load) must not be followed by a burst of catch-up passes.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Some(runner) = &runner {
                remove_expired_sessions_containers(runner, &sessions).await;
            }
            let (store, runner) = (store.clone(), runner.clone());
            match tokio::task::spawn_blocking(move || collect_once(&store, runner.as_deref(), &config)).await
            {
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
}

/// One pass: upload sessions, then layers, each logging what it freed. Blocking.
fn collect_once(store: &Store, runner: Option<&Runner>, config: &CollectorConfig) {
    match collect_stale_uploads(store, config.upload_grace.as_secs()) {
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
    let Some(runner) = runner else { return };
    match runner.collect_unused_layers(config.layer_grace) {
        Ok(freed) if freed.digests.is_empty() => {}
        Ok(freed) => {
            tracing::info!(layers = freed.digests.len(), digests = ?freed.digests, "collected unused layers")
        }
        Err(e) => tracing::warn!(error = %e, "collecting unused layers"),
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
            }
            .interval()
        };
        assert_eq!(every(3600, 3600), Duration::from_secs(60));
        assert_eq!(every(100, 3600), Duration::from_secs(10));
        assert_eq!(every(3600, 50), Duration::from_secs(5));
        assert_eq!(every(1, 3600), Duration::from_secs(1));
    }
}
