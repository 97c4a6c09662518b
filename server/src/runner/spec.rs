//! The OCI runtime spec for one container: the image config plus `docker run` options, with Slipway's
//! isolation defaults (namespaces, Docker's capabilities minus NET_RAW, no_new_privileges, seccomp, limits).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::BoxBuilder as ConsoleSizeBuilder;
use oci_spec::runtime::{
    get_default_maskedpaths, get_default_mounts, get_default_readonly_paths, Capability, Linux, LinuxBuilder,
    LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxIdMappingBuilder,
    LinuxMemoryBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder, Mount, MountBuilder, PosixRlimitBuilder, PosixRlimitType, Process, ProcessBuilder,
    RootBuilder, Spec, SpecBuilder, UserBuilder,
};
use serde::{Deserialize, Serialize};

use super::unpack::IdShift;
use super::users::ResolvedUser;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no command: the image has no Entrypoint or Cmd and none was given")]
    NoCommand,
    #[error("invalid option: {0}")]
    Invalid(String),
    #[error("building the runtime spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

/// The `docker run` flags the runner understands: the protocol's (the JSON body of `POST /api/containers`).
pub use slipway::api::{PortMapping, RunOptions};

/// Limits applied when the options give none, and the ceilings options cannot exceed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Limits {
    pub memory: i64,
    pub pids: i64,
    pub cpus: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 512 << 20,
            pids: 256,
            cpus: 1.0,
        }
    }
}

/// Everything besides the image and options that the spec needs.
#[derive(Debug, Clone)]
pub struct SpecContext {
    pub rootfs: PathBuf,
    pub hostname: String,
    pub cgroups_path: String,
    /// Files bind-mounted at /etc/hosts, /etc/hostname, /etc/resolv.conf.
    pub etc_dir: PathBuf,
    pub user: ResolvedUser,
    /// Some: run in a user namespace mapping container ids 0..size to host base..base+size.
    pub userns: Option<IdShift>,
    pub defaults: Limits,
    pub ceilings: Limits,
}

/// Docker's default capability set without CAP_NET_RAW (raw sockets are refused in Slipway).
pub const DEFAULT_CAPS: &[Capability] = &[
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// The process arguments: Entrypoint + Cmd with Docker's override rules.
pub fn command(image: Option<&oci_spec::image::Config>, opts: &RunOptions) -> Result<Vec<String>, SpecError> {
    let image_entry = image.and_then(|c| c.entrypoint().clone()).unwrap_or_default();
    let image_cmd = image.and_then(|c| c.cmd().clone()).unwrap_or_default();
    let (entry, cmd) = match &opts.entrypoint {
        Some(e) => {
            let e: Vec<String> = e.iter().filter(|s| !s.is_empty()).cloned().collect();
            (e, opts.cmd.clone())
        }
        None if !opts.cmd.is_empty() => (image_entry, opts.cmd.clone()),
        None => (image_entry, image_cmd),
    };
    let args: Vec<String> = entry.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok(args)
}

/// Image Env, then `-e` overrides (same key replaced, bare `KEY` removed), then HOSTNAME, HOME and TERM defaults.
pub fn environment(
    image_env: &[String],
    overrides: &[String],
    hostname: &str,
    home: &str,
    tty: bool,
) -> Vec<String> {
    let mut env: Vec<(String, Option<String>)> = Vec::new();
    let mut set = |entry: &str| {
        let (k, v) = match entry.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (entry.to_string(), None),
        };
        match env.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => env.push((k, v)),
        }
    };
    let has = |list: &[String], key: &str| list.iter().any(|e| e.split('=').next() == Some(key));
    if !has(image_env, "PATH") && !has(overrides, "PATH") {
        set("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    }
    set(&format!("HOSTNAME={hostname}"));
    for e in image_env.iter().chain(overrides) {
        set(e);
    }
    if !has(image_env, "HOME") && !has(overrides, "HOME") {
        set(&format!("HOME={home}"));
    }
    if tty && !has(image_env, "TERM") && !has(overrides, "TERM") {
        set("TERM=xterm");
    }
    env.into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect()
}

fn bind(dest: &str, source: &Path, ro: bool) -> Result<Mount, SpecError> {
    let mut options = vec![
        "rbind".to_string(),
        "rprivate".to_string(),
        "nosuid".to_string(),
        "nodev".to_string(),
    ];
    options.push(if ro { "ro" } else { "rw" }.to_string());
    Ok(MountBuilder::default()
        .destination(dest)
        .typ("bind")
        .source(source)
        .options(options)
        .build()?)
}

/// Whether memory+swap can be limited (cgroup v1 needs swap accounting; v2 always has `memory.swap.max`).
pub(crate) fn swap_accounting() -> bool {
    let v1 = Path::new("/sys/fs/cgroup/memory");
    !v1.is_dir() || v1.join("memory.memsw.limit_in_bytes").exists()
}

/// The host's hard limit for open files: rlimits above it would fail (no CAP_SYS_RESOURCE here).
fn nofile_hard() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .maximum
        .unwrap_or(1 << 20)
        .min(1 << 20)
}

