//! `docker events [--since T] [--until T] [-f KEY=VALUE] [--format TEMPLATE|json]` (also `docker system
//! events`), as docker 28's client does it (docker/cli `cli/command/system/events.go`, its
//! `prettyPrintEvent` and `makeTemplate`; `client/events.go` for the times it sends): the session's events from
//! the companion (`GET /api/events`), printed as they come. Without `--until` it follows until Ctrl-C (the page
//! drops the command, a native process dies of SIGINT); with an `--until` in the past it prints and exits.

use super::context::{CommandContext, Printer, Stream};
use super::format::fill_actions;
use super::inspect::{render, Node};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{get_timestamp, Companion, EventFilters, EventMessage, EventsQuery};
use crate::registry::Transport;

/// How each event is printed: docker's line, or a Go template over the message (`json` is `{{json .}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFormat {
    Line,
    Template(String),
}

impl EventFormat {
    /// `--format`, checked as docker/cli's `makeTemplate` checks it: executed once on an empty message.
    pub fn parse(format: Option<&str>) -> Result<EventFormat, String> {
        let template = match format {
            None | Some("") => return Ok(EventFormat::Line),
            Some("json") => "{{json .}}".to_string(),
            Some(text) => text.replace("\\t", "\t").replace("\\n", "\n"),
        };
        let format = EventFormat::Template(template);
        format.print(&EventMessage::default())?;
        Ok(format)
    }

