//! Owner cgroups: every container and RUN step of one owner runs under one parent cgroup,
//! `/slipway/o-<runner>-<owner>/<id>`, which holds the owner's CPU weight, memory cap and pids cap; the
//! per-container limits of the runtime spec apply inside it. The server makes it before the owner's first
//! container and removes it when their last one is gone (an exited container has no cgroup), and at start and
//! stop it removes any of its own that are left (a crash): the `<runner>` part (a hash of the runner directory)
//! keeps servers sharing a machine out of each other's.
//!
//! The owner is the session today ([`owner_key`]); the classroom's learner is meant to take its place. Detects
//! the host's layout as the runtime does: cgroup v2 (`/sys/fs/cgroup/cgroup.controllers`: `cpu.weight`,
//! `memory.max`, `memory.swap.max`, `pids.max`) or v1 (`cpu.shares`, `memory.limit_in_bytes` and
//! `memory.memsw.limit_in_bytes` when swap is accounted, `pids.max` under each controller's hierarchy).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// The owner of a container or RUN step of `session`, for fair shares: the session itself until learners exist.
pub fn owner_key(session: &str) -> &str {
    session
}

/// What one owner gets, all their containers and RUN steps together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnerLimits {
    /// Bytes of memory (swap included where it is accounted).
    pub memory: i64,
    pub pids: i64,
    /// CPU weight in cgroup v2 units (1–10000, 100 = the default share); v1 gets `cpu.shares = weight × 1024 / 100`.
    pub cpu_weight: u64,
}

impl Default for OwnerLimits {
    /// Sized for 30 learners on a 2-core, 24 GiB machine: 30 × 768 MiB = 22.5 GiB even if every one of them
    /// fills their cap at once, 30 × 512 pids = 15,360 of the kernel's default 32,768, and equal CPU weights.
    fn default() -> Self {
        OwnerLimits {
            memory: 768 << 20,
            pids: 512,
            cpu_weight: 100,
        }
    }
}

/// The cgroup root this host mounts, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Layout {
    /// One hierarchy per controller under the root (`cpu/`, `memory/`, `pids/`, ...).
    V1,
    /// One unified hierarchy at the root.
    V2,
}

/// The owners' parent cgroups of one runner, counted by their containers.
#[derive(Debug)]
pub struct OwnerCgroups {
    root: PathBuf,
    layout: Layout,
    /// `o-<runner hash>-`: every owner cgroup of this runner starts with it.
    prefix: String,
    /// Replaced by [`OwnerCgroups::set_limits`] (a classroom reload).
    limits: Mutex<OwnerLimits>,
    /// Containers (created, running, or exiting) per owner cgroup name.
    held: Mutex<HashMap<String, usize>>,
}

/// A container's hold on its owner's cgroup: the cgroup lives while one is held.
#[derive(Debug)]
pub struct OwnerCgroup {
    cgroups: Arc<OwnerCgroups>,
    name: String,
}

impl OwnerCgroup {
    /// The cgroups path for the runtime spec of container `id`: `/slipway/o-.../ID`.
    pub fn path_of(&self, id: &str) -> String {
        format!("/slipway/{}/{id}", self.name)
    }
}

impl Drop for OwnerCgroup {
    fn drop(&mut self) {
        self.cgroups.release(&self.name);
    }
}

fn hex(data: &[u8], chars: usize) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..chars]
        .to_string()
}

impl OwnerCgroups {
    /// The owner cgroups of the runner keeping its state in `runner_dir`, on this host's cgroup mount.
    pub fn new(runner_dir: &Path, limits: OwnerLimits) -> Self {
        // The same directory named another way (relative, through a symlink) is the same runner after a restart.
        let runner_dir = std::fs::canonicalize(runner_dir).unwrap_or_else(|_| runner_dir.to_path_buf());
        Self::at(Path::new("/sys/fs/cgroup"), &runner_dir, limits)
    }

    fn at(root: &Path, runner_dir: &Path, limits: OwnerLimits) -> Self {
        let layout = match root.join("cgroup.controllers").exists() {
            true => Layout::V2,
            false => Layout::V1,
        };
        OwnerCgroups {
            root: root.to_path_buf(),
            layout,
            prefix: format!("o-{}-", hex(runner_dir.as_os_str().as_encoded_bytes(), 8)),
            limits: Mutex::new(limits),
            held: Mutex::new(HashMap::new()),
        }
    }

