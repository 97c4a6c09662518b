//! One service of the merged tree, read into the model with Compose's checks.

use std::collections::BTreeMap;

use super::check::Checker;
use super::model::{Build, Dependency, Healthcheck, Limits, Service, ServiceNetwork};
use super::tree::{Entry, Node, Value};
use super::values::{mount, parse_bytes, parse_duration, ports};

/// The service keys Slipway reads.
pub const SERVICE_KEYS: &[&str] = &[
    "build",
    "command",
    "container_name",
    "depends_on",
    "deploy",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "healthcheck",
    "image",
    "labels",
    "networks",
    "ports",
    "profiles",
    "pull_policy",
    "restart",
    "scale",
    "stdin_open",
    "tty",
    "user",
    "volumes",
    "working_dir",
];

/// Service keys of the Compose Specification that Slipway does not support yet: named as such, not as unknown.
pub const LATER_SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "configs",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "hostname",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "privileged",
    "provider",
    "read_only",
    "runtime",
    "secrets",
    "security_opt",
    "shm_size",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "ulimits",
    "userns_mode",
    "uts",
    "volumes_from",
];

/// What `env_file` entries name: the project path of each file and whether it must exist.
pub type EnvFiles = Vec<(String, bool)>;

/// Read service `name` (its entry in `services:`). Env files are returned for the caller to read.
pub fn service(c: &mut Checker, entry: &Entry) -> (Service, EnvFiles) {
    let name = &entry.key;
    let path = format!("services.{name}");
    let mut s = Service {
        name: name.clone(),
        pos: entry.key_pos,
        ..Service::default()
    };
    let mut env_files = Vec::new();
    for e in c.keys(&entry.node, &path, SERVICE_KEYS, LATER_SERVICE_KEYS) {
        let at = format!("{path}.{}", e.key);
        let n = &e.node;
        match e.key.as_str() {
            "build" => s.build = build(c, n, &at),
            "command" => s.command = c.command(n, &at),
            "container_name" => s.container_name = c.string(n, &at),
            "depends_on" => s.depends_on = depends_on(c, n, &at),
            "deploy" => s.limits = deploy(c, n, &at),
            "entrypoint" => s.entrypoint = c.command(n, &at),
            "env_file" => env_files = env_file(c, n, &at),
            "environment" => s.environment = c.key_values(n, &at),
            "expose" => s.expose = c.strings(n, &at),
            "healthcheck" => s.healthcheck = healthcheck(c, n, &at),
            "image" => s.image = c.string(n, &at),
            "labels" => s.labels = labels(c, n, &at),
            "networks" => s.networks = service_networks(c, n, &at),
            "ports" => {
                let items = c.list(n, &at);
                s.ports = items.iter().flat_map(|p| ports(c, p, &at)).collect();
            }
            "profiles" => s.profiles = c.strings(n, &at),
            "pull_policy" => s.pull_policy = pull_policy(c, n, &at),
            "restart" => s.restart = restart(c, n, &at),
            "scale" => s.scale = c.integer(n, &at),
            "stdin_open" => s.stdin_open = c.boolean(n, &at),
            "tty" => s.tty = c.boolean(n, &at),
            "user" => s.user = c.string_or_number(n, &at),
            "volumes" => {
                let items = c.list(n, &at);
                s.volumes = items.iter().filter_map(|v| mount(c, v, &at)).collect();
            }
            _ => s.working_dir = c.string(n, &at),
        }
    }
    // `environment: [FOO]` and `FOO: null` take the value of FOO where Compose runs.
    for (key, value) in s.environment.iter_mut() {
        if value.is_none() {
            *value = c.env.get(key).cloned();
        }
    }
    (s, env_files)
}

