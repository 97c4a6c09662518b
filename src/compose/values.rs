//! Compose's small value syntaxes: ports (short and long), volumes (short and long), durations and byte sizes.

use super::check::Checker;
use super::model::{Duration, Mount, MountType, Port};
use super::tree::{Node, Value};

/// A port entry: short syntax (`"127.0.0.1:8000-8001:80-81/udp"`, a number) or long syntax; ranges expand.
pub fn ports(c: &mut Checker, node: &Node, path: &str) -> Vec<Port> {
    match &node.value {
        Value::Map(_) => long_port(c, node, path).into_iter().collect(),
        Value::Scalar { text, .. } => match short_ports(text) {
            Ok(ports) => ports,
            Err(why) => {
                c.error(node.pos, format!("{path}: {why}"));
                Vec::new()
            }
        },
        Value::Seq(_) => {
            c.error(node.pos, format!("{path} must be a string, number or mapping"));
            Vec::new()
        }
    }
}

fn port_number(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("invalid containerPort: {text}"))
}

/// `a-b` or `a`, as an inclusive range.
fn port_range(text: &str) -> Result<(u16, u16), String> {
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port_number(a)?, port_number(b)?);
            if b < a {
                return Err(format!("invalid port range: {text}"));
            }
            Ok((a, b))
        }
        None => port_number(text).map(|p| (p, p)),
    }
}

/// Docker's short port syntax `[[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`.
pub fn short_ports(spec: &str) -> Result<Vec<Port>, String> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((rest, proto)) => (rest, proto.to_string()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {protocol}"));
    }
    let (host_ip, rest) = if let Some(v6) = rest.strip_prefix('[') {
        let (ip, after) = v6
            .split_once("]:")
            .ok_or_else(|| format!("invalid IP address: {rest}"))?;
        (Some(ip.to_string()), after)
    } else if rest.matches(':').count() == 2 {
        let (ip, after) = rest.split_once(':').unwrap_or_default();
        (Some(ip.to_string()), after)
    } else {
        (None, rest)
    };
    let (host, container) = match rest.rsplit_once(':') {
        Some((h, c)) => (Some(h).filter(|h| !h.is_empty()), c),
        None => (None, rest),
    };
    let (c_start, c_end) =
        port_range(container).map_err(|_| format!("invalid containerPort: {container}"))?;
    let host_range = host
        .map(port_range)
        .transpose()
        .map_err(|_| format!("invalid hostPort: {}", host.unwrap_or("")))?;
    let port = |target: u16, published: Option<String>| Port {
        name: None,
        mode: "ingress".to_string(),
        host_ip: host_ip.clone().filter(|ip| !ip.is_empty()),
        target,
        published,
        protocol: protocol.clone(),
        app_protocol: None,
    };
    match host_range {
        None => Ok((c_start..=c_end).map(|t| port(t, None)).collect()),
        Some((h_start, h_end)) if c_start == c_end => {
            let published = if h_start == h_end {
                h_start.to_string()
            } else {
                format!("{h_start}-{h_end}")
            };
            Ok(vec![port(c_start, Some(published))])
        }
        Some((h_start, h_end)) if h_end - h_start == c_end - c_start => Ok((c_start..=c_end)
            .zip(h_start..=h_end)
            .map(|(t, h)| port(t, Some(h.to_string())))
            .collect()),
        Some(_) => Err(format!(
            "invalid ranges specified for container and host Ports: {spec}"
        )),
    }
}

fn long_port(c: &mut Checker, node: &Node, path: &str) -> Option<Port> {
    let mut port = Port {
        name: None,
        mode: "ingress".to_string(),
        host_ip: None,
        target: 0,
        published: None,
        protocol: "tcp".to_string(),
        app_protocol: None,
    };
    let allowed = [
        "target",
        "published",
        "host_ip",
        "protocol",
        "mode",
        "name",
        "app_protocol",
    ];
    let mut target = None;
    for e in c.keys(node, path, &allowed, &[]) {
        let at = format!("{path}.{}", e.key);
        match e.key.as_str() {
            "target" => target = c.integer(&e.node, &at).and_then(|t| u16::try_from(t).ok()),
            "published" => port.published = c.string_or_number(&e.node, &at),
            "host_ip" => port.host_ip = c.string(&e.node, &at),
            "protocol" => port.protocol = c.string(&e.node, &at).unwrap_or(port.protocol),
            "mode" => port.mode = c.string(&e.node, &at).unwrap_or(port.mode),
            "name" => port.name = c.string(&e.node, &at),
            _ => port.app_protocol = c.string(&e.node, &at),
        }
    }
    match target {
        Some(t) => Some(Port { target: t, ..port }),
        None => {
            c.error(node.pos, format!("{path} target is required"));
            None
        }
    }
}