    pub fn limits(&self) -> OwnerLimits {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// New limits for every owner: those of the cgroups held now are rewritten in place (nobody's containers
    /// stop; a lower memory cap makes the kernel reclaim, then kill, inside that owner's cgroup only), later
    /// ones are made with them. How many cgroups were rewritten.
    pub fn set_limits(&self, limits: OwnerLimits) -> std::io::Result<usize> {
        let held = self.held();
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
        for name in held.keys() {
            self.write_limits(name, limits)?;
        }
        Ok(held.len())
    }

    /// The cgroup name of `owner` (a hash: a session token never appears in a path other host users can list).
    pub fn name_of(&self, owner: &str) -> String {
        format!("{}{}", self.prefix, hex(owner.as_bytes(), 16))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hold `owner`'s cgroup for one more container, making it (with the owner's limits) if it is the first.
    pub fn acquire(self: &Arc<Self>, owner: &str) -> std::io::Result<OwnerCgroup> {
        let name = self.name_of(owner);
        let mut held = self.held();
        let count = held.entry(name.clone()).or_default();
        if *count == 0 {
            if let Err(e) = self.create(&name) {
                held.remove(&name);
                self.remove(&name);
                return Err(e);
            }
        }
        *count += 1;
        Ok(OwnerCgroup {
            cgroups: self.clone(),
            name,
        })
    }

    fn release(&self, name: &str) {
        let mut held = self.held();
        let Some(count) = held.get_mut(name) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            held.remove(name);
            self.remove(name);
        }
    }

    /// Make `/slipway/NAME` with the owner's limits.
    fn create(&self, name: &str) -> std::io::Result<()> {
        if self.layout == Layout::V2 {
            let slipway = self.root.join("slipway");
            std::fs::create_dir_all(&slipway)?;
            let dir = slipway.join(name);
            std::fs::create_dir_all(&dir)?;
            // Controllers flow down through `cgroup.subtree_control` from the root to the owner's children.
            for parent in [self.root.as_path(), slipway.as_path(), dir.as_path()] {
                enable_controllers(&self.root, parent)?;
            }
        }
        self.write_limits(name, self.limits())
    }

    /// Write `limits` to `/slipway/NAME` (made for v1's controllers when missing).
    fn write_limits(&self, name: &str, limits: OwnerLimits) -> std::io::Result<()> {
        match self.layout {
            Layout::V2 => {
                let dir = self.root.join("slipway").join(name);
                write(&dir, "cpu.weight", limits.cpu_weight.clamp(1, 10_000))?;
                write(&dir, "memory.max", limits.memory)?;
                if dir.join("memory.swap.max").exists() {
                    write(&dir, "memory.swap.max", 0)?;
                }
                write(&dir, "pids.max", limits.pids)
            }
            Layout::V1 => {
                let at = |controller: &str| {
                    let hierarchy = self.root.join(controller);
                    let dir = hierarchy.join("slipway").join(name);
                    hierarchy.is_dir().then_some(dir)
                };
                if let Some(dir) = at("cpu") {
                    std::fs::create_dir_all(&dir)?;
                    write(&dir, "cpu.shares", (limits.cpu_weight * 1024 / 100).max(2))?;
                }
                if let Some(dir) = at("memory") {
                    std::fs::create_dir_all(&dir)?;
                    write_memory_v1(&dir, limits.memory)?;
                }
                if let Some(dir) = at("pids") {
                    std::fs::create_dir_all(&dir)?;
                    write(&dir, "pids.max", limits.pids)?;
                }
                Ok(())
            }
        }
    }

