//! Where a container's published ports are reachable: `docker port CONTAINER [PRIVATE_PORT[/PROTO]]` (docker
//! 28's output and errors, from its `container/port.go`), the `docker ps` PORTS column, and the preview link a
//! shared server prints after `docker run -d -p` (`slipway serve --ports shared`: the port is the learner's own,
//! nothing listens on the machine, the app is reached through its preview).

use std::cmp::Ordering;

use super::context::CommandContext;
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{paths, Companion, ContainerSummary, PortsMode};
use crate::registry::transport::Transport;

/// Why `docker port` printed no mapping, in docker's words (exit code 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// `PRIVATE_PORT` is no 16-bit number: Go's `strconv.ParseUint` error, wrapped as docker wraps it.
    #[error("Error: invalid port ({port}): strconv.ParseUint: parsing {port:?}: {why}")]
    Invalid { port: String, why: &'static str },
    /// `typed` is the argument as given (`80` or `80/tcp`).
    #[error("Error: No public port '{typed}' published for {container}")]
    NotPublished { typed: String, container: String },
}

/// `docker port`'s lines for `row` (named `container` as typed): every mapping as `8000/tcp -> 0.0.0.0:8000`,
/// or for `private` (`8000`, `8000/tcp`) only its frontends, `0.0.0.0:8000`. Sorted as docker sorts them
/// (natural order); empty when nothing is published.
pub fn port_lines(
    row: &ContainerSummary,
    container: &str,
    private: Option<&str>,
) -> Result<String, PortError> {
    let ip = row.ports_mode.host_ip();
    let mut lines: Vec<String> = match private {
        None => row
            .ports
            .iter()
            .map(|p| format!("{}/tcp -> {ip}:{}", p.container, p.host))
            .collect(),
        Some(typed) => {
            let (port, proto) = typed.split_once('/').unwrap_or((typed, ""));
            let proto = if proto.is_empty() { "tcp" } else { proto };
            parse_uint16(port)?;
            let frontends: Vec<String> = row
                .ports
                .iter()
                .filter(|p| proto == "tcp" && p.container.to_string() == port)
                .map(|p| format!("{ip}:{}", p.host))
                .collect();
            if frontends.is_empty() {
                return Err(PortError::NotPublished {
                    typed: typed.to_string(),
                    container: container.to_string(),
                });
            }
            frontends
        }
    };
    lines.sort_by(|a, b| natural_order(a, b));
    Ok(lines.iter().map(|l| format!("{l}\n")).collect())
}

/// Go's `strconv.ParseUint(text, 10, 16)`: digits only, at most 65535.
fn parse_uint16(text: &str) -> Result<u16, PortError> {
    let invalid = |why| PortError::Invalid {
        port: text.to_string(),
        why,
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("invalid syntax"));
    }
    text.parse().map_err(|_| invalid("value out of range"))
}

