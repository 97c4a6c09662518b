//! `docker compose config`: the model as Compose v2 prints it (YAML, keys in Compose's order, defaults filled,
//! ports and volumes in their long form, environment as a mapping).

use std::collections::BTreeMap;

use super::model::{
    Build, Dependency, Healthcheck, Limits, Mount, Network, Port, Project, Service, ServiceNetwork, Volume,
};
use super::values::format_duration;

/// A YAML value to print.
#[derive(Debug, Clone, PartialEq)]
enum Y {
    /// A string (quoted when YAML would read it as something else).
    Str(String),
    /// A number or boolean, printed as is.
    Raw(String),
    Null,
    Map(Vec<(String, Y)>),
    Seq(Vec<Y>),
}

fn s(v: &str) -> Y {
    Y::Str(v.to_string())
}

fn raw(v: impl ToString) -> Y {
    Y::Raw(v.to_string())
}

/// Builds a mapping, leaving out what is not set.
#[derive(Default)]
struct M(Vec<(String, Y)>);

impl M {
    fn put(mut self, key: &str, value: Y) -> Self {
        self.0.push((key.to_string(), value));
        self
    }

    fn opt(self, key: &str, value: Option<Y>) -> Self {
        match value {
            Some(v) => self.put(key, v),
            None => self,
        }
    }

    fn strs(self, key: &str, values: &[String]) -> Self {
        let list = (!values.is_empty()).then(|| Y::Seq(values.iter().map(|v| s(v)).collect()));
        self.opt(key, list)
    }

    fn map(self, key: &str, values: &BTreeMap<String, String>) -> Self {
        let map =
            (!values.is_empty()).then(|| Y::Map(values.iter().map(|(k, v)| (k.clone(), s(v))).collect()));
        self.opt(key, map)
    }

    fn nullable(self, key: &str, values: &BTreeMap<String, Option<String>>) -> Self {
        let map = (!values.is_empty()).then(|| {
            Y::Map(
                values
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_deref().map(s).unwrap_or(Y::Null)))
                    .collect(),
            )
        });
        self.opt(key, map)
    }

    fn done(self) -> Y {
        Y::Map(self.0)
    }
}

/// The whole `docker compose config` output: enabled services only.
pub fn config_yaml(project: &Project) -> String {
    let services: Vec<(String, Y)> = project
        .services
        .values()
        .filter(|svc| svc.enabled(&project.active_profiles))
        .map(|svc| (svc.name.clone(), service(svc)))
        .collect();
    let mut top = M::default()
        .put("name", s(&project.name))
        .put("services", Y::Map(services));
    if !project.networks.is_empty() {
        top = top.put(
            "networks",
            Y::Map(
                project
                    .networks
                    .iter()
                    .map(|(k, n)| (k.clone(), network(n)))
                    .collect(),
            ),
        );
    }
    if !project.volumes.is_empty() {
        top = top.put(
            "volumes",
            Y::Map(
                project
                    .volumes
                    .iter()
                    .map(|(k, v)| (k.clone(), volume(v)))
                    .collect(),
            ),
        );
    }
    let mut out = String::new();
    write_map(
        &mut out,
        &match top.done() {
            Y::Map(entries) => entries,
            _ => Vec::new(),
        },
        0,
    );
    out
}

