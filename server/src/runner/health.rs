//! Healthchecks run by the server, as moby's `daemon/health.go` runs them: the container's `HealthConfig` (its
//! `docker run` flags or compose's `healthcheck:` over the image's `HEALTHCHECK`) is probed with an exec inside
//! the container (so probes count in the container's cgroup and die with it) on its schedule: `start_interval`
//! while starting within `start_period`, `interval` after. Exit 0 is healthy; a failure inside the start period
//! does not count while the container has never been healthy; `retries` consecutive failures make it
//! unhealthy; a probe past `timeout` is killed and fails with moby's message. The last 5 results are kept, each
//! output cut at 4096 bytes. The monitor stops with the run (the status then reads unhealthy, as moby's does).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use slipway::api::{ExecOptions, HealthConfig, HealthResult, HealthState, HealthStatus};

use super::images::ResolvedImage;
use super::lifecycle::{Container, Status};
use super::{Runner, RunnerError};

/// moby's `maxLogEntries`.
const MAX_LOG_ENTRIES: usize = 5;
/// moby's `maxOutputLen`.
const MAX_OUTPUT: usize = 4096;

/// A container's health while it has a healthcheck: its state and the run its monitor belongs to.
#[derive(Debug, Default)]
pub struct Health {
    state: Mutex<Option<HealthState>>,
    /// Bumped at each start: the monitor of an earlier run ends.
    run: AtomicU64,
}

impl Health {
    pub fn state(&self) -> Option<HealthState> {
        self.lock().clone()
    }

