//! Restart policies applied by the server, as moby's `restartmanager` applies them: when a container's process
//! exits, `always` and `unless-stopped` start it again, `on-failure[:N]` only after a non-zero exit and at most N
//! times; the delay starts at 100 ms and doubles at each restart (at most a minute), back to 100 ms once a run
//! lasted 10 s. `docker stop`, `docker kill` (SIGKILL or SIGTERM), `docker rm` and the server's own stops (the
//! wall-clock limit, class and idle lifetimes, shutdown) cancel it, as dockerd's `ExitOnNext` does; a
//! `docker start` by hand starts counting again. Containers do not outlive the server here, so the difference
//! between `always` and `unless-stopped` after a daemon restart does not arise.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slipway::api::RestartName;

use super::lifecycle::{Container, BUILD_STEP_IMAGE};
use super::Runner;

/// moby's `defaultTimeout`, `maxRestartTimeout`, and the run that resets the backoff.
const FIRST_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(60);
const RESET_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Inner {
    /// Restarts since the last start by hand (`RestartCount`).
    count: u32,
    /// The last delay (zero before the first restart).
    delay: Duration,
    /// Exited, with a restart on its way.
    restarting: bool,
    /// Stopped by hand or by the server: no restart until the next start by hand.
    canceled: bool,
    /// When the current run started.
    started: Option<Instant>,
    /// Bumped by every start by hand and cancel: a pending restart of an older generation does nothing.
    generation: u64,
}

/// A container's restart state.
#[derive(Debug, Default)]
pub struct Restarts(Mutex<Inner>);

impl Restarts {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count(&self) -> u32 {
        self.lock().count
    }

    pub fn is_restarting(&self) -> bool {
        self.lock().restarting
    }

    /// `docker start` (or `restart`) by hand: counting starts again (moby's `ResetRestartManager`).
    pub(crate) fn manual_start(&self) {
        let mut g = self.lock();
        *g = Inner {
            generation: g.generation + 1,
            ..Inner::default()
        };
    }

    /// Its process runs (a start by hand or a restart).
    pub(crate) fn running(&self) {
        self.lock().started = Some(Instant::now());
    }

    /// Stopped or killed by hand, removed, or stopped by the server: no restart (moby's `ExitOnNext`).
    pub(crate) fn cancel(&self) {
        let mut g = self.lock();
        g.canceled = true;
        g.restarting = false;
        g.generation += 1;
    }

    /// The process exited with `code`: the delay and generation of a restart when the policy wants one.
    fn should_restart(&self, policy: slipway::api::RestartPolicy, code: i32) -> Option<(Duration, u64)> {
        let mut g = self.lock();
        if g.canceled || policy.is_none() {
            return None;
        }
        if g.started.is_some_and(|s| s.elapsed() >= RESET_AFTER) {
            g.delay = Duration::ZERO;
        }
        g.delay = match g.delay {
            Duration::ZERO => FIRST_DELAY,
            d => (d * 2).min(MAX_DELAY),
        };
        let restart = match policy.name {
            RestartName::No => false,
            RestartName::Always | RestartName::UnlessStopped => true,
            RestartName::OnFailure => {
                let max = policy.maximum_retry_count;
                code != 0 && (max == 0 || g.count < max)
            }
        };
        if !restart {
            return None;
        }
        g.count += 1;
        g.restarting = true;
        g.generation += 1;
        Some((g.delay, g.generation))
    }

    /// Whether the restart of `generation` is still wanted; it is no longer pending either way.
    fn take(&self, generation: u64) -> bool {
        let mut g = self.lock();
        let wanted = g.restarting && g.generation == generation && !g.canceled;
        if g.generation == generation {
            g.restarting = false;
        }
        wanted
    }
}

impl Runner {
    /// At exit, before the state says exited: schedule a restart when the policy wants one. A container killed
    /// at the wall-clock limit is not restarted.
    pub(crate) fn after_exit(self: &Arc<Self>, c: &Arc<Container>, code: i32, timed_out: bool) {
        if c.opts.auto_remove || c.image == BUILD_STEP_IMAGE {
            return;
        }
        if timed_out {
            c.restarts.cancel();
            return;
        }
        let Some((delay, generation)) = c.restarts.should_restart(c.opts.restart, code) else {
            return;
        };
        let (this, c) = (self.clone(), c.clone());
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let listed = this.get(&c.id).is_ok_and(|found| Arc::ptr_eq(&found, &c));
            if !c.restarts.take(generation) || !listed {
                return;
            }
            if let Err(e) = this.start_again_by_policy(&c).await {
                tracing::info!(id = %c.id, error = %e, "restart by policy");
                c.exit_unstarted(e.to_string());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway::api::RestartPolicy;

    #[test]
    fn on_failure_counts_and_gives_up_and_the_delay_doubles() {
        let r = Restarts::default();
        let policy = RestartPolicy::parse("on-failure:2").unwrap();
        r.running();
        assert_eq!(r.should_restart(policy, 0), None, "exit 0 is no failure");
        let (d1, g1) = r.should_restart(policy, 1).unwrap();
        assert!(r.is_restarting() && r.take(g1) && !r.is_restarting());
        let (d2, _) = r.should_restart(policy, 1).unwrap();
        assert_eq!((d1, d2), (Duration::from_millis(200), Duration::from_millis(400)));
        assert_eq!(r.should_restart(policy, 1), None, "gives up after 2");
        assert_eq!(r.count(), 2);
        r.manual_start();
        assert_eq!(r.count(), 0);
    }

    #[test]
    fn a_stop_cancels_always_and_a_pending_restart() {
        let r = Restarts::default();
        let always = RestartPolicy::parse("always").unwrap();
        let (delay, generation) = r.should_restart(always, 0).unwrap();
        assert_eq!(delay, FIRST_DELAY);
        r.cancel();
        assert!(!r.take(generation));
        assert_eq!(r.should_restart(always, 0), None);
        r.manual_start();
        assert!(r.should_restart(always, 0).is_some());
    }
}
