//! The container commands beside the lifecycle: `docker pause`/`unpause` (runc pause/resume), `rename`, `top`
//! (the container's processes, read from /proc), `container prune`, and what `docker inspect` shows of a
//! container's configuration. Refusals use dockerd's own words ([`RunnerError::Refused`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use slipway::api::{ContainerConfig, PruneAnswer, TopAnswer};

use super::images::ResolvedImage;
use super::lifecycle::BUILD_STEP_IMAGE;
use super::{Container, Runner, RunnerError, Status, Summary};

/// The columns of `ps -ef`, which `docker top` runs by default.
const TOP_TITLES: [&str; 8] = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"];

impl Runner {
    /// The container's name: the one `docker rename` gave it, else its own.
    pub fn name_of(&self, c: &Container) -> String {
        let renamed = self.renamed.lock().unwrap_or_else(|e| e.into_inner());
        renamed.get(&c.id).cloned().unwrap_or_else(|| c.name.clone())
    }

    /// Running with its processes frozen.
    pub fn is_paused(&self, c: &Container) -> bool {
        c.state().status == Status::Running
            && self
                .paused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&c.id)
    }

    /// The container's `docker ps` row, with its current name and whether it is paused.
    pub fn summary_of(&self, c: &Container) -> Summary {
        Summary {
            name: self.name_of(c),
            paused: self.is_paused(c),
            ..c.summary()
        }
    }

    /// A removed container's rename and pause go with it.
    pub(crate) fn forget_names_and_pauses(&self, id: &str) {
        self.renamed.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
        self.paused.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// `docker pause`: freeze every process of a running container.
    pub async fn pause(&self, c: &Container) -> Result<(), RunnerError> {
        if c.state().status != Status::Running {
            return Err(not_running(c));
        }
        if self.is_paused(c) {
            return Err(RunnerError::Refused(format!(
                "Container {} is already paused",
                c.id
            )));
        }
        self.runc.pause(&c.id).await?;
        self.paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(c.id.clone());
        self.container_event(c, "pause", &[]);
        Ok(())
    }

    /// `docker unpause`.
    pub async fn unpause(&self, c: &Container) -> Result<(), RunnerError> {
        if !self.is_paused(c) {
            return Err(RunnerError::Refused(format!("Container {} is not paused", c.id)));
        }
        self.runc.resume(&c.id).await?;
        self.paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&c.id);
        self.container_event(c, "unpause", &[]);
        Ok(())
    }

    /// Before a stop, kill or forced removal: a frozen process cannot act on its signal (dockerd thaws a
    /// paused container it stops or kills, too).
    pub async fn thaw(&self, c: &Container) {
        if self.is_paused(c) {
            let _ = self.unpause(c).await;
        }
    }

    /// `docker rename`: names are unique within the session, as within a docker daemon.
    pub fn rename(&self, c: &Container, new: &str) -> Result<(), RunnerError> {
        let new = new.strip_prefix('/').unwrap_or(new);
        if !valid_name(new) {
            return Err(RunnerError::Refused(format!(
                "Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let old = self.name_of(c);
        if old == new {
            return Err(RunnerError::Refused(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        let table = self.table();
        if let Some(other) = table
            .values()
            .find(|o| o.session == c.session && self.name_of(o) == new)
        {
            return Err(RunnerError::Refused(format!(
                "Conflict. The container name \"/{new}\" is already in use by container \"{}\". You have to \
                 remove (or rename) that container to be able to reuse that name.",
                other.id
            )));
        }
        self.renamed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(c.id.clone(), new.to_string());
        drop(table);
        // Its networks' resolvers answer to the new name from now on, as Docker's do.
        self.networks.rename(&c.id, new);
        self.container_event(c, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// `docker top`: the container's processes as `ps -ef` shows them.
    pub async fn top(&self, c: &Container) -> Result<TopAnswer, RunnerError> {
        if c.state().status != Status::Running {
            return Err(not_running(c));
        }
        let mut pids = self.runc.pids(&c.id).await?;
        pids.sort_unstable();
        let shift = self.config.userns.map_or(0, |s| s.base);
        let passwd = c.dir.join("rootfs/etc/passwd");
        let rows = tokio::task::spawn_blocking(move || {
            let users = users_of(&passwd);
            pids.iter()
                .filter_map(|pid| process_row(*pid, shift, &users))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| super::io_ctx("top task")(std::io::Error::other(e)))?;
        Ok(TopAnswer {
            titles: TOP_TITLES.map(String::from).to_vec(),
            processes: rows,
        })
    }

    /// `docker container prune`: remove the session's containers that do not run (created or exited). Their
    /// writable layers went when they exited (a created one's is empty), so nothing more is reclaimed.
    pub async fn prune(&self, session: &str) -> PruneAnswer {
        let mut stopped: Vec<Arc<Container>> = self
            .table()
            .values()
            .filter(|c| c.session == session && c.image != BUILD_STEP_IMAGE)
            .filter(|c| c.state().status != Status::Running)
            .cloned()
            .collect();
        stopped.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        let mut deleted = Vec::new();
        for c in stopped {
            if self.remove(&c, false).await.is_ok() {
                deleted.push(c.id.clone());
            }
        }
        PruneAnswer {
            containers_deleted: deleted,
            space_reclaimed: 0,
        }
    }

    /// The image's configuration with the container's `docker run` flags over it (`docker inspect`'s
    /// `Config`), or None when the image no longer resolves.
    pub async fn inspect_config(self: &Arc<Self>, c: &Arc<Container>) -> Option<ContainerConfig> {
        let (this, c2) = (self.clone(), c.clone());
        let (resolved, config_digest) = tokio::task::spawn_blocking(move || {
            let resolved = this.images.resolve_for(&c2.session, &c2.image).ok()?;
            // The manifest of an image this session just resolved: its config's digest is the image's id.
            let digest = this
                .images
                .blob(&resolved.manifest_digest)
                .ok()
                .and_then(|path| std::fs::read(path).ok())
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                .and_then(|m| m["config"]["digest"].as_str().map(str::to_string));
            Some((resolved, digest))
        })
        .await
        .ok()??;
        let mut config = container_config(c, &resolved, config_digest.unwrap_or_default());
        // As the spec applies them (`spec::resources`): the flags' (or `docker update`'s), else the defaults,
        // within the ceilings.
        let (memory, cpus, pids) = self.limits_of(c);
        (config.memory, config.pids_limit) = (memory, pids);
        config.nano_cpus = (cpus * 1e9).round() as i64;
        Some(config)
    }
}

/// dockerd's error for a container that must run.
fn not_running(c: &Container) -> RunnerError {
    RunnerError::Refused(format!("container {} is not running", c.id))
}

/// dockerd's `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`.
fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b))
}

/// The image's config with the flags over it, as dockerd merges them at create: `--entrypoint` drops the
/// image's Cmd, arguments replace it, `-e` replaces or removes variables, `-p` adds exposed ports.
fn container_config(c: &Container, resolved: &ResolvedImage, image_id: String) -> ContainerConfig {
    let image = resolved.config.config().clone().unwrap_or_default();
    let opts = &c.opts;
    let (entrypoint, cmd) = match &opts.entrypoint {
        Some(e) => (
            Some(e.iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>()).filter(|e| !e.is_empty()),
            Some(opts.cmd.clone()).filter(|c| !c.is_empty()),
        ),
        None if !opts.cmd.is_empty() => (image.entrypoint().clone(), Some(opts.cmd.clone())),
        None => (image.entrypoint().clone(), image.cmd().clone()),
    };
    let mut env: Vec<String> = image.env().clone().unwrap_or_default();
    for entry in &opts.env {
        let key = entry.split('=').next().unwrap_or_default();
        env.retain(|e| e.split('=').next() != Some(key));
        if entry.contains('=') {
            env.push(entry.clone());
        }
    }
    let mut exposed: Vec<String> = image.exposed_ports().clone().unwrap_or_default();
    for p in &opts.publish {
        exposed.push(format!("{}/tcp", p.container));
    }
    exposed.sort();
    exposed.dedup();
    ContainerConfig {
        image_id,
        hostname: opts.hostname.clone().unwrap_or_else(|| c.id[..12].to_string()),
        user: opts
            .user
            .clone()
            .or_else(|| image.user().clone())
            .unwrap_or_default(),
        env,
        cmd,
        entrypoint,
        working_dir: opts
            .workdir
            .clone()
            .or_else(|| image.working_dir().clone())
            .unwrap_or_default(),
        exposed_ports: exposed,
        labels: image
            .labels()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .chain(opts.labels.clone())
            .collect::<BTreeMap<_, _>>(),
        ..ContainerConfig::default()
    }
}

/// User names by uid from the container's `/etc/passwd`.
fn users_of(passwd: &Path) -> BTreeMap<u32, String> {
    std::fs::read_to_string(passwd)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let uid = fields.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

/// One `ps -ef` row of host process `pid`: the user as the container names it (its uid less the user
/// namespace's shift), host pids as docker shows them. None when the process is gone.
fn process_row(pid: i32, shift: u32, users: &BTreeMap<u32, String>) -> Option<Vec<String>> {
    let proc = Path::new("/proc").join(pid.to_string());
    let stat = std::fs::read_to_string(proc.join("stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let comm = head.split_once('(').map(|(_, c)| c).unwrap_or_default();
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let field = |n: usize| fields.get(n - 4).copied().unwrap_or(0);
    let status = std::fs::read_to_string(proc.join("status")).ok()?;
    let euid: u32 = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .unwrap_or(0);
    let uid = euid.checked_sub(shift).unwrap_or(euid);
    let user = users.get(&uid).cloned().unwrap_or_else(|| uid.to_string());
    let ticks = 100u64;
    let cpu = field(14) + field(15);
    let boot = boot_time();
    let started = boot + field(22) / ticks;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let elapsed = now.saturating_sub(started);
    // ps's C: the share of one CPU since the start, in percent, at most 99.
    let c = (cpu * 100 / ticks).checked_div(elapsed).unwrap_or(0).min(99);
    let cmdline = std::fs::read(proc.join("cmdline")).unwrap_or_default();
    let words: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let cmd = if words.is_empty() {
        format!("[{comm}]")
    } else {
        words.join(" ")
    };
    Some(vec![
        user,
        pid.to_string(),
        field(4).to_string(),
        c.to_string(),
        start_time(started, now),
        tty_name(field(7)),
        cpu_time(cpu / ticks),
        cmd,
    ])
}

/// The host's boot time, Unix seconds (`btime` of /proc/stat).
fn boot_time() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

/// ps's STIME (UTC): `HH:MM` within the last day, `MonDD` within the year, else the year.
fn start_time(started: u64, now: u64) -> String {
    let text = slipway::image::rfc3339(started);
    let (year, month, day) = (&text[0..4], &text[5..7], &text[8..10]);
    if now.saturating_sub(started) < 24 * 3600 {
        return text[11..16].to_string();
    }
    if now.saturating_sub(started) < 365 * 24 * 3600 {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let m: usize = month.parse().unwrap_or(1);
        return format!("{}{day}", MONTHS[m.clamp(1, 12) - 1]);
    }
    year.to_string()
}

/// ps's TTY: `pts/N` for a pseudo-terminal, `?` for none.
fn tty_name(tty_nr: u64) -> String {
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", minor + (major - 136) * 256),
        4 if minor < 64 => format!("tty{minor}"),
        _ => "?".into(),
    }
}

/// ps's TIME: cumulative CPU time, `[DD-]HH:MM:SS`.
fn cpu_time(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let hms = format!("{:02}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    if days > 0 {
        format!("{days:02}-{hms}")
    } else {
        hms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockerd_and_ps_columns_read_like_ps() {
        assert!(valid_name("web2") && valid_name("a.b-c_d"));
        assert!(!valid_name("a") && !valid_name("-web") && !valid_name("we b") && !valid_name(""));
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name(136 << 8), "pts/0");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
        assert_eq!(cpu_time(0), "00:00:00");
        assert_eq!(cpu_time(3_725), "01:02:05");
        assert_eq!(cpu_time(90_061), "01-01:01:01");
        let now = 1_795_842_313; // 2026-11-28T05:05:13Z
        assert_eq!(start_time(now - 60, now), "05:04");
        assert_eq!(start_time(now - 40 * 86_400, now), "Oct19");
        assert_eq!(start_time(now - 800 * 86_400, now), "2024");
    }

    #[test]
    fn the_current_process_reads_as_a_row() {
        let users = BTreeMap::from([(0, "root".to_string())]);
        let me = std::process::id() as i32;
        let row = process_row(me, 0, &users).expect("this process has a /proc entry");
        assert_eq!(row.len(), TOP_TITLES.len());
        assert_eq!(row[1], me.to_string());
        assert!(row[7].contains("slipway") || !row[7].is_empty(), "{row:?}");
    }
}
