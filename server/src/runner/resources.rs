//! `docker stats` and `docker update`: a container's use of its limits, read from its cgroup through the
//! runtime (`runc events --stats`, cgroup v1 and v2 alike) and its network namespace's `/proc/PID/net/dev`; and
//! its limits changed (`runc update` while it runs, its spec for the next start), within the server's ceilings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use slipway::api::{StatsRow, UpdateLimits};

use super::lifecycle::{Container, BUILD_STEP_IMAGE};
use super::{io_ctx, Runner, RunnerError, Status};

/// How long `docker stats` measures CPU use over.
const SAMPLE: Duration = Duration::from_secs(1);

/// The CPU period of the spec's quota (`spec::resources`).
const CPU_PERIOD: u64 = 100_000;

/// One reading of a container's cgroup.
#[derive(Debug, Default, Clone, Copy)]
struct Reading {
    cpu_ns: u64,
    mem_usage: u64,
    mem_limit: u64,
    pids: u64,
    block_read: u64,
    block_write: u64,
}

impl Reading {
    /// From `runc events --stats`' `data` (runc's `types.Stats`).
    fn of(data: &Value) -> Reading {
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let memory = &data["memory"];
        // docker's usage: what the cgroup charges less the page cache it can drop (v1 and v2 names).
        let inactive = n(&memory["raw"]["total_inactive_file"]).max(n(&memory["raw"]["inactive_file"]));
        let blkio = |op: &str| -> u64 {
            data["blkio"]["ioServiceBytesRecursive"]
                .as_array()
                .map(|entries| {
                    entries
                        .iter()
                        .filter(|e| e["op"].as_str().is_some_and(|o| o.eq_ignore_ascii_case(op)))
                        .map(|e| n(&e["value"]))
                        .sum()
                })
                .unwrap_or(0)
        };
        Reading {
            cpu_ns: n(&data["cpu"]["usage"]["total"]),
            mem_usage: n(&memory["usage"]["usage"]).saturating_sub(inactive),
            mem_limit: n(&memory["usage"]["limit"]),
            pids: n(&data["pids"]["current"]),
            block_read: blkio("read"),
            block_write: blkio("write"),
        }
    }
}

/// Received and sent bytes of every interface but loopback in `/proc/PID/net/dev` (the container's network
/// namespace), as docker sums its interfaces.
fn net_bytes(net_dev: &str) -> (u64, u64) {
    net_dev
        .lines()
        .skip(2)
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim() != "lo")
        .map(|(_, fields)| {
            let f: Vec<u64> = fields
                .split_whitespace()
                .map(|x| x.parse().unwrap_or(0))
                .collect();
            (f.first().copied().unwrap_or(0), f.get(8).copied().unwrap_or(0))
        })
        .fold((0, 0), |(rx, tx), (r, t)| (rx + r, tx + t))
}

impl Runner {
    /// One cgroup reading of a running container, when the runtime can give one.
    async fn reading(&self, c: &Container) -> Option<Reading> {
        let out = self.runc.stats(&c.id).await.ok()?;
        let event: Value = serde_json::from_str(out.trim()).ok()?;
        Some(Reading::of(&event["data"]))
    }

    /// `docker stats --no-stream`: the session's running containers (all of them with `all`), their CPU use
    /// measured over [`SAMPLE`], newest first as `docker ps` lists them.
    pub async fn stats(&self, session: &str, all: bool) -> Vec<StatsRow> {
        let mut containers: Vec<Arc<Container>> = self
            .table()
            .values()
            .filter(|c| c.session == session && c.image != BUILD_STEP_IMAGE)
            .filter(|c| all || c.state().status == Status::Running)
            .cloned()
            .collect();
        containers.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        let started = Instant::now();
        let mut first = Vec::new();
        for c in &containers {
            first.push(self.reading(c).await);
        }
        tokio::time::sleep(SAMPLE.saturating_sub(started.elapsed())).await;
        let elapsed = started.elapsed().as_nanos().max(1) as f64;
        let mut rows = Vec::new();
        for (c, before) in containers.iter().zip(first) {
            let running = c.state().status == Status::Running;
            let mut row = StatsRow {
                id: c.id.clone(),
                name: self.name_of(c),
                running,
                ..StatsRow::default()
            };
            if let (true, Some(before), Some(now)) = (running, before, self.reading(c).await) {
                row.cpu_percent = now.cpu_ns.saturating_sub(before.cpu_ns) as f64 / elapsed * 100.0;
                row.mem_usage = now.mem_usage;
                let limit = self.limits_of(c).0.max(0) as u64;
                row.mem_limit = match now.mem_limit {
                    0 => limit,
                    cgroup => cgroup.min(limit),
                };
                row.pids = now.pids;
                (row.block_read, row.block_write) = (now.block_read, now.block_write);
                if let Some(pid) = c.state().pid {
                    let dev = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap_or_default();
                    (row.net_rx, row.net_tx) = net_bytes(&dev);
                }
            }
            rows.push(row);
        }
        rows
    }