/// A volume entry: `[SOURCE:]TARGET[:MODE]` or the long syntax.
pub fn mount(c: &mut Checker, node: &Node, path: &str) -> Option<Mount> {
    match &node.value {
        Value::Map(_) => long_mount(c, node, path),
        Value::Scalar { text, .. } => {
            let parts: Vec<&str> = text.split(':').collect();
            let (source, target, mode) = match parts.as_slice() {
                [target] => (None, *target, None),
                [source, target] => (Some(*source), *target, None),
                [source, target, mode] => (Some(*source), *target, Some(*mode)),
                _ => {
                    c.error(node.pos, format!("{path}: invalid spec: {text}: too many colons"));
                    return None;
                }
            };
            let read_only = match mode {
                None | Some("rw") => false,
                Some("ro") => true,
                Some(other) => {
                    c.error(
                        node.pos,
                        format!("{path}: invalid mode for volume {text}: {other} (Slipway knows ro and rw)"),
                    );
                    false
                }
            };
            let is_path = source.is_some_and(|s| s.starts_with(['.', '/', '~']));
            Some(Mount {
                kind: if is_path {
                    MountType::Bind
                } else {
                    MountType::Volume
                },
                source: source.map(|s| {
                    if is_path {
                        c.project_path(node.pos, s)
                    } else {
                        s.to_string()
                    }
                }),
                target: target.to_string(),
                read_only,
                create_host_path: is_path,
            })
        }
        Value::Seq(_) => {
            c.error(node.pos, format!("{path} must be a string or mapping"));
            None
        }
    }
}

fn long_mount(c: &mut Checker, node: &Node, path: &str) -> Option<Mount> {
    let allowed = ["type", "source", "target", "read_only", "bind", "volume", "tmpfs"];
    let (mut kind, mut source, mut target, mut read_only, mut create) = (None, None, None, false, false);
    for e in c.keys(node, path, &allowed, &["consistency"]) {
        let at = format!("{path}.{}", e.key);
        match e.key.as_str() {
            "type" => {
                kind = match c.string(&e.node, &at).as_deref() {
                    Some("volume") => Some(MountType::Volume),
                    Some("bind") => Some(MountType::Bind),
                    Some("tmpfs") => Some(MountType::Tmpfs),
                    Some(other) => {
                        c.error(e.node.pos, format!("{at} must be one of the following: \"volume\", \"bind\", \"tmpfs\" (got {other})"));
                        None
                    }
                    None => None,
                }
            }
            "source" => source = c.string(&e.node, &at).map(|s| (e.node.pos, s)),
            "target" => target = c.string(&e.node, &at),
            "read_only" => read_only = c.boolean(&e.node, &at).unwrap_or(false),
            "bind" => {
                for b in c.keys(&e.node, &at, &["create_host_path"], &["propagation", "selinux"]) {
                    create = c
                        .boolean(&b.node, &format!("{at}.create_host_path"))
                        .unwrap_or(false);
                }
            }
            _ => {
                c.keys(&e.node, &at, &[], &["nocopy", "subpath", "size", "mode"]);
            }
        }
    }
    let Some(kind) = kind else {
        c.error(node.pos, format!("{path} type is required"));
        return None;
    };
    let Some(target) = target else {
        c.error(node.pos, format!("{path} target is required"));
        return None;
    };
    let source = source.map(|(pos, s)| {
        if kind == MountType::Bind {
            c.project_path(pos, &s)
        } else {
            s
        }
    });
    Some(Mount {
        kind,
        source,
        target,
        read_only,
        create_host_path: create,
    })
}

/// A Compose duration (`1m30s`, `10s`, `500ms`, `1.5h`), in nanoseconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total: f64 = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(Duration(0));
    }
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..num_end].parse().ok()?;
        let after = &rest[num_end..];
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let scale = match &after[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            _ => return None,
        };
        total += number * scale;
        rest = &after[unit_end..];
    }
    Some(Duration(total.round() as u64))
}

/// As Go's `time.Duration.String()` prints it: `1m30s`, `10s`, `1h0m0s`, `500ms`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.0;
    if ns == 0 {
        return "0s".to_string();
    }
    if ns < 1_000_000_000 {
        let (unit, scale) = match ns {
            n if n < 1_000 => ("ns", 1.0),
            n if n < 1_000_000 => ("µs", 1e3),
            _ => ("ms", 1e6),
        };
        return format!("{}{unit}", trim_float(ns as f64 / scale));
    }
    let hours = ns / 3_600_000_000_000;
    let minutes = (ns / 60_000_000_000) % 60;
    let seconds = (ns % 60_000_000_000) as f64 / 1e9;
    let s = format!("{}s", trim_float(seconds));
    match (hours, minutes) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A byte size as Docker reads memory limits (`512m`, `1g`, `1024`; binary units).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let number: f64 = t[..end].parse().ok()?;
    let scale: u64 = match t[end..].trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    Some((number * scale as f64) as u64)
}
