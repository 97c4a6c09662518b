//! What `docker inspect` prints ([`super::inspect_kinds`] looks the names up): docker 28's objects, a JSON array
//! with the fields a course uses, or `--format` Go templates for the simple paths (`{{.State.Status}}`, `{{json .Config}}`,
//! `{{index .Config.Labels "k"}}`). A template that needs more of Go's templates is refused with a clear error: it
//! never prints a value docker would not.

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::format::fill_actions;
use super::image_info::docker_json;
use super::inspect_mounts;
use super::outcome::Outcome;
use super::supervision;
use crate::api::{ContainerInspect, ContainerStatus};
use crate::image::rfc3339;

/// A JSON value whose objects keep their fields in order (docker prints its structs' fields in their order).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// Any serializable value, its fields in their serialization order.
    pub fn of<V: Serialize>(value: &V) -> Node {
        serde_json::to_string(value)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(Node::Null)
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// An object with `key: value` added after its field `after` (first when None or missing).
    pub fn with_field(self, after: Option<&str>, key: &str, value: Node) -> Node {
        let Node::Object(mut fields) = self else {
            return self;
        };
        let at = after
            .and_then(|a| fields.iter().position(|(k, _)| k == a))
            .map_or(0, |i| i + 1);
        fields.insert(at, (key.to_string(), value));
        Node::Object(fields)
    }

    fn is_scalar(&self) -> bool {
        matches!(self, Node::Bool(_) | Node::Number(_) | Node::String(_))
    }

    /// As Go's `fmt` prints a scalar.
    fn scalar_text(&self) -> String {
        match self {
            Node::Bool(b) => b.to_string(),
            Node::Number(n) => n.to_string(),
            Node::String(s) => s.clone(),
            _ => String::new(),
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => serializer.serialize_unit(),
            Node::Bool(b) => serializer.serialize_bool(*b),
            Node::Number(n) => n.serialize(serializer),
            Node::String(s) => serializer.serialize_str(s),
            Node::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
                Ok(Node::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
                Ok(Node::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
                Ok(Node::Number(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Node, E> {
                Ok(serde_json::Number::from_f64(n).map_or(Node::Null, Node::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Node, E> {
                Ok(Node::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Node, E> {
                Ok(Node::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry()? {
                    fields.push((k, v));
                }
                Ok(Node::Object(fields))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// Why a `--format` template gave no output, in Go's and docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InspectTemplateError {
    #[error("template parsing error: template: :1: unclosed action")]
    Unclosed,
    #[error(
        "template parsing error: template: :1:{column}: executing \"\" at <{path}>: map has no entry for key \"{key}\""
    )]
    NoEntry {
        column: usize,
        path: String,
        key: String,
    },
    #[error(
        "template parsing error: template: :1:{column}: executing \"\" at <{path}>: can't evaluate field {key} in type {kind}"
    )]
    NotAStruct {
        column: usize,
        path: String,
        key: String,
        kind: &'static str,
    },
    #[error(
        "template: {{{{{action}}}}} is not supported in this terminal: it knows {{{{.Field.Sub}}}}, {{{{json .Field}}}} \
         and {{{{index .Field \"key\"}}}}"
    )]
    Unsupported { action: String },
    #[error(
        "template: {{{{{path}}}}} is a struct, which docker prints in Go's own syntax: this terminal prints it as \
         JSON only: {{{{json {path}}}}}"
    )]
    Struct { path: String },
}

/// Keys whose values are Go slices (`[a b]`; `[]` when null) and maps (`map[k:v]`; `map[]` when null).
const LISTS: &[&str] = &[
    "Args",
    "Cmd",
    "Entrypoint",
    "Env",
    "RepoTags",
    "RepoDigests",
    "Layers",
    "OnBuild",
];
const MAPS: &[&str] = &["Labels", "ExposedPorts", "Volumes"];

/// Fill `template` from `root`, Go's `text/template` for the forms docker users type.
pub fn render(template: &str, root: &Node) -> Result<String, InspectTemplateError> {
    fill_actions(template, InspectTemplateError::Unclosed, |action, column| {
        action_text(action, root, column)
    })
}

fn action_text(action: &str, root: &Node, column: usize) -> Result<String, InspectTemplateError> {
    let unsupported = || InspectTemplateError::Unsupported {
        action: action.to_string(),
    };
    let words: Vec<&str> = action.split_whitespace().collect();
    match words.as_slice() {
        [path] if path.starts_with('.') => print(path, lookup(path, root, column)?),
        ["json", path] if path.starts_with('.') => {
            let text = serde_json::to_string(lookup(path, root, column)?).map_err(|_| unsupported())?;
            // Go's json.Marshal escapes HTML characters.
            Ok(text
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026"))
        }
        ["index", path, key] if path.starts_with('.') && key.len() >= 2 && key.starts_with('"') => {
            let key = key.trim_matches('"');
            match lookup(path, root, column)? {
                Node::Object(_) => match lookup(path, root, column)?.get(key) {
                    Some(value) => print(&format!("{path}.{key}"), value),
                    // Go's index of a missing map key: the zero value (an empty string for these maps).
                    None => Ok(String::new()),
                },
                _ => Err(unsupported()),
            }
        }
        _ => Err(unsupported()),
    }
}

/// The node at `.A.B.C` (`.` is the root).
fn lookup<'n>(path: &str, root: &'n Node, column: usize) -> Result<&'n Node, InspectTemplateError> {
    let mut node = root;
    let mut walked = String::new();
    for key in path.split('.').filter(|k| !k.is_empty()) {
        walked.push('.');
        walked.push_str(key);
        node = match node {
            Node::Object(_) => node.get(key).ok_or_else(|| InspectTemplateError::NoEntry {
                column,
                path: walked.clone(),
                key: key.to_string(),
            })?,
            other => {
                return Err(InspectTemplateError::NotAStruct {
                    column,
                    path: walked,
                    key: key.to_string(),
                    kind: match other {
                        Node::String(_) => "string",
                        Node::Bool(_) => "bool",
                        Node::Number(_) => "int",
                        Node::List(_) => "[]string",
                        _ => "interface {}",
                    },
                })
            }
        };
    }
    Ok(node)
}

/// A value as Go's `fmt` prints it in a template: scalars, slices of scalars, maps; structs are refused.
fn print(path: &str, node: &Node) -> Result<String, InspectTemplateError> {
    let last = path.rsplit('.').next().unwrap_or_default();
    let structure = || InspectTemplateError::Struct {
        path: path.to_string(),
    };
    match node {
        _ if node.is_scalar() => Ok(node.scalar_text()),
        Node::Null if LISTS.contains(&last) => Ok("[]".into()),
        Node::Null if MAPS.contains(&last) => Ok("map[]".into()),
        Node::List(items) if items.iter().all(Node::is_scalar) => Ok(format!(
            "[{}]",
            items.iter().map(Node::scalar_text).collect::<Vec<_>>().join(" ")
        )),
        Node::Object(fields) if MAPS.contains(&last) => {
            let mut entries: Vec<String> = Vec::new();
            for (k, v) in fields {
                let value = match v {
                    Node::Object(inner) if inner.is_empty() => "{}".to_string(),
                    v if v.is_scalar() => v.scalar_text(),
                    _ => return Err(structure()),
                };
                entries.push(format!("{k}:{value}"));
            }
            entries.sort();
            Ok(format!("map[{}]", entries.join(" ")))
        }
        _ => Err(structure()),
    }
}

/// Go's zero time, as docker prints a time that never was.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time_or_zero(unix: Option<u64>) -> String {
    unix.map_or_else(|| ZERO_TIME.to_string(), rfc3339)
}

/// docker's container object for a container the companion answered for: its fields in docker's order.
pub fn container_node(c: &ContainerInspect) -> Node {
    use serde_json::json;
    let state = &c.state;
    let restarting = c.summary.restarting;
    let running = state.status == ContainerStatus::Running || restarting;
    let paused = running && c.summary.paused;
    let status = match state.status {
        _ if restarting => "restarting",
        ContainerStatus::Created => "created",
        ContainerStatus::Running if paused => "paused",
        ContainerStatus::Running => "running",
        ContainerStatus::Exited => "exited",
    };
    let config = c.config.clone().unwrap_or_default();
    let exposed: serde_json::Map<String, serde_json::Value> = config
        .exposed_ports
        .iter()
        .map(|p| (p.clone(), json!({})))
        .collect();
    let mut config_json = json!({
        "Hostname": config.hostname, "Domainname": "", "User": config.user,
        "Tty": c.options.tty, "OpenStdin": c.options.interactive,
        "Env": config.env, "Cmd": config.cmd, "Image": c.summary.image,
        "WorkingDir": config.working_dir, "Entrypoint": config.entrypoint, "Labels": config.labels,
    });
    if !exposed.is_empty() {
        config_json["ExposedPorts"] = exposed.into();
    }
    let state_json = json!({
        "Status": status, "Running": running, "Paused": paused, "Restarting": restarting,
        "OOMKilled": state.oom_killed, "Dead": false,
        "Pid": if running && !restarting { state.pid.unwrap_or(0) } else { 0 },
        "ExitCode": state.exit_code.unwrap_or(0), "Error": state.error.clone().unwrap_or_default(),
        "StartedAt": time_or_zero(state.started_at), "FinishedAt": time_or_zero(state.finished_at),
    });

    let order = [
        "Hostname",
        "Domainname",
        "User",
        "ExposedPorts",
        "Tty",
        "OpenStdin",
        "Env",
        "Cmd",
        "Image",
        "WorkingDir",
        "Entrypoint",
        "Labels",
    ];
    let ordered = |value: serde_json::Value, keys: &[&str]| {
        Node::Object(
            keys.iter()
                .filter_map(|k| value.get(*k).map(|v| (k.to_string(), Node::of(v))))
                .collect(),
        )
    };
    let field = |k: &str, v: serde_json::Value| (k.to_string(), Node::of(&v));
    Node::Object(vec![
        field("Id", json!(c.summary.id)),
        field("Created", json!(rfc3339(c.summary.created))),
        field("Path", json!(c.args.first().cloned().unwrap_or_default())),
        field("Args", json!(c.args.get(1..).unwrap_or_default())),
        (
            "State".into(),
            with_health(
                ordered(
                    state_json,
                    &[
                        "Status",
                        "Running",
                        "Paused",
                        "Restarting",
                        "OOMKilled",
                        "Dead",
                        "Pid",
                        "ExitCode",
                        "Error",
                        "StartedAt",
                        "FinishedAt",
                    ],
                ),
                c,
            ),
        ),
        field("Image", json!(config.image_id)),
        field("Name", json!(format!("/{}", c.summary.name))),
        field("RestartCount", json!(c.restart_count)),
        ("HostConfig".into(), host_config(c, &config)),
        (
            "Mounts".into(),
            Node::of(&inspect_mounts::mount_points(&c.options)),
        ),
        ("Config".into(), with_healthcheck(ordered(config_json, &order), c)),
        (
            "NetworkSettings".into(),
            Node::of(&super::endpoints::network_settings(
                &c.networks,
                c.options.network.as_deref(),
            ))
            .with_field(None, "Ports", network_ports(c, running)),
        ),
    ])
}

/// `HostConfig`, in docker's order: `Binds`, `PortBindings`, `RestartPolicy`, `AutoRemove`, the limits, `Mounts`
/// (when `--mount` asked for some).
fn host_config(c: &ContainerInspect, config: &crate::api::ContainerConfig) -> Node {
    let limits = [
        ("AutoRemove", serde_json::json!(c.options.auto_remove)),
        ("Memory", serde_json::json!(config.memory)),
        ("NanoCpus", serde_json::json!(config.nano_cpus)),
        ("PidsLimit", serde_json::json!(config.pids_limit)),
    ];
    let mut fields: Vec<(String, Node)> = vec![
        ("Binds".into(), Node::of(&inspect_mounts::binds(&c.options))),
        ("PortBindings".into(), port_bindings(c)),
        (
            "RestartPolicy".into(),
            Node::of(&supervision::docker_restart_policy(&c.options.restart)),
        ),
    ];
    fields.extend(limits.iter().map(|(k, v)| (k.to_string(), Node::of(v))));
    let mounts = inspect_mounts::host_mounts(&c.options);
    if !mounts.is_empty() {
        fields.push(("Mounts".into(), Node::of(&mounts)));
    }
    Node::Object(fields)
}

/// `HostConfig.PortBindings`: what `-p` asked for, `{"8000/tcp": [{"HostIp": "", "HostPort": "8000"}]}`
/// (`HostPort` empty for `-p 8000`: any free port), `{}` without `-p`.
fn port_bindings(c: &ContainerInspect) -> Node {
    let mut bindings: std::collections::BTreeMap<String, Vec<serde_json::Value>> = Default::default();
    for p in &c.options.publish {
        let host = if p.host == 0 {
            String::new()
        } else {
            p.host.to_string()
        };
        bindings
            .entry(format!("{}/tcp", p.container))
            .or_default()
            .push(serde_json::json!({"HostIp": "", "HostPort": host}));
    }
    Node::of(&bindings)
}

/// `NetworkSettings.Ports` of a running container: each published port where it listens (the address as
/// `docker port` shows it), an exposed port that is not published as `null`; `{}` once it has stopped (its
/// network is gone), as docker shows it.
fn network_ports(c: &ContainerInspect, running: bool) -> Node {
    let mut ports: std::collections::BTreeMap<String, serde_json::Value> = Default::default();
    if running {
        let exposed = c.config.iter().flat_map(|config| config.exposed_ports.iter());
        for port in exposed {
            ports.insert(port.clone(), serde_json::Value::Null);
        }
        let host_ip = c.summary.ports_mode.host_ip();
        for p in &c.summary.ports {
            let key = format!("{}/tcp", p.container);
            let binding = serde_json::json!({"HostIp": host_ip, "HostPort": p.host.to_string()});
            match ports.get_mut(&key) {
                Some(serde_json::Value::Array(list)) => list.push(binding),
                _ => {
                    ports.insert(key, serde_json::Value::Array(vec![binding]));
                }
            }
        }
    }
    Node::of(&ports)
}

/// `Config` with dockerd's `Healthcheck` after `Cmd`, when the container has one.
fn with_healthcheck(config: Node, c: &ContainerInspect) -> Node {
    match &c.options.healthcheck {
        Some(h) => config.with_field(
            Some("Cmd"),
            "Healthcheck",
            Node::of(&supervision::docker_healthcheck(h)),
        ),
        None => config,
    }
}

/// `State` with dockerd's `Health` last, when the container has a healthcheck.
fn with_health(state: Node, c: &ContainerInspect) -> Node {
    match &c.health_state {
        Some(h) => state.with_field(
            Some("FinishedAt"),
            "Health",
            Node::of(&supervision::docker_health(h)),
        ),
        None => state,
    }
}

/// The objects as docker prints them (a JSON array, or each through `template`), then `errors`, exit code 1 if
/// there are any (`docker inspect`, `network inspect`, `volume inspect`).
pub fn report(objects: &[Node], mut errors: Vec<String>, template: Option<&str>) -> Outcome {
    let mut out = Outcome::default();
    match template {
        Some(template) => {
            for object in objects {
                match render(template, object) {
                    Ok(text) => out.stdout.push_str(&format!("{text}\n")),
                    Err(e @ InspectTemplateError::Unclosed)
                    | Err(e @ InspectTemplateError::Unsupported { .. }) => {
                        // A template Go cannot parse (or this terminal cannot run): docker's status 64.
                        return Outcome::failure(format!("{e}\n"), 64);
                    }
                    Err(e) => errors.push(e.to_string()),
                }
            }
        }
        None => out.stdout = format!("{}\n", docker_json(&objects)),
    }
    if !errors.is_empty() {
        out.stderr = format!("{}\n", errors.join("\n"));
        out.exit_code = 1;
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::api::{ContainerConfig, ContainerState, ContainerSummary, RunOptions};

    pub(in crate::cli) fn container(status: ContainerStatus, paused: bool) -> ContainerInspect {
        ContainerInspect {
            summary: ContainerSummary {
                id: "0123456789abcdef".into(),
                name: "web".into(),
                image: "busybox".into(),
                command: "sleep 60".into(),
                created: 1_795_842_313,
                status,
                exit_code: None,
                ports: vec![],
                ports_mode: Default::default(),
                preview: String::new(),
                paused,
                labels: Default::default(),
                health: None,
                restarting: false,
            },
            args: vec!["sleep".into(), "60".into()],
            options: RunOptions::default(),
            state: ContainerState {
                status,
                pid: Some(42),
                exit_code: None,
                oom_killed: false,
                timed_out: false,
                error: None,
                started_at: Some(1_795_842_314),
                finished_at: None,
            },
            log_followers: 0,
            config: Some(ContainerConfig {
                image_id: "sha256:ab".into(),
                env: vec!["PATH=/bin".into()],
                cmd: Some(vec!["sleep".into(), "60".into()]),
                labels: [("course".to_string(), "docker<1>".to_string())].into(),
                memory: 512 << 20,
                ..ContainerConfig::default()
            }),
            networks: Vec::new(),
            health_state: None,
            restart_count: 0,
        }
    }

    #[test]
    fn the_container_object_has_dockers_fields_in_order() {
        let node = container_node(&container(ContainerStatus::Running, true));
        let text = docker_json(&vec![node.clone()]);
        let id = text.find("\"Id\"").unwrap();
        let state = text.find("\"State\"").unwrap();
        let config = text.find("\"Config\"").unwrap();
        assert!(id < state && state < config, "{text}");
        assert!(text.contains("\"Status\": \"paused\""), "{text}");
        assert!(
            text.contains("\"FinishedAt\": \"0001-01-01T00:00:00Z\""),
            "{text}"
        );
        assert!(text.contains("\"Name\": \"/web\""), "{text}");
        assert_eq!(render("{{.State.Status}}", &node).unwrap(), "paused");
        assert_eq!(
            render("{{.State.Running}} {{.State.Pid}}", &node).unwrap(),
            "true 42"
        );
        assert_eq!(render("{{.Config.Cmd}}", &node).unwrap(), "[sleep 60]");
        assert_eq!(render("{{.Config.Entrypoint}}", &node).unwrap(), "[]");
        assert_eq!(
            render("{{.Config.Labels}}", &node).unwrap(),
            "map[course:docker<1>]"
        );
        assert_eq!(
            render("{{index .Config.Labels \"course\"}}", &node).unwrap(),
            "docker<1>"
        );
        assert_eq!(render("{{.HostConfig.Memory}}", &node).unwrap(), "536870912");
        assert_eq!(render("{{.Path}} {{.Args}}", &node).unwrap(), "sleep [60]");
        let json = render("{{json .Config.Labels}}", &node).unwrap();
        assert_eq!(json, "{\"course\":\"docker\\u003c1\\u003e\"}");
        let config = render("{{json .Config}}", &node).unwrap();
        assert!(
            config.starts_with("{\"Hostname\":"),
            "in docker's order: {config}"
        );
    }

    #[test]
    fn published_and_exposed_ports_are_shown_as_docker_shows_them() {
        use crate::api::{PortMapping, PortsMode};
        let mut c = container(ContainerStatus::Running, false);
        c.options.publish = vec![
            PortMapping {
                host: 8000,
                container: 8000,
            },
            PortMapping {
                host: 0,
                container: 9000,
            },
        ];
        c.summary.ports = vec![
            PortMapping {
                host: 8000,
                container: 8000,
            },
            PortMapping {
                host: 32768,
                container: 9000,
            },
        ];
        c.summary.ports_mode = PortsMode::Shared;
        if let Some(config) = c.config.as_mut() {
            config.exposed_ports = vec!["80/tcp".into(), "8000/tcp".into(), "9000/tcp".into()];
        }
        let node = container_node(&c);
        assert_eq!(
            render("{{json .NetworkSettings.Ports}}", &node).unwrap(),
            r#"{"80/tcp":null,"8000/tcp":[{"HostIp":"0.0.0.0","HostPort":"8000"}],"9000/tcp":[{"HostIp":"0.0.0.0","HostPort":"32768"}]}"#
        );
        assert_eq!(
            render("{{json .HostConfig.PortBindings}}", &node).unwrap(),
            r#"{"8000/tcp":[{"HostIp":"","HostPort":"8000"}],"9000/tcp":[{"HostIp":"","HostPort":""}]}"#
        );
        let text = docker_json(&vec![node]);
        let (ports, networks) = (
            text.find("\"Ports\"").unwrap(),
            text.find("\"Networks\"").unwrap(),
        );
        assert!(ports < networks, "{text}");
        let (bindings, restart) = (
            text.find("\"PortBindings\"").unwrap(),
            text.find("\"RestartPolicy\"").unwrap(),
        );
        assert!(bindings < restart, "docker's order: {text}");

        c.summary.status = ContainerStatus::Exited;
        c.state.status = ContainerStatus::Exited;
        let stopped = container_node(&c);
        assert_eq!(render("{{json .NetworkSettings.Ports}}", &stopped).unwrap(), "{}");
        assert!(render("{{json .HostConfig.PortBindings}}", &stopped)
            .unwrap()
            .contains("8000/tcp"));
    }

    #[test]
    fn templates_it_cannot_run_are_refused_never_guessed() {
        let node = container_node(&container(ContainerStatus::Exited, false));
        assert_eq!(render("{{.State.Status}}", &node).unwrap(), "exited");
        let missing = render("{{.State.Nope}}", &node).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "template parsing error: template: :1:2: executing \"\" at <.State.Nope>: map has no entry for key \"Nope\""
        );
        assert!(matches!(
            render("{{.State}}", &node),
            Err(InspectTemplateError::Struct { .. })
        ));
        for unsupported in [
            "{{upper .Name}}",
            "{{range .Args}}x{{end}}",
            "{{.Name | printf \"%s\"}}",
        ] {
            assert!(
                matches!(
                    render(unsupported, &node),
                    Err(InspectTemplateError::Unsupported { .. })
                ),
                "{unsupported}"
            );
        }
        assert!(matches!(
            render("{{.Name.First}}", &node),
            Err(InspectTemplateError::NotAStruct { .. })
        ));
        assert_eq!(render("{{.Name", &node), Err(InspectTemplateError::Unclosed));
    }
}