/// The OCI runtime spec for one container: the image's config plus the `docker run` flags, within the server's limits.
pub fn build(image: &ImageConfiguration, opts: &RunOptions, ctx: &SpecContext) -> Result<Spec, SpecError> {
    let caps: HashSet<Capability> = DEFAULT_CAPS.iter().copied().collect();
    let process = process(image, opts, ctx, &caps)?;
    check_hostname(&ctx.hostname)?;

    let mut mounts: Vec<Mount> = get_default_mounts();
    mounts.push(bind("/etc/hosts", &ctx.etc_dir.join("hosts"), false)?);
    mounts.push(bind("/etc/hostname", &ctx.etc_dir.join("hostname"), false)?);
    mounts.push(bind("/etc/resolv.conf", &ctx.etc_dir.join("resolv.conf"), false)?);

    Ok(SpecBuilder::default()
        .version("1.0.2")
        .root(RootBuilder::default().path(&ctx.rootfs).readonly(false).build()?)
        .hostname(ctx.hostname.clone())
        .process(process)
        .mounts(mounts)
        .linux(linux(opts, ctx, &caps)?)
        .build()?)
}

fn check_hostname(hostname: &str) -> Result<(), SpecError> {
    let valid = !hostname.is_empty()
        && hostname.len() <= 63
        && hostname
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid {
        Ok(())
    } else {
        Err(SpecError::Invalid(format!("invalid hostname {hostname:?}")))
    }
}

/// The process: command, environment, working directory, user, capabilities (only root holds them), rlimits.
fn process(
    image: &ImageConfiguration,
    opts: &RunOptions,
    ctx: &SpecContext,
    caps: &HashSet<Capability>,
) -> Result<Process, SpecError> {
    let cfg = image.config().as_ref();
    let args = command(cfg, opts)?;
    let image_env = cfg.and_then(|c| c.env().clone()).unwrap_or_default();
    let env = environment(&image_env, &opts.env, &ctx.hostname, &ctx.user.home, opts.tty);
    let cwd = opts
        .workdir
        .clone()
        .or_else(|| cfg.and_then(|c| c.working_dir().clone()))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".to_string());
    if !cwd.starts_with('/') {
        return Err(SpecError::Invalid(format!(
            "working directory {cwd:?} is not absolute"
        )));
    }

    let root_user = ctx.user.uid == 0;
    let active = if root_user { caps.clone() } else { HashSet::new() };
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(active.clone())
        .permitted(active.clone())
        .inheritable(HashSet::new())
        .ambient(HashSet::new())
        .build()?;
    let hard = nofile_hard();
    let rlimits = vec![PosixRlimitBuilder::default()
        .typ(PosixRlimitType::RlimitNofile)
        .soft(1024.min(hard))
        .hard(hard)
        .build()?];
    let mut user = UserBuilder::default()
        .uid(ctx.user.uid)
        .gid(ctx.user.gid)
        .umask(0o022u32);
    if !ctx.user.additional_gids.is_empty() {
        user = user.additional_gids(ctx.user.additional_gids.clone());
    }
    let mut process = ProcessBuilder::default();
    if let (true, Some([rows, cols])) = (opts.tty, opts.console_size) {
        let size = ConsoleSizeBuilder::default()
            .height(u64::from(rows))
            .width(u64::from(cols))
            .build()?;
        process = process.console_size(size);
    }
    Ok(process
        .terminal(opts.tty)
        .args(args)
        .env(env)
        .cwd(cwd)
        .user(user.build()?)
        .capabilities(capabilities)
        .rlimits(rlimits)
        .no_new_privileges(true)
        .build()?)
}

