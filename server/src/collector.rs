//! The background collector of `slipway serve`: on an interval, removes what strangers left behind.
//!
//! Today that is registry upload sessions untouched for longer than `--upload-grace` (a client that started a
//! push and went away). The filesystem work runs in `spawn_blocking`, never on the async workers, and takes the
//! same per-session lock the upload requests take, so a session being written to is never removed.

use std::sync::Arc;
use std::time::Duration;

use crate::registry::gc::{collect_stale_uploads, UploadsFreed};
use crate::registry::Store;

/// What the collector removes and after how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectorConfig {
    /// Upload sessions untouched for this long are removed.
    pub upload_grace: Duration,
}

impl CollectorConfig {
    /// How often the collector looks: a tenth of the grace, between 1 second and 1 minute, so nothing outlives
    /// its grace by much more than a tenth and a long grace does not mean a busy loop.
    pub fn interval(&self) -> Duration {
        (self.upload_grace / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

/// Start the collector on the current tokio runtime; it runs until the runtime shuts down.
pub fn start(store: Arc<Store>, config: CollectorConfig) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(config.interval());
        // A slow pass (a disk under load) must not be followed by a burst of catch-up passes.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let store = store.clone();
            let grace = config.upload_grace.as_secs();
            match tokio::task::spawn_blocking(move || collect_stale_uploads(&store, grace)).await {
                Ok(Ok(UploadsFreed { sessions: 0, .. })) => {}
                Ok(Ok(freed)) => {
                    tracing::info!(
                        sessions = freed.sessions,
                        bytes = freed.bytes,
                        "collected stale upload sessions"
                    )
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "collecting stale upload sessions"),
                Err(e) => tracing::warn!(error = %e, "the upload collector's pass panicked"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_follows_the_grace_within_bounds() {
        let every = |grace| {
            CollectorConfig {
                upload_grace: Duration::from_secs(grace),
            }
            .interval()
        };
        assert_eq!(every(3600), Duration::from_secs(60));
        assert_eq!(every(100), Duration::from_secs(10));
        assert_eq!(every(1), Duration::from_secs(1));
    }
}