    /// The limits a container has now: memory (bytes), CPUs, pids, as the spec applied them or `docker update`
    /// changed them.
    pub fn limits_of(&self, c: &Container) -> (i64, f64, i64) {
        let (defaults, ceilings) = (self.config.defaults, self.config.ceilings);
        let updated = c.updated_limits();
        let memory = updated
            .memory
            .or(c.opts.memory)
            .unwrap_or(defaults.memory)
            .min(ceilings.memory);
        let cpus = updated
            .cpus
            .or(c.opts.cpus)
            .unwrap_or(defaults.cpus)
            .min(ceilings.cpus);
        let pids = updated
            .pids_limit
            .or(c.opts.pids_limit)
            .unwrap_or(defaults.pids)
            .min(ceilings.pids)
            .max(1);
        (memory, cpus, pids)
    }

    /// Refused unless every limit asked for is one this server allows (dockerd's words where it has some).
    fn check_limits(&self, limits: &UpdateLimits) -> Result<(), RunnerError> {
        let ceilings = self.config.ceilings;
        if let Some(memory) = limits.memory {
            if memory < 6 << 20 {
                return Err(RunnerError::Refused("Minimum memory limit allowed is 6MB".into()));
            }
            if memory > ceilings.memory {
                return Err(RunnerError::Refused(format!(
                    "Memory limit {} is over this server's ceiling for a container, {}",
                    slipway::image::units::bytes_size(memory as u64),
                    slipway::image::units::bytes_size(ceilings.memory as u64)
                )));
            }
        }
        if let Some(cpus) = limits.cpus {
            if !(0.01..=ceilings.cpus).contains(&cpus) {
                return Err(RunnerError::Refused(format!(
                    "Range of CPUs is from 0.01 to {:.2}, as there are only {} CPUs available to a container here",
                    ceilings.cpus, ceilings.cpus
                )));
            }
        }
        if let Some(pids) = limits.pids_limit {
            if pids == 0 || pids > ceilings.pids {
                return Err(RunnerError::Refused(format!(
                    "PIDs limit {pids} is not allowed here: a container may have 1 to {} processes",
                    ceilings.pids
                )));
            }
        }
        Ok(())
    }

    /// `docker update`: new limits for the cgroup of a running container, and for its spec (the next start).
    /// `--pids-limit -1` (docker's unlimited) is the server's ceiling.
    pub async fn update_limits(&self, c: &Container, mut limits: UpdateLimits) -> Result<(), RunnerError> {
        if limits.pids_limit.is_some_and(|p| p < 0) {
            limits.pids_limit = Some(self.config.ceilings.pids);
        }
        self.check_limits(&limits)?;
        let previous = c.updated_limits();
        c.set_updated_limits(UpdateLimits {
            memory: limits.memory.or(previous.memory),
            cpus: limits.cpus.or(previous.cpus),
            pids_limit: limits.pids_limit.or(previous.pids_limit),
        });
        let (memory, cpus, pids) = self.limits_of(c);
        let quota = (cpus * CPU_PERIOD as f64) as i64;
        let spec = c.dir.join("config.json");
        tokio::task::spawn_blocking(move || rewrite_resources(&spec, memory, quota, pids))
            .await
            .map_err(|e| io_ctx("update task")(std::io::Error::other(e)))??;
        if c.state().status == Status::Running {
            self.runc
                .update(
                    &c.id,
                    memory,
                    super::spec::swap_accounting(),
                    (CPU_PERIOD, quota),
                    pids,
                )
                .await?;
        }
        Ok(())
    }
}

/// Write the new limits into a container's spec, so a start again runs with them.
fn rewrite_resources(spec: &std::path::Path, memory: i64, quota: i64, pids: i64) -> Result<(), RunnerError> {
    let text = std::fs::read_to_string(spec).map_err(io_ctx("reading the container's spec"))?;
    let mut doc: Value = serde_json::from_str(&text).map_err(|e| io_ctx("reading the spec")(e.into()))?;
    let resources = &mut doc["linux"]["resources"];
    resources["memory"]["limit"] = memory.into();
    if resources["memory"].get("swap").is_some() {
        resources["memory"]["swap"] = memory.into();
    }
    resources["cpu"]["quota"] = quota.into();
    resources["cpu"]["period"] = CPU_PERIOD.into();
    resources["pids"]["limit"] = pids.into();
    let text = serde_json::to_vec(&doc).map_err(|e| io_ctx("writing the spec")(e.into()))?;
    std::fs::write(spec, text).map_err(io_ctx("writing the container's spec"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_stats_read_as_dockers_figures() {
        let data = serde_json::json!({
            "cpu": {"usage": {"total": 1_500_000_000u64}},
            "memory": {"usage": {"usage": 10_000_000u64, "limit": 67_108_864u64},
                       "raw": {"total_inactive_file": 1_000_000u64}},
            "pids": {"current": 3},
            "blkio": {"ioServiceBytesRecursive": [
                {"major": 8, "minor": 0, "op": "Read", "value": 4096},
                {"major": 8, "minor": 0, "op": "Write", "value": 8192},
                {"major": 8, "minor": 0, "op": "Total", "value": 12288}
            ]}
        });
        let r = Reading::of(&data);
        assert_eq!(
            (r.cpu_ns, r.mem_usage, r.mem_limit, r.pids),
            (1_500_000_000, 9_000_000, 67_108_864, 3)
        );
        assert_eq!((r.block_read, r.block_write), (4096, 8192));
        let dev = "Inter-|   Receive |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes\n\
                   lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n tap0: 648 8 0 0 0 0 0 0 1296 16 0 0 0 0 0 0\n";
        assert_eq!(net_bytes(dev), (648, 1296));
    }
}