fn service(svc: &Service) -> Y {
    M::default()
        .strs("profiles", &svc.profiles)
        .opt("build", svc.build.as_ref().map(build))
        .opt(
            "command",
            svc.command
                .as_ref()
                .map(|c| Y::Seq(c.iter().map(|w| s(w)).collect())),
        )
        .opt("container_name", svc.container_name.as_deref().map(s))
        .opt(
            "depends_on",
            (!svc.depends_on.is_empty()).then(|| depends_on(&svc.depends_on)),
        )
        .opt("deploy", svc.limits.as_ref().map(limits))
        .opt(
            "entrypoint",
            svc.entrypoint
                .as_ref()
                .map(|c| Y::Seq(c.iter().map(|w| s(w)).collect())),
        )
        .nullable("environment", &svc.environment)
        .strs("expose", &svc.expose)
        .opt("healthcheck", svc.healthcheck.as_ref().map(healthcheck))
        .opt("image", svc.image.as_deref().map(s))
        .map("labels", &svc.labels)
        .opt(
            "networks",
            (!svc.networks.is_empty()).then(|| networks(&svc.networks)),
        )
        .opt(
            "ports",
            (!svc.ports.is_empty()).then(|| Y::Seq(svc.ports.iter().map(port).collect())),
        )
        .opt("pull_policy", svc.pull_policy.as_deref().map(s))
        .opt("restart", svc.restart.as_deref().map(s))
        .opt("scale", svc.scale.map(raw))
        .opt("stdin_open", svc.stdin_open.map(raw))
        .opt("tty", svc.tty.map(raw))
        .opt("user", svc.user.as_deref().map(s))
        .opt(
            "volumes",
            (!svc.volumes.is_empty()).then(|| Y::Seq(svc.volumes.iter().map(mount).collect())),
        )
        .opt("working_dir", svc.working_dir.as_deref().map(s))
        .done()
}

fn build(b: &Build) -> Y {
    M::default()
        .put("context", s(&b.context))
        .put("dockerfile", s(&b.dockerfile))
        .nullable("args", &b.args)
        .map("labels", &b.labels)
        .opt("target", b.target.as_deref().map(s))
        .done()
}

fn depends_on(deps: &BTreeMap<String, Dependency>) -> Y {
    Y::Map(
        deps.iter()
            .map(|(name, d)| {
                let entry = M::default()
                    .put("condition", s(&d.condition))
                    .opt("restart", d.restart.then(|| raw(true)))
                    .put("required", raw(d.required));
                (name.clone(), entry.done())
            })
            .collect(),
    )
}

fn limits(l: &Limits) -> Y {
    let limits = M::default()
        .opt("cpus", l.cpus.map(raw))
        .opt("memory", l.memory.map(|m| s(&m.to_string())))
        .opt("pids", l.pids.map(raw))
        .done();
    M::default()
        .put("resources", M::default().put("limits", limits).done())
        .done()
}

fn healthcheck(h: &Healthcheck) -> Y {
    let d = |v: Option<super::model::Duration>| v.map(|d| s(&format_duration(d)));
    M::default()
        .opt(
            "test",
            h.test.as_ref().map(|t| Y::Seq(t.iter().map(|w| s(w)).collect())),
        )
        .opt("timeout", d(h.timeout))
        .opt("interval", d(h.interval))
        .opt("retries", h.retries.map(raw))
        .opt("start_period", d(h.start_period))
        .opt("start_interval", d(h.start_interval))
        .opt("disable", h.disable.then(|| raw(true)))
        .done()
}

fn networks(nets: &BTreeMap<String, Option<ServiceNetwork>>) -> Y {
    Y::Map(
        nets.iter()
            .map(|(name, n)| {
                let value = match n {
                    Some(n) if !n.aliases.is_empty() => M::default().strs("aliases", &n.aliases).done(),
                    _ => Y::Null,
                };
                (name.clone(), value)
            })
            .collect(),
    )
}

fn port(p: &Port) -> Y {
    M::default()
        .opt("name", p.name.as_deref().map(s))
        .put("mode", s(&p.mode))
        .opt("host_ip", p.host_ip.as_deref().map(s))
        .put("target", raw(p.target))
        .opt("published", p.published.as_deref().map(s))
        .put("protocol", s(&p.protocol))
        .opt("app_protocol", p.app_protocol.as_deref().map(s))
        .done()
}