/// The cgroup limits: the flags' memory, pids and CPUs, defaulted and capped by the server's.
fn resources(opts: &RunOptions, ctx: &SpecContext) -> Result<LinuxResources, SpecError> {
    let memory = opts
        .memory
        .unwrap_or(ctx.defaults.memory)
        .min(ctx.ceilings.memory);
    if memory < 6 << 20 {
        return Err(SpecError::Invalid("minimum memory limit allowed is 6MB".into()));
    }
    let pids = opts
        .pids_limit
        .unwrap_or(ctx.defaults.pids)
        .min(ctx.ceilings.pids)
        .max(1);
    let cpus = opts.cpus.unwrap_or(ctx.defaults.cpus).min(ctx.ceilings.cpus);
    if cpus <= 0.0 || cpus.is_nan() {
        return Err(SpecError::Invalid(format!("--cpus must be positive, not {cpus}")));
    }
    let period: u64 = 100_000;
    Ok(LinuxResourcesBuilder::default()
        .devices(vec![LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()?])
        .memory(if swap_accounting() {
            LinuxMemoryBuilder::default().limit(memory).swap(memory).build()?
        } else {
            LinuxMemoryBuilder::default().limit(memory).build()?
        })
        .pids(LinuxPidsBuilder::default().limit(pids).build()?)
        .cpu(
            LinuxCpuBuilder::default()
                .period(period)
                .quota((cpus * period as f64) as i64)
                .build()?,
        )
        .build()?)
}

/// The `linux` section: limits, namespaces (a user namespace when the server has a uid range), masked paths, seccomp.
fn linux(opts: &RunOptions, ctx: &SpecContext, caps: &HashSet<Capability>) -> Result<Linux, SpecError> {
    let mut namespaces = Vec::new();
    for typ in [
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Cgroup,
    ] {
        namespaces.push(LinuxNamespaceBuilder::default().typ(typ).build()?);
    }
    let mut linux = LinuxBuilder::default()
        .resources(resources(opts, ctx)?)
        .cgroups_path(PathBuf::from(&ctx.cgroups_path))
        .masked_paths(get_default_maskedpaths())
        .readonly_paths(get_default_readonly_paths())
        .seccomp(super::seccomp::profile(caps)?);
    if let Some(shift) = ctx.userns {
        namespaces.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::User)
                .build()?,
        );
        let map = LinuxIdMappingBuilder::default()
            .container_id(0u32)
            .host_id(shift.base)
            .size(shift.size)
            .build()?;
        linux = linux.uid_mappings(vec![map]).gid_mappings(vec![map]);
    }
    Ok(linux.namespaces(namespaces).build()?)
}

