//! What a server leaves on the host, read from /proc and /sys: mounts under its data dir, container cgroups,
//! processes it is the parent of (it is their subreaper), network namespaces; and the data dir's disk usage.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::support::server::Server;

/// A field of `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`); 0 when unreadable.
pub fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The CPU seconds process `pid` has used (user and system, `/proc/PID/stat`).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After `(comm)`: state is field 3, utime and stime fields 14 and 15, in clock ticks (100 a second).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(14) + ticks(15)) / 100.0
}

/// Bytes allocated under `dir` on its own file system (mounts inside it, such as containers' root file
/// systems and tmpfs writable layers, are not walked).
pub fn disk_usage(dir: &Path) -> u64 {
    let Ok(root) = std::fs::symlink_metadata(dir) else {
        return 0;
    };
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.dev() != root.dev() {
            continue;
        }
        total += meta.blocks() * 512;
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                todo.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
    total
}

/// A snapshot of what a server may leave behind.
pub struct Leftovers {
    mounts: usize,
    cgroups: BTreeSet<String>,
    children: Vec<String>,
    netns: BTreeSet<u64>,
}

impl Leftovers {
    /// The host before (or after) a server: container cgroups and network namespaces.
    pub fn host() -> Leftovers {
        Leftovers {
            mounts: 0,
            cgroups: container_cgroups(),
            children: Vec::new(),
            netns: network_namespaces(),
        }
    }

    /// The host with `server` running on `data`: also the mounts under it (in the server's mount namespace and
    /// ours) and the server's child processes.
    pub fn of(server: &Server, data: &Path) -> Leftovers {
        let mounts = [
            format!("/proc/{}/mountinfo", server.pid()),
            "/proc/self/mountinfo".into(),
        ]
        .iter()
        .map(|file| mounts_in(file, data))
        .max()
        .unwrap_or(0);
        Leftovers {
            mounts,
            children: children_of(server.pid()),
            ..Leftovers::host()
        }
    }

    pub fn mounts_under(&self, data: &Path) -> usize {
        mounts_in("/proc/self/mountinfo", data).max(self.mounts)
    }

    /// Container cgroups (`/slipway/ID`) here that were not there in `earlier`.
    pub fn cgroups_since(&self, earlier: &Leftovers) -> Vec<String> {
        self.cgroups.difference(&earlier.cgroups).cloned().collect()
    }

    /// How many more network namespaces than in `earlier`.
    pub fn netns_since(&self, earlier: &Leftovers) -> i64 {
        self.netns.len() as i64 - earlier.netns.len() as i64
    }

    /// A table: this snapshot (before the attack) against `after` it, cgroups and namespaces counted from
    /// `start` (before the server started).
    pub fn print_against(&self, after: &Leftovers, start: &Leftovers) {
        println!("| left on the host | before the attack | after it (hostile containers removed) |");
        println!("| --- | ---: | ---: |");
        println!(
            "| mounts under the data dir | {} | {} |",
            self.mounts, after.mounts
        );
        println!(
            "| empty container cgroups (`/slipway/*`) since the server started | {} | {} |",
            self.cgroups_since(start).len(),
            after.cgroups_since(start).len()
        );
        println!(
            "| processes whose parent is the server | {} | {} |",
            self.children.len(),
            after.children.len()
        );
        println!(
            "| network namespaces on the host more than before the server started | {} | {} |",
            self.netns_since(start),
            after.netns_since(start)
        );
        for (what, list) in [
            ("cgroups", after.cgroups_since(start)),
            ("processes", after.children.clone()),
        ] {
            if !list.is_empty() {
                println!("\nLeft {what}: {}", list.join(", "));
            }
        }
    }
}

/// Mount points under `dir` in a mountinfo file (field 5).
fn mounts_in(mountinfo: &str, dir: &Path) -> usize {
    let prefix = dir.display().to_string();
    std::fs::read_to_string(mountinfo)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|point| point.starts_with(&prefix))
        .count()
}

/// Every empty `slipway/ID` or `slipway/o-OWNER/ID` cgroup (a container's that outlived it), and every owner's
/// parent cgroup with no container cgroup left in it, in any hierarchy (v1 controllers or the v2 tree), as
/// `CONTROLLER/ID`, `CONTROLLER/o-OWNER/ID` or `CONTROLLER/o-OWNER`.
fn container_cgroups() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let roots = std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten();
    for root in roots
        .map(|e| e.path())
        .chain([std::path::PathBuf::from("/sys/fs/cgroup")])
    {
        if !root.join("slipway").is_dir() {
            continue;
        }
        // Only empty ones: another server on this machine (a test run) may have live containers there.
        let empty =
            |dir: &Path| std::fs::read_to_string(dir.join("cgroup.procs")).is_ok_and(|p| p.trim().is_empty());
        let controller = root.file_name().map(|n| n.to_string_lossy().into_owned());
        let controller = controller.unwrap_or_default();
        let dirs = |dir: &Path| -> Vec<std::path::PathBuf> {
            let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
            entries.map(|e| e.path()).filter(|p| p.is_dir()).collect()
        };
        for path in dirs(&root.join("slipway")) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if !name.starts_with("o-") {
                if empty(&path) {
                    found.insert(format!("{controller}/{name}"));
                }
                continue;
            }
            // An owner's parent cgroup (runner/cgroups.rs): its containers' cgroups are below it, and the owner's
            // itself is a leftover once none is.
            let children = dirs(&path);
            if children.is_empty() {
                found.insert(format!("{controller}/{name}"));
            }
            for child in children.iter().filter(|c| empty(c)) {
                let id = child
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                found.insert(format!("{controller}/{name}/{id}"));
            }
        }
    }
    found
}

/// `PID comm` of every process whose parent is `pid`.
fn children_of(pid: u32) -> Vec<String> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `PID (comm) STATE PPID ...`: the comm may hold spaces, the fields after its `)` do not.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let parent = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok());
        if parent == Some(pid) {
            children.push(head.replace(" (", " "));
        }
    }
    children
}

/// The inode of every process's network namespace.
fn network_namespaces() -> BTreeSet<u64> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::metadata(e.path().join("ns/net")).ok())
        .map(|m| m.ino())
        .collect()
}