fn mount(m: &Mount) -> Y {
    let bind = M::default()
        .opt("create_host_path", m.create_host_path.then(|| raw(true)))
        .done();
    M::default()
        .put("type", s(m.kind.as_str()))
        .opt("source", m.source.as_deref().map(s))
        .put("target", s(&m.target))
        .opt("read_only", m.read_only.then(|| raw(true)))
        .opt("bind", (m.kind == super::model::MountType::Bind).then_some(bind))
        .opt(
            "volume",
            (m.kind == super::model::MountType::Volume).then(|| Y::Map(Vec::new())),
        )
        .done()
}

fn network(n: &Network) -> Y {
    M::default()
        .put("name", s(&n.name))
        .opt("driver", n.driver.as_deref().map(s))
        .opt("external", n.external.then(|| raw(true)))
        .opt("internal", n.internal.then(|| raw(true)))
        .opt("attachable", n.attachable.then(|| raw(true)))
        .map("labels", &n.labels)
        .done()
}

fn volume(v: &Volume) -> Y {
    M::default()
        .put("name", s(&v.name))
        .opt("driver", v.driver.as_deref().map(s))
        .opt("external", v.external.then(|| raw(true)))
        .map("labels", &v.labels)
        .done()
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_map(out: &mut String, entries: &[(String, Y)], indent: usize) {
    for (i, (key, value)) in entries.iter().enumerate() {
        // The first entry of a mapping inside a list goes on the `- ` line.
        if i > 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push_str(&quote(key));
        out.push(':');
        write_value(out, value, indent);
    }
}

/// After `key:`: the value on the same line, or below, indented.
fn write_value(out: &mut String, value: &Y, indent: usize) {
    match value {
        Y::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Y::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Y::Map(entries) => {
            out.push('\n');
            write_map(out, entries, indent + 2);
        }
        Y::Seq(items) => {
            out.push('\n');
            for item in items {
                pad(out, indent + 2);
                out.push_str("- ");
                match item {
                    Y::Map(entries) if !entries.is_empty() => write_map(out, entries, indent + 4),
                    other => {
                        out.push_str(&scalar(other));
                        out.push('\n');
                    }
                }
            }
        }
        Y::Str(text) if text.contains('\n') && !text.ends_with(char::is_whitespace) => {
            // Several lines: a literal block, as go-yaml writes it.
            out.push_str(" |-\n");
            for line in escape_dollars(text).lines() {
                if !line.is_empty() {
                    pad(out, indent + 2);
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

/// The output is a compose file again: a `$` that was `$$` (or came from a variable) is written `$$`.
fn escape_dollars(v: &str) -> String {
    v.replace('$', "$$")
}

fn scalar(value: &Y) -> String {
    match value {
        Y::Str(v) => quote(&escape_dollars(v)),
        Y::Raw(v) => v.clone(),
        Y::Null => "null".to_string(),
        Y::Map(_) => "{}".to_string(),
        Y::Seq(_) => "[]".to_string(),
    }
}

/// A string as go-yaml writes it: plain when YAML reads it back as the same string, else double-quoted.
pub fn quote(v: &str) -> String {
    if needs_quotes(v) {
        let mut q = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                '\n' => q.push_str("\\n"),
                '\t' => q.push_str("\\t"),
                c if c.is_control() => q.push_str(&format!("\\u{:04X}", c as u32)),
                c => q.push(c),
            }
        }
        q.push('"');
        q
    } else {
        v.to_string()
    }
}

fn needs_quotes(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let special_word = matches!(
        lower.as_str(),
        "" | "~"
            | "null"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | ".nan"
    );
    let number = v.parse::<f64>().is_ok() || v.starts_with("0x") || v.starts_with("0o");
    // `-x` and `--flag` stay plain; `-` alone or `- x` would read as a list.
    let dash_ok = v.starts_with('-') && v.len() > 1 && !v.starts_with("- ") && v != "---";
    let bad_start =
        v.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace()) && !dash_ok;
    special_word
        || number
        || bad_start
        || v.ends_with(char::is_whitespace)
        || v.ends_with(':')
        || v.contains(": ")
        || v.contains(" #")
        || v.chars().any(|c| c.is_control())
}