/// The per-container /etc files, written to `dir`.
pub fn write_etc_files(dir: &Path, hostname: &str, outbound: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("hosts"),
        format!("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{hostname}\n"),
    )?;
    std::fs::write(dir.join("hostname"), format!("{hostname}\n"))?;
    let resolv = if outbound {
        // slirp4netns answers DNS there, forwarding to the host's resolvers.
        format!("nameserver {}\noptions ndots:0\n", super::outbound::SLIRP_DNS)
    } else {
        // Outbound networking is off: no nameserver is reachable, so none is listed.
        "# Slipway: this container has no outbound network.\noptions ndots:0\n".to_string()
    };
    std::fs::write(dir.join("resolv.conf"), resolv)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(entry: &[&str], cmd: &[&str]) -> oci_spec::image::Config {
        let mut c = oci_spec::image::Config::default();
        let v = |a: &[&str]| (!a.is_empty()).then(|| a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        c.set_entrypoint(v(entry));
        c.set_cmd(v(cmd));
        c
    }

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entrypoint_and_cmd_follow_docker_rules() {
        let img = image(&["/entry"], &["default"]);
        let opts = RunOptions::default();
        assert_eq!(
            command(Some(&img), &opts).unwrap(),
            strings(&["/entry", "default"])
        );
        let opts = RunOptions {
            cmd: strings(&["mine"]),
            ..RunOptions::default()
        };
        assert_eq!(command(Some(&img), &opts).unwrap(), strings(&["/entry", "mine"]));
        // --entrypoint drops the image's Cmd too.
        let opts = RunOptions {
            entrypoint: Some(strings(&["sh"])),
            ..RunOptions::default()
        };
        assert_eq!(command(Some(&img), &opts).unwrap(), strings(&["sh"]));
        let opts = RunOptions {
            entrypoint: Some(strings(&[""])),
            cmd: strings(&["ls"]),
            ..RunOptions::default()
        };
        assert_eq!(command(Some(&img), &opts).unwrap(), strings(&["ls"]));
        assert!(matches!(
            command(Some(&image(&[], &[])), &RunOptions::default()),
            Err(SpecError::NoCommand)
        ));
    }

    #[test]
    fn environment_overrides_removes_and_defaults() {
        let env = environment(
            &strings(&["PATH=/usr/bin", "A=1", "B=2"]),
            &strings(&["A=override", "B", "C=3"]),
            "host",
            "/root",
            true,
        );
        assert_eq!(
            env,
            strings(&[
                "HOSTNAME=host",
                "PATH=/usr/bin",
                "A=override",
                "C=3",
                "HOME=/root",
                "TERM=xterm"
            ])
        );
        let env = environment(&[], &[], "h", "/", false);
        assert_eq!(
            env[0],
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        );
    }

    #[test]
    fn spec_has_isolation_defaults_and_refuses_bad_options() {
        let ctx = SpecContext {
            rootfs: "/r".into(),
            hostname: "h".into(),
            cgroups_path: "/slipway/x".into(),
            etc_dir: "/e".into(),
            user: ResolvedUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![],
                home: "/home/a".into(),
            },
            userns: Some(IdShift {
                base: 100_000,
                size: 65_536,
            }),
            defaults: Limits::default(),
            ceilings: Limits::default(),
        };
        let img = ImageConfiguration::default();
        let opts = RunOptions {
            cmd: strings(&["true"]),
            memory: Some(1 << 40),
            ..RunOptions::default()
        };
        let spec = build(&img, &opts, &ctx).unwrap();
        let process = spec.process().as_ref().unwrap();
        assert_eq!(process.no_new_privileges(), Some(true));
        let caps = process.capabilities().as_ref().unwrap();
        assert!(
            caps.effective().as_ref().unwrap().is_empty(),
            "a non-root user gets no effective capabilities"
        );
        assert!(!caps.bounding().as_ref().unwrap().contains(&Capability::NetRaw));
        let linux = spec.linux().as_ref().unwrap();
        let memory = linux.resources().as_ref().unwrap().memory().unwrap();
        assert_eq!(
            memory.limit(),
            Some(Limits::default().memory),
            "clamped to the ceiling"
        );
        assert_eq!(linux.cgroups_path().as_deref(), Some(Path::new("/slipway/x")));
        assert!(linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::User));
        assert!(linux.seccomp().is_some());
        let bad_host = SpecContext {
            hostname: "a\nb".into(),
            ..ctx.clone()
        };
        assert!(matches!(
            build(&img, &opts, &bad_host),
            Err(SpecError::Invalid(_))
        ));
        // Host ports are the runner's to check before any spec is built (`check_publish`, the published range).
        let relative = RunOptions {
            workdir: Some("tmp".into()),
            ..opts
        };
        assert!(matches!(build(&img, &relative, &ctx), Err(SpecError::Invalid(_))));
    }
}