    /// Every hierarchy under the root (each v1 controller's, the v2 one at the root or at `unified/`): the
    /// runtime makes the container's path in each, so the owner's directory is in each too.
    fn hierarchies(&self) -> Vec<PathBuf> {
        let mut all = vec![self.root.clone()];
        if self.layout == Layout::V1 {
            let entries = std::fs::read_dir(&self.root).into_iter().flatten().flatten();
            // `cpu` and `cpuacct` are symlinks to `cpu,cpuacct`: the real directories only.
            all.extend(
                entries
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
        }
        all
    }

    /// Remove `/slipway/NAME` (and any empty cgroup left inside it) from every hierarchy.
    fn remove(&self, name: &str) {
        for hierarchy in self.hierarchies() {
            let dir = hierarchy.join("slipway").join(name);
            if dir.exists() {
                if let Err(e) = remove_cgroup(&dir) {
                    tracing::warn!(cgroup = %dir.display(), error = %e, "removing an owner's cgroup");
                }
            }
        }
    }

    /// Remove this runner's owner cgroups that no container holds (what a crashed run left; at a clean stop,
    /// what removing the containers did not). Returns how many went.
    pub fn sweep(&self) -> usize {
        let held = self.held();
        let mut names: Vec<String> = Vec::new();
        for hierarchy in self.hierarchies() {
            let entries = std::fs::read_dir(hierarchy.join("slipway"))
                .into_iter()
                .flatten()
                .flatten();
            for entry in entries {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(&self.prefix) && !held.contains_key(&name) && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        for name in &names {
            self.remove(name);
        }
        names.len()
    }

    /// The owner cgroup directories of this runner present in any hierarchy (tests).
    pub fn present(&self) -> Vec<PathBuf> {
        self.hierarchies()
            .into_iter()
            .flat_map(|h| {
                std::fs::read_dir(h.join("slipway"))
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .filter(|e| e.file_name().to_string_lossy().starts_with(&self.prefix))
            .map(|e| e.path())
            .collect()
    }
}

fn write(dir: &Path, file: &str, value: impl std::fmt::Display) -> std::io::Result<()> {
    std::fs::write(dir.join(file), value.to_string())
        .map_err(|e| std::io::Error::new(e.kind(), format!("writing {}: {e}", dir.join(file).display())))
}

/// v1: the memory cap, with swap where it is accounted. `memsw` may never be below `limit_in_bytes`, so a cap
/// going down is written memory first, one going up memsw first.
fn write_memory_v1(dir: &Path, memory: i64) -> std::io::Result<()> {
    let memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    let now: i64 = std::fs::read_to_string(dir.join("memory.limit_in_bytes"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(i64::MAX);
    if memsw && memory > now {
        write(dir, "memory.memsw.limit_in_bytes", memory)?;
    }
    write(dir, "memory.limit_in_bytes", memory)?;
    if memsw && memory <= now {
        write(dir, "memory.memsw.limit_in_bytes", memory)?;
    }
    Ok(())
}

/// v2: turn on the cpu, memory and pids controllers (those the root offers) for the children of `dir`.
fn enable_controllers(root: &Path, dir: &Path) -> std::io::Result<()> {
    let offered = std::fs::read_to_string(root.join("cgroup.controllers"))?;
    let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    for controller in ["cpu", "memory", "pids"] {
        let has = |list: &str| list.split_whitespace().any(|c| c == controller);
        if has(&offered) && !has(&enabled) {
            write(dir, "cgroup.subtree_control", format!("+{controller}"))?;
        }
    }
    Ok(())
}

/// rmdir a cgroup after the empty cgroups below it (a container's the runtime could not delete).
fn remove_cgroup(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = remove_cgroup(&entry.path());
        }
    }
    match std::fs::remove_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On the host's real cgroups (the tests run as root, as the server does).
    #[test]
    fn an_owners_cgroup_holds_its_limits_while_held_and_goes_with_the_last_hold() {
        let runner_dir = tempfile::tempdir().unwrap();
        let limits = OwnerLimits {
            memory: 300 << 20,
            pids: 77,
            cpu_weight: 50,
        };
        let cgroups = Arc::new(OwnerCgroups::new(runner_dir.path(), limits));
        let first = cgroups.acquire("session-a").unwrap();
        let second = cgroups.acquire("session-a").unwrap();
        let other = cgroups.acquire("session-b").unwrap();
        assert_eq!(first.path_of("x"), second.path_of("x"));
        assert_ne!(first.path_of("x"), other.path_of("x"));
        assert!(
            !first.path_of("x").contains("session-a"),
            "the token stays out of the path"
        );
        let name = cgroups.name_of("session-a");
        let read = |controller: &str, file: &str| {
            let dir = match cgroups.layout {
                Layout::V2 => cgroups.root.join("slipway").join(&name),
                Layout::V1 => cgroups.root.join(controller).join("slipway").join(&name),
            };
            std::fs::read_to_string(dir.join(file))
                .unwrap()
                .trim()
                .to_string()
        };
        match cgroups.layout {
            Layout::V2 => {
                assert_eq!(read("", "memory.max"), (300u64 << 20).to_string());
                assert_eq!(read("", "pids.max"), "77");
                assert_eq!(read("", "cpu.weight"), "50");
            }
            Layout::V1 => {
                assert_eq!(
                    read("memory", "memory.limit_in_bytes"),
                    (300u64 << 20).to_string()
                );
                assert_eq!(read("pids", "pids.max"), "77");
                assert_eq!(read("cpu", "cpu.shares"), "512");
            }
        }
        // Two owners, in each of cpu, memory and pids on v1, once on v2.
        let per_owner = if cgroups.layout == Layout::V2 { 1 } else { 3 };
        assert_eq!(cgroups.present().len(), 2 * per_owner, "{:?}", cgroups.present());
        drop(first);
        assert!(!cgroups.present().is_empty(), "still held");
        drop((second, other));
        assert_eq!(cgroups.present(), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_sweep_removes_this_runners_leftovers_only() {
        let (mine, theirs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let cgroups = Arc::new(OwnerCgroups::new(mine.path(), OwnerLimits::default()));
        let other = Arc::new(OwnerCgroups::new(theirs.path(), OwnerLimits::default()));
        let held = cgroups.acquire("kept").unwrap();
        let left = cgroups.acquire("left").unwrap();
        let others = other.acquire("left").unwrap();
        // A crash: the hold is gone without removing anything.
        std::mem::forget(left);
        cgroups.held().remove(&cgroups.name_of("left"));
        assert_eq!(cgroups.sweep(), 1);
        let names: Vec<String> = cgroups
            .present()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| *n == cgroups.name_of("kept")), "{names:?}");
        assert!(!other.present().is_empty(), "another runner's owner stays");
        drop((held, others));
        assert!(cgroups.present().is_empty() && other.present().is_empty());
    }
}