    pub fn status(&self) -> Option<HealthStatus> {
        self.lock().as_ref().map(|h| h.status)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HealthState>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A probe's result, counted as moby's `handleProbeResult` counts it.
    fn record(&self, result: HealthResult, config: &HealthConfig, in_start_period: bool) {
        let retries = match config.retries {
            0 => HealthConfig::DEFAULT_RETRIES,
            n => n,
        };
        let mut guard = self.lock();
        let Some(h) = guard.as_mut() else {
            return;
        };
        let ok = result.exit_code == 0;
        h.log.push(result);
        if h.log.len() > MAX_LOG_ENTRIES {
            h.log.remove(0);
        }
        if ok {
            h.failing_streak = 0;
            h.status = HealthStatus::Healthy;
        } else if !(h.status == HealthStatus::Starting && in_start_period) {
            h.failing_streak += 1;
            if h.failing_streak >= retries {
                h.status = HealthStatus::Unhealthy;
            }
        }
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A Go duration as `time.Duration.String()` prints the round ones moby's timeout message shows (`1s`,
/// `500ms`, `1m30s`).
fn go_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        return match ns % 1_000_000 {
            0 => format!("{}ms", ns / 1_000_000),
            _ => format!("{}µs", ns / 1_000),
        };
    }
    let (h, m) = (ns / 3_600_000_000_000, ns / 60_000_000_000 % 60);
    let secs = (ns % 60_000_000_000) as f64 / 1e9;
    let s = format!("{secs}s");
    match (h, m) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

impl Runner {
    /// The image's `HEALTHCHECK` (Docker's `config.Healthcheck`, which the OCI config type leaves out): read
    /// from its config blob. Blocking.
    pub(crate) fn image_healthcheck(&self, resolved: &ResolvedImage) -> Option<HealthConfig> {
        let read = |digest: &str| -> Option<serde_json::Value> {
            let path = self.images.blob(digest).ok()?;
            serde_json::from_slice(&std::fs::read(path).ok()?).ok()
        };
        let manifest = read(&resolved.manifest_digest)?;
        let config = read(manifest["config"]["digest"].as_str()?)?;
        let h = &config["config"]["Healthcheck"];
        let n = |k: &str| h[k].as_u64().unwrap_or(0);
        Some(HealthConfig {
            test: h["Test"]
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            interval: n("Interval"),
            timeout: n("Timeout"),
            start_period: n("StartPeriod"),
            start_interval: n("StartInterval"),
            retries: n("Retries") as u32,
        })
    }

    /// The container's healthcheck: the request's over the image's, as dockerd merges them at create (None
    /// when neither has one).
    pub(crate) fn merged_healthcheck(
        mine: Option<&HealthConfig>,
        image: Option<HealthConfig>,
    ) -> Option<HealthConfig> {
        match (mine, image) {
            (Some(mine), image) => Some(mine.over(image.as_ref())),
            (None, image) => image,
        }
    }

    /// The create request's healthcheck and restart policy, checked as dockerd checks them.
    pub(crate) fn check_supervision(opts: &super::RunOptions) -> Result<(), RunnerError> {
        if let Some(h) = &opts.healthcheck {
            h.validate().map_err(RunnerError::Refused)?;
        }
        if opts.auto_remove && !opts.restart.is_none() {
            return Err(RunnerError::Refused(
                "Conflicting options: --restart and --rm".into(),
            ));
        }
        Ok(())
    }

    /// After the process started: a monitor for this run when the container has a healthcheck.
    pub(crate) fn watch_health(self: &Arc<Self>, c: &Arc<Container>) {
        let Some(config) = c.opts.healthcheck.clone() else {
            return;
        };
        let Some(command) = config.probe_command() else {
            return;
        };
        let run = c.health.run.fetch_add(1, Ordering::SeqCst) + 1;
        *c.health.lock() = Some(HealthState {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: Vec::new(),
        });
        let (this, c) = (self.clone(), c.clone());
        tokio::spawn(async move {
            this.monitor_health(&c, &config, command, run).await;
            // moby's `CloseMonitorChannel`: unhealthy once the monitor stopped.
            if c.health.run.load(Ordering::SeqCst) == run {
                if let Some(h) = c.health.lock().as_mut() {
                    h.status = HealthStatus::Unhealthy;
                }
            }
        });
    }

    async fn monitor_health(
        self: &Arc<Self>,
        c: &Arc<Container>,
        config: &HealthConfig,
        command: Vec<String>,
        run: u64,
    ) {
        let or = |value: u64, default: u64| Duration::from_nanos(if value == 0 { default } else { value });
        let interval = or(config.interval, HealthConfig::DEFAULT_INTERVAL);
        let start_interval = or(config.start_interval, HealthConfig::DEFAULT_START_INTERVAL);
        let start_period = Duration::from_nanos(config.start_period);
        let timeout = or(config.timeout, HealthConfig::DEFAULT_TIMEOUT);
        let started = Instant::now();
        let current = || c.health.run.load(Ordering::SeqCst) == run && c.state().status == Status::Running;
        loop {
            let starting = c.health.status() == Some(HealthStatus::Starting);
            let next = match started.elapsed() < start_period && starting {
                true => start_interval,
                false => interval,
            };
            tokio::select! {
                _ = tokio::time::sleep(next) => {}
                _ = c.wait() => return,
            }
            if !current() {
                return;
            }
            if self.is_paused(c) {
                continue;
            }
            let probe_start = started.elapsed();
            let result = self.probe(c, &command, timeout).await;
            if !current() {
                return;
            }
            let before = c.health.status();
            c.health.record(result, config, probe_start < start_period);
            // moby's `handleProbeResult`: an event when the status changes.
            if let Some(now) = c.health.status().filter(|now| Some(*now) != before) {
                self.container_event(c, &format!("health_status: {}", now.word()), &[]);
            }
        }
    }

    /// One probe: the test run in the container (an exec that is never listed), killed past `timeout`.
    async fn probe(
        self: &Arc<Self>,
        c: &Arc<Container>,
        command: &[String],
        timeout: Duration,
    ) -> HealthResult {
        let start_ns = now_ns();
        let opts = ExecOptions {
            cmd: command.to_vec(),
            ..ExecOptions::default()
        };
        let (exit_code, output) = match self.start_exec(c, opts, 64 << 10).await {
            Err(e) => (-1, format!("{e}")),
            Ok((exec, pid)) => {
                let reap = super::io::reap(pid);
                tokio::pin!(reap);
                match tokio::time::timeout(timeout, &mut reap).await {
                    Ok(code) => {
                        exec.io.finish().await;
                        let bytes = exec.io.logs.all_bytes();
                        let cut = &bytes[..bytes.len().min(MAX_OUTPUT)];
                        (code.unwrap_or(255), String::from_utf8_lossy(cut).into_owned())
                    }
                    Err(_) => {
                        if let Some(p) = rustix::process::Pid::from_raw(pid) {
                            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                        }
                        let _ = reap.await;
                        let text = format!(
                            "Health check exceeded timeout ({})",
                            go_duration(timeout.as_nanos() as u64)
                        );
                        (-1, text)
                    }
                }
            }
        };
        HealthResult {
            start_ns,
            end_ns: now_ns(),
            exit_code,
            output,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(code: i32) -> HealthResult {
        HealthResult {
            start_ns: 1,
            end_ns: 2,
            exit_code: code,
            output: String::new(),
        }
    }

    fn starting() -> Health {
        let h = Health::default();
        *h.lock() = Some(HealthState {
            status: HealthStatus::Starting,
            failing_streak: 0,
            log: Vec::new(),
        });
        h
    }

    #[test]
    fn statuses_follow_moby() {
        let config = HealthConfig {
            retries: 2,
            ..HealthConfig::default()
        };
        let h = starting();
        // Failures within the start period do not count while starting.
        h.record(result(1), &config, true);
        h.record(result(1), &config, true);
        assert_eq!(h.status(), Some(HealthStatus::Starting));
        assert_eq!(h.state().unwrap().failing_streak, 0);
        h.record(result(1), &config, false);
        assert_eq!(h.status(), Some(HealthStatus::Starting));
        h.record(result(1), &config, false);
        assert_eq!(h.status(), Some(HealthStatus::Unhealthy));
        h.record(result(0), &config, false);
        let state = h.state().unwrap();
        assert_eq!((state.status, state.failing_streak), (HealthStatus::Healthy, 0));
        // Once healthy, failures count even within the start period.
        h.record(result(1), &config, true);
        assert_eq!(h.state().unwrap().failing_streak, 1);
        for _ in 0..4 {
            h.record(result(0), &config, false);
        }
        assert_eq!(h.state().unwrap().log.len(), MAX_LOG_ENTRIES);
    }

    #[test]
    fn timeouts_read_as_go_prints_them() {
        assert_eq!(go_duration(1_000_000_000), "1s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(30_000_000_000), "30s");
    }
}