pub fn labels(c: &mut Checker, n: &Node, at: &str) -> BTreeMap<String, String> {
    c.key_values(n, at)
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

fn build(c: &mut Checker, n: &Node, at: &str) -> Option<Build> {
    let mut b = Build {
        context: c.project_path(n.pos, "."),
        dockerfile: "Dockerfile".to_string(),
        ..Build::default()
    };
    if let Value::Scalar { text, .. } = &n.value {
        b.context = c.project_path(n.pos, text);
        return Some(b);
    }
    let later = [
        "additional_contexts",
        "cache_from",
        "cache_to",
        "dockerfile_inline",
        "network",
        "platforms",
        "secrets",
        "ssh",
        "tags",
        "no_cache",
        "pull",
        "shm_size",
        "extra_hosts",
        "isolation",
        "privileged",
        "ulimits",
        "entitlements",
    ];
    for e in c.keys(
        n,
        at,
        &["context", "dockerfile", "args", "labels", "target"],
        &later,
    ) {
        let path = format!("{at}.{}", e.key);
        match e.key.as_str() {
            "context" => {
                if let Some(ctx) = c.string(&e.node, &path) {
                    b.context = c.project_path(e.node.pos, &ctx);
                }
            }
            "dockerfile" => b.dockerfile = c.string(&e.node, &path).unwrap_or(b.dockerfile),
            "args" => b.args = c.key_values(&e.node, &path),
            "labels" => b.labels = labels(c, &e.node, &path),
            _ => b.target = c.string(&e.node, &path),
        }
    }
    for (key, value) in b.args.iter_mut() {
        if value.is_none() {
            *value = c.env.get(key).cloned();
        }
    }
    Some(b)
}

const CONDITIONS: [&str; 3] = [
    "service_started",
    "service_healthy",
    "service_completed_successfully",
];

fn depends_on(c: &mut Checker, n: &Node, at: &str) -> BTreeMap<String, Dependency> {
    let started = || Dependency {
        condition: CONDITIONS[0].to_string(),
        restart: false,
        required: true,
    };
    let mut out = BTreeMap::new();
    if let Value::Seq(items) = &n.value {
        for item in items {
            if let Some(name) = c.string(item, at) {
                out.insert(name, started());
            }
        }
        return out;
    }
    if c.map(n, at).is_none() {
        return out;
    }
    for e in c_entries(n) {
        let path = format!("{at}.{}", e.key);
        let mut d = started();
        for f in c.keys(&e.node, &path, &["condition", "restart", "required"], &[]) {
            let fp = format!("{path}.{}", f.key);
            match f.key.as_str() {
                "condition" => match c.string(&f.node, &fp) {
                    Some(cond) if CONDITIONS.contains(&cond.as_str()) => d.condition = cond,
                    Some(_) => c.error(
                        f.node.pos,
                        format!("{fp} must be one of the following: \"service_started\", \"service_healthy\", \"service_completed_successfully\""),
                    ),
                    None => {}
                },
                "restart" => d.restart = c.boolean(&f.node, &fp).unwrap_or(false),
                _ => d.required = c.boolean(&f.node, &fp).unwrap_or(true),
            }
        }
        out.insert(e.key.clone(), d);
    }
    out
}

/// Every entry of a mapping (the keys of `depends_on:` are service names: any name is allowed).
fn c_entries(n: &Node) -> impl Iterator<Item = &Entry> {
    n.entries()
        .unwrap_or(&[])
        .iter()
        .filter(|e| !e.key.starts_with("x-"))
}

fn deploy(c: &mut Checker, n: &Node, at: &str) -> Option<Limits> {
    let later = [
        "mode",
        "replicas",
        "labels",
        "update_config",
        "rollback_config",
        "restart_policy",
        "placement",
        "endpoint_mode",
    ];
    let mut limits = None;
    for e in c.keys(n, at, &["resources"], &later) {
        let rp = format!("{at}.resources");
        for r in c.keys(&e.node, &rp, &["limits"], &["reservations"]) {
            let lp = format!("{rp}.limits");
            let mut l = Limits::default();
            for f in c.keys(&r.node, &lp, &["cpus", "memory", "pids"], &["devices"]) {
                let fp = format!("{lp}.{}", f.key);
                match f.key.as_str() {
                    "cpus" => match f.node.as_str().and_then(|t| t.parse::<f64>().ok()) {
                        Some(cpus) => l.cpus = Some(cpus),
                        None => c.error(f.node.pos, format!("{fp} must be a number or string")),
                    },
                    "memory" => match f.node.as_str().and_then(parse_bytes) {
                        Some(bytes) => l.memory = Some(bytes),
                        None => c.error(f.node.pos, format!("{fp} must be a size such as 512m or 1g")),
                    },
                    _ => l.pids = c.integer(&f.node, &fp).map(|p| p as i64),
                }
            }
            limits = Some(l);
        }
    }
    limits
}

fn env_file(c: &mut Checker, n: &Node, at: &str) -> EnvFiles {
    let one = |c: &mut Checker, item: &Node| -> Option<(String, bool)> {
        if let Value::Map(_) = &item.value {
            let (mut path, mut required) = (None, true);
            for f in c.keys(item, at, &["path", "required"], &["format"]) {
                match f.key.as_str() {
                    "path" => path = c.string(&f.node, &format!("{at}.path")).map(|p| (f.node.pos, p)),
                    _ => required = c.boolean(&f.node, &format!("{at}.required")).unwrap_or(true),
                }
            }
            return path.map(|(pos, p)| (relative(c, pos, &p), required));
        }
        c.string(item, at).map(|p| (relative(c, item.pos, &p), true))
    };
    match &n.value {
        Value::Seq(items) => items.iter().filter_map(|i| one(c, i)).collect(),
        _ => one(c, n).into_iter().collect(),
    }
}

/// A project path relative to the project's root, from a path written in the file at `pos`.
fn relative(c: &Checker, pos: super::error::Pos, path: &str) -> String {
    let dir = c.file_dirs.get(pos.file).map(String::as_str).unwrap_or("");
    super::check::join(dir, path)
}

fn healthcheck(c: &mut Checker, n: &Node, at: &str) -> Option<Healthcheck> {
    let mut h = Healthcheck::default();
    let keys = [
        "test",
        "interval",
        "timeout",
        "start_period",
        "start_interval",
        "retries",
        "disable",
    ];
    for e in c.keys(n, at, &keys, &[]) {
        let path = format!("{at}.{}", e.key);
        match e.key.as_str() {
            "test" => {
                h.test = match &e.node.value {
                    Value::Scalar { text, .. } => Some(vec!["CMD-SHELL".to_string(), text.clone()]),
                    _ => c.command(&e.node, &path),
                };
                if let Some(first) = h.test.as_ref().and_then(|t| t.first()) {
                    if !matches!(first.as_str(), "NONE" | "CMD" | "CMD-SHELL") {
                        c.error(
                            e.node.pos,
                            format!("{path} must start with \"CMD\", \"CMD-SHELL\" or \"NONE\""),
                        );
                    }
                }
            }
            "retries" => h.retries = c.integer(&e.node, &path),
            "disable" => h.disable = c.boolean(&e.node, &path).unwrap_or(false),
            key => {
                let d = match e.node.as_str().and_then(parse_duration) {
                    Some(d) => Some(d),
                    None => {
                        c.error(
                            e.node.pos,
                            format!("{path}: invalid duration {:?}", e.node.as_str().unwrap_or("")),
                        );
                        None
                    }
                };
                match key {
                    "interval" => h.interval = d,
                    "timeout" => h.timeout = d,
                    "start_period" => h.start_period = d,
                    _ => h.start_interval = d,
                }
            }
        }
    }
    Some(h)
}

fn service_networks(c: &mut Checker, n: &Node, at: &str) -> BTreeMap<String, Option<ServiceNetwork>> {
    let mut out = BTreeMap::new();
    if let Value::Seq(items) = &n.value {
        for item in items {
            if let Some(name) = c.string(item, at) {
                out.insert(name, None);
            }
        }
        return out;
    }
    if c.map(n, at).is_none() {
        return out;
    }
    for e in c_entries(n) {
        let path = format!("{at}.{}", e.key);
        if e.node.is_null() {
            out.insert(e.key.clone(), None);
            continue;
        }
        let later = [
            "ipv4_address",
            "ipv6_address",
            "link_local_ips",
            "mac_address",
            "driver_opts",
            "priority",
            "gw_priority",
            "interface_name",
        ];
        let mut net = ServiceNetwork::default();
        for f in c.keys(&e.node, &path, &["aliases"], &later) {
            net.aliases = c.strings(&f.node, &format!("{path}.aliases"));
        }
        out.insert(e.key.clone(), Some(net));
    }
    out
}

/// The Compose Specification's `pull_policy` values (its JSON schema's enum).
pub const PULL_POLICIES: [&str; 5] = ["always", "never", "if_not_present", "build", "missing"];

fn pull_policy(c: &mut Checker, n: &Node, at: &str) -> Option<String> {
    let policy = c.string(n, at)?;
    if PULL_POLICIES.contains(&policy.as_str()) {
        return Some(policy);
    }
    let list: Vec<String> = PULL_POLICIES.iter().map(|p| format!("{p:?}")).collect();
    c.error(
        n.pos,
        format!("{at} must be one of the following: {}", list.join(", ")),
    );
    None
}

fn restart(c: &mut Checker, n: &Node, at: &str) -> Option<String> {
    let policy = c.string(n, at)?;
    let on_failure_count = policy
        .strip_prefix("on-failure:")
        .is_some_and(|n| n.parse::<u32>().is_ok());
    if matches!(policy.as_str(), "no" | "always" | "on-failure" | "unless-stopped") || on_failure_count {
        Some(policy)
    } else {
        c.error(n.pos, format!("invalid restart policy: unknown policy '{policy}'; use one of 'no', 'always', 'on-failure' or 'unless-stopped'"));
        None
    }
}