/// `sortorder.NaturalLess`, as docker sorts its port lines: runs of digits compare as numbers (`80` before
/// `8000`, then fewer leading zeros first), digits before other bytes, the rest byte by byte.
fn natural_order(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            // Digits before anything else.
            (Some(x), Some(y)) if x.is_ascii_digit() != y.is_ascii_digit() => {
                return if x.is_ascii_digit() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            (Some(x), Some(_)) if x.is_ascii_digit() => {
                let digits = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (digits(a), digits(b));
                let (da, db) = (&a[..na], &b[..nb]);
                let (ta, tb) = (trim_zeros(da), trim_zeros(db));
                let order = ta.len().cmp(&tb.len()).then(ta.cmp(tb)).then(na.cmp(&nb));
                if order != Ordering::Equal {
                    return order;
                }
                (a, b) = (&a[na..], &b[nb..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

/// `docker port CONTAINER [PRIVATE_PORT[/PROTO]]`, from the container's inspect answer.
pub async fn port<T: Transport>(transport: &T, base: &str, inv: &Invocation) -> Outcome {
    let container = &inv.args[0];
    let inspect = match Companion::new(transport, base).inspect(container).await {
        Ok(inspect) => inspect,
        Err(e) => return Outcome::failure(format!("{e}\n"), 1),
    };
    match port_lines(&inspect.summary, container, inv.args.get(1).map(String::as_str)) {
        Ok(lines) => Outcome::success(lines),
        Err(e) => Outcome::failure(format!("{e}\n"), 1),
    }
}

/// docker's PORTS column: `0.0.0.0:8000->8000/tcp, ...` (host mode: the loopback the listener is bound to).
pub fn ports_text(row: &ContainerSummary) -> String {
    let ip = row.ports_mode.host_ip();
    row.ports
        .iter()
        .map(|p| format!("{ip}:{}->{}/tcp", p.host, p.container))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The page's (or the native client's) protocol and host name, for [`crate::api::PreviewInfo::origin`]:
/// natively from the companion's base URL, in the page (base `""`) from the host it was loaded from.
fn page_location<'a>(base: &'a str, registry_host: &'a str) -> (&'a str, &'a str) {
    let (protocol, host) = match base.split_once("//") {
        Some((scheme, rest)) => (scheme, rest.split('/').next().unwrap_or_default()),
        None => ("http:", registry_host),
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => name,
        _ => host,
    };
    (protocol, name)
}

/// After a `docker run -d -p` on a shared server: where each published port is reached, the preview link
/// (`Preview: http://HOST:PREVIEW_PORT/p/TOKEN/8000/`, one line per published container port) on stderr, so the
/// container id stays alone on stdout. Nothing in host mode (the machine's own port is the answer), for a run
/// without `-d` or `-p`, after a failure, or when the companion serves no previews.
pub async fn after_detached_run<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    outcome: &mut Outcome,
) {
    let id = outcome.stdout.lines().last().unwrap_or_default().trim();
    if outcome.exit_code != 0
        || id.is_empty()
        || !inv.flags.is_set(Flag::DETACH)
        || inv.flags.values(Flag::PUBLISH).is_empty()
    {
        return;
    }
    let companion = Companion::new(ctx.transport, ctx.base);
    let Ok(inspect) = companion.inspect(id).await else {
        return;
    };
    let row = &inspect.summary;
    if row.ports_mode != PortsMode::Shared || row.preview.is_empty() {
        return;
    }
    let Some(preview) = companion.info().await.ok().and_then(|info| info.preview) else {
        return;
    };
    let (protocol, host) = page_location(ctx.base, ctx.registry_host);
    let origin = preview.origin(protocol, host);
    let mut ports: Vec<u16> = row.ports.iter().map(|p| p.container).collect();
    ports.sort_unstable();
    ports.dedup();
    for port in ports {
        let link = format!("Preview: {origin}{}\n", paths::preview(&row.preview, port));
        outcome.stderr.push_str(&link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PortMapping;

    fn row(mode: PortsMode, ports: &[(u16, u16)]) -> ContainerSummary {
        let ports: Vec<_> = ports
            .iter()
            .map(|&(host, container)| PortMapping { host, container })
            .collect();
        serde_json::from_value(
            serde_json::json!({"id": "c0ffee", "name": "c", "image": "busybox",
            "command": "sleep 60", "created": 1, "status": "running", "exit_code": null, "ports": ports,
            "ports_mode": mode}),
        )
        .unwrap()
    }

    #[test]
    fn port_and_container_port_are_one_command_of_one_or_two_arguments() {
        use crate::cli::parse::{parse, Parsed};
        use crate::cli::spec::CommandId;
        for line in ["docker port web", "docker container port web 8000/tcp"] {
            let words = crate::cli::words::split_words(line).unwrap();
            let Ok(Parsed::Run(inv)) = parse(&words) else {
                panic!("{line}")
            };
            assert_eq!(inv.command.id, CommandId::ContainerPort);
        }
    }

    #[test]
    fn port_lines_are_dockers() {
        let c = row(PortsMode::Shared, &[(8000, 8000), (9000, 80), (8080, 80)]);
        assert_eq!(
            port_lines(&c, "c", None).unwrap(),
            "80/tcp -> 0.0.0.0:8080\n80/tcp -> 0.0.0.0:9000\n8000/tcp -> 0.0.0.0:8000\n"
        );
        assert_eq!(port_lines(&c, "c", Some("8000")).unwrap(), "0.0.0.0:8000\n");
        assert_eq!(port_lines(&c, "c", Some("8000/tcp")).unwrap(), "0.0.0.0:8000\n");
        assert_eq!(port_lines(&c, "c", Some("8000/")).unwrap(), "0.0.0.0:8000\n");
        assert_eq!(
            port_lines(&c, "c", Some("80")).unwrap(),
            "0.0.0.0:8080\n0.0.0.0:9000\n"
        );
        let unknown = |typed: &str| port_lines(&c, "c", Some(typed)).unwrap_err().to_string();
        assert_eq!(
            unknown("81/tcp"),
            "Error: No public port '81/tcp' published for c"
        );
        assert_eq!(unknown("81"), "Error: No public port '81' published for c");
        assert_eq!(
            unknown("8000/udp"),
            "Error: No public port '8000/udp' published for c"
        );
        // The key is the text: docker finds no "08000/tcp".
        assert_eq!(unknown("08000"), "Error: No public port '08000' published for c");
        assert_eq!(
            unknown("x"),
            "Error: invalid port (x): strconv.ParseUint: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            unknown("70000/tcp"),
            "Error: invalid port (70000): strconv.ParseUint: parsing \"70000\": value out of range"
        );
        // Nothing published (or the container stopped): nothing printed.
        assert_eq!(port_lines(&row(PortsMode::Shared, &[]), "c", None).unwrap(), "");
        // Host mode: the machine's loopback, where the listener is.
        let host = row(PortsMode::Host, &[(8000, 8000)]);
        assert_eq!(
            port_lines(&host, "c", None).unwrap(),
            "8000/tcp -> 127.0.0.1:8000\n"
        );
    }

    #[test]
    fn the_ps_column_says_where_the_port_is() {
        assert_eq!(
            ports_text(&row(PortsMode::Shared, &[(8000, 8000), (32768, 80)])),
            "0.0.0.0:8000->8000/tcp, 0.0.0.0:32768->80/tcp"
        );
        assert_eq!(
            ports_text(&row(PortsMode::Host, &[(8000, 8000)])),
            "127.0.0.1:8000->8000/tcp"
        );
    }

    #[test]
    fn natural_order_compares_numbers_as_numbers() {
        let mut lines = vec!["8000/tcp", "80/tcp", "443/tcp", "9/tcp", "080/tcp"];
        lines.sort_by(|a, b| natural_order(a, b));
        assert_eq!(lines, ["9/tcp", "80/tcp", "080/tcp", "443/tcp", "8000/tcp"]);
    }

    #[test]
    fn the_preview_origin_follows_where_the_client_reached_the_companion() {
        assert_eq!(page_location("http://127.0.0.1:8080", ""), ("http:", "127.0.0.1"));
        assert_eq!(page_location("https://[::1]:8443/", ""), ("https:", "[::1]"));
        assert_eq!(
            page_location("", "class.example.org:8080"),
            ("http:", "class.example.org")
        );
        assert_eq!(page_location("", "localhost"), ("http:", "localhost"));
    }
}