    /// One event as this format prints it.
    pub fn print(&self, event: &EventMessage) -> Result<String, String> {
        let EventFormat::Template(template) = self else {
            return Ok(event.line());
        };
        let root = go_fields(event);
        fill_actions(
            template,
            "template: :1: unclosed action".to_string(),
            |action, _| {
                if action.split_whitespace().eq(["json", "."]) {
                    // The message's JSON (its JSON field names, Go's HTML escapes); other actions see the Go
                    // struct's field names (`{{.Status}}`, `{{.TimeNano}}`).
                    let json = serde_json::to_string(event).map_err(|e| e.to_string())?;
                    return Ok(json
                        .replace('<', "\\u003c")
                        .replace('>', "\\u003e")
                        .replace('&', "\\u0026"));
                }
                match render(&format!("{{{{{action}}}}}"), &root) {
                    Ok(text) => Ok(text),
                    // A map's missing key is Go's invalid value: printed `<no value>`, no error.
                    Err(_) if action.starts_with(".Actor.Attributes.") => Ok("<no value>".into()),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
    }
}

/// The message as Go's template sees it: the struct's field names, every field there.
fn go_fields(event: &EventMessage) -> Node {
    let text = |s: &str| Node::String(s.to_string());
    let number = |n: i64| Node::Number(n.into());
    Node::Object(vec![
        ("Status".into(), text(&event.status)),
        ("ID".into(), text(&event.id)),
        ("From".into(), text(&event.from)),
        ("Type".into(), text(&event.kind)),
        ("Action".into(), text(&event.action)),
        ("Actor".into(), Node::of(&event.actor)),
        ("Scope".into(), text(&event.scope)),
        ("Time".into(), number(event.time)),
        ("TimeNano".into(), number(event.time_nano)),
    ])
}

/// The query `docker events` sends: `--since`/`--until` as docker's client resolves them against `now`, the
/// filters in docker's JSON. Errors as docker prints them, with their exit codes.
pub fn query_of(inv: &Invocation, now: u64) -> Result<EventsQuery, Outcome> {
    let filters =
        EventFilters::parse(inv.flags.values(Flag::FILTER).iter().map(String::as_str)).map_err(|e| {
            Outcome::failure(
                format!("{e}\nSee 'docker {} --help'.\n", inv.typed.join(" ")),
                125,
            )
        })?;
    let time = |flag: Flag| {
        inv.flags
            .value(flag)
            .filter(|v| !v.is_empty())
            .map(|v| get_timestamp(v, now as i64))
            .transpose()
            .map_err(|e| Outcome::failure(format!("{e}\n"), 1))
    };
    Ok(EventsQuery {
        since: time(Flag::SINCE)?,
        until: time(Flag::UNTIL)?,
        filters: filters.to_json(),
    })
}

/// `docker events`: each event printed as the companion sends it (through the progress sink, so the page and
/// a terminal show it at once).
pub async fn events<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation) -> Outcome {
    let format = match EventFormat::parse(inv.flags.value(Flag::FORMAT)) {
        Ok(format) => format,
        Err(e) => return Outcome::failure(format!("Error parsing format: {e}\n"), 64),
    };
    let query = match query_of(inv, ctx.now) {
        Ok(query) => query,
        Err(outcome) => return outcome,
    };
    let mut out = Printer::new(ctx);
    let mut failed = None;
    let companion = Companion::new(ctx.transport, ctx.base);
    let streamed = companion
        .events(&query, &mut |event| match format.print(&event) {
            Ok(text) => out.progress(Stream::Stdout, &text),
            Err(e) => {
                failed.get_or_insert(e);
            }
        })
        .await;
    if let Err(e) = streamed {
        return out.fail(&e.to_string(), 1);
    }
    match failed {
        Some(e) => out.fail(&e, 1),
        None => out.done(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse::{parse, Parsed};
    use crate::cli::spec::CommandId;

    fn invocation(line: &str) -> Invocation {
        let words = crate::cli::words::split_words(line).unwrap();
        match parse(&words) {
            Ok(Parsed::Run(inv)) => inv,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn both_spellings_take_dockers_flags() {
        for line in [
            "docker events",
            "docker system events --since 10m --until 0s -f type=container",
        ] {
            assert_eq!(invocation(line).command.id, CommandId::SystemEvents, "{line}");
        }
        let q = query_of(
            &invocation("docker events --since 10m --until 0s -f event=start -f Type=container"),
            1000,
        )
        .unwrap();
        assert_eq!(q.since.as_deref(), Some("400"));
        assert_eq!(q.until.as_deref(), Some("1000"));
        assert_eq!(
            q.filters.as_deref(),
            Some(r#"{"event":{"start":true},"type":{"container":true}}"#)
        );
        let bad = query_of(&invocation("docker events -f type"), 1000).unwrap_err();
        assert_eq!(bad.exit_code, 125);
        assert_eq!(
            bad.stderr,
            "invalid argument \"type\" for \"-f, --filter\" flag: bad format of filter (expected name=value)\n\
             See 'docker events --help'.\n"
        );
        let when = query_of(&invocation("docker events --since soon"), 1000).unwrap_err();
        assert_eq!(
            (when.exit_code, when.stderr.as_str()),
            (1, "failed to parse value as time or duration: \"soon\"\n")
        );
    }

    #[test]
    fn formats_are_dockers() {
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert("name".to_string(), "web".to_string());
        attributes.insert("image".to_string(), "busybox".to_string());
        let actor = crate::api::EventActor {
            id: "abc".into(),
            attributes,
        };
        let event = EventMessage::new("container", "start", actor, 1_796_659_200_000_000_001);
        let print = |f: &str| EventFormat::parse(Some(f)).unwrap().print(&event).unwrap();
        assert_eq!(
            print("{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"),
            "container start web"
        );
        assert_eq!(print("{{.Status}}"), "start");
        assert_eq!(print("{{index .Actor.Attributes \"image\"}}"), "busybox");
        assert_eq!(print("json"), serde_json::to_string(&event).unwrap());
        assert_eq!(print("{{json .}}"), print("json"));
        assert_eq!(
            EventFormat::Line.print(&event).unwrap(),
            "2026-12-07T16:00:00.000000001Z container start abc (image=busybox, name=web)"
        );
        assert!(
            EventFormat::parse(Some("{{.Nope}}")).is_err(),
            "checked on an empty message first"
        );
        assert_eq!(
            print("{{.Actor.Attributes.exitCode}}"),
            "<no value>",
            "Go's missing map key"
        );
        assert_eq!(
            print("[{{json .}}] {{ .Scope }}"),
            format!("[{}] local", print("json"))
        );
        assert!(EventFormat::parse(Some("{{.Type")).is_err());
    }
}
