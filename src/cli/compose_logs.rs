//! `docker compose logs [-f] [-n N] [-t] [--no-log-prefix] [--no-color] [SERVICE...]`: every container of the
//! project, each line prefixed with the container's name less the project (`web-1  | `, padded to the longest
//! name and one more, as Compose pads it), in its own colour on a terminal (the page). With `-f` every
//! container is followed at once, interleaved as the lines come, until they all exit (or Ctrl-C).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::compose_manage::selected;
use super::compose_project::Member;
use super::containers::{stream_of, Timestamps};
use super::context::{CommandContext, Stream};
use super::outcome::Outcome;
use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{Companion, CompanionError, LogChunk, LogsQuery};
use crate::compose::model::Project;
use crate::registry::Transport;

/// Compose's colours for the prefixes, in the order it hands them out (then again, intense).
pub(super) const COLOURS: [&str; 10] = [
    "36", "33", "32", "35", "34", "36;1", "33;1", "32;1", "35;1", "34;1",
];

/// How each container's lines are marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefixes {
    /// Per container, in the members' order: `web-1  | `, coloured or not; empty with `--no-log-prefix`.
    pub prefixes: Vec<String>,
}

/// The name Compose shows for a container: its service and number (`web-1`), or a `container_name` as is.
pub fn short_name(project: &str, m: &Member) -> String {
    m.row
        .name
        .strip_prefix(&format!("{project}-"))
        .map(str::to_string)
        .unwrap_or_else(|| m.row.name.clone())
}

impl Prefixes {
    /// Compose's `%-Ns | ` with N the longest name plus one; `colour` on a terminal.
    pub fn new(names: &[String], show: bool, colour: bool) -> Prefixes {
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 1;
        let prefixes = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let plain = format!("{name:width$} | ");
                match (show, colour) {
                    (false, _) => String::new(),
                    (true, false) => plain,
                    (true, true) => format!("\x1b[{}m{plain}\x1b[0m", COLOURS[i % COLOURS.len()]),
                }
            })
            .collect();
        Prefixes { prefixes }
    }
}

/// One container's output cut into whole lines (a chunk may end mid-line), each prefixed.
pub(super) struct Lines {
    prefix: String,
    stamps: Timestamps,
    pending: [String; 2],
}

impl Lines {
    pub(super) fn new(prefix: String, timestamps: bool) -> Lines {
        Lines {
            prefix,
            stamps: Timestamps::new(timestamps),
            pending: [String::new(), String::new()],
        }
    }

    /// The whole lines `chunk` completes, each with its stream.
    pub(super) fn push(&mut self, chunk: &LogChunk) -> Vec<(Stream, String)> {
        let stream = stream_of(chunk);
        let pending = &mut self.pending[usize::from(stream == Stream::Stderr)];
        pending.push_str(&self.stamps.stamp(chunk));
        let mut out = Vec::new();
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            out.push((
                stream,
                format!("{}{}", self.prefix, line.trim_end_matches(['\n', '\r'])),
            ));
        }
        out
    }

    /// What is left after the output ended without a newline.
    pub(super) fn rest(&mut self) -> Vec<(Stream, String)> {
        let prefix = &self.prefix;
        [Stream::Stdout, Stream::Stderr]
            .into_iter()
            .zip(self.pending.iter_mut())
            .filter(|(_, p)| !p.is_empty())
            .map(|(s, p)| (s, format!("{prefix}{}", std::mem::take(p))))
            .collect()
    }
}

/// One container's follow, run alongside the others.
pub(super) type Following<'a> = Pin<Box<dyn Future<Output = Result<(), CompanionError>> + 'a>>;

/// Several futures polled together until all are done (the page has no threads: one task follows every
/// container).
pub(super) struct JoinAll<'a> {
    pub(super) futures: Vec<Option<Following<'a>>>,
    pub(super) first_error: Option<CompanionError>,
}

impl Future for JoinAll<'_> {
    type Output = Result<(), CompanionError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        for slot in &mut this.futures {
            if let Some(future) = slot {
                if let Poll::Ready(result) = future.as_mut().poll(cx) {
                    *slot = None;
                    if let Err(e) = result {
                        this.first_error.get_or_insert(e);
                    }
                }
            }
        }
        if this.futures.iter().all(Option::is_none) {
            Poll::Ready(this.first_error.take().map_or(Ok(()), Err))
        } else {
            Poll::Pending
        }
    }
}

/// The `--tail` value: a count of lines, or `all`.
fn tail(inv: &Invocation) -> Result<Option<usize>, Outcome> {
    match inv.flags.value(Flag::TAIL).filter(|t| *t != "all") {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            Outcome::failure(
                format!("Error response from daemon: invalid value for tail: {text:?}\n"),
                1,
            )
        }),
    }
}

/// `docker compose logs`.
pub async fn logs<T: Transport>(ctx: &CommandContext<'_, T>, inv: &Invocation, project: &Project) -> Outcome {
    let query = match tail(inv) {
        Ok(tail) => LogsQuery {
            tail,
            timestamps: inv.flags.is_set(Flag::TIMESTAMPS),
            ..LogsQuery::default()
        },
        Err(outcome) => return outcome,
    };
    let companion = Companion::new(ctx.transport, ctx.base);
    let targets = match selected(&companion, project, inv).await {
        Ok(found) => found,
        Err(outcome) => return outcome,
    };
    let names: Vec<String> = targets.iter().map(|m| short_name(&project.name, m)).collect();
    // The page's terminal and a TTY redraw status lines: there Compose colours each container's prefix.
    let colour = ctx.status.is_some() && !inv.flags.is_set(Flag::NO_COLOR);
    let prefixes = Prefixes::new(&names, !inv.flags.is_set(Flag::NO_LOG_PREFIX), colour).prefixes;
    if inv.flags.is_set(Flag::FOLLOW) {
        return follow(ctx, &companion, &targets, prefixes, query).await;
    }
    let mut lines: Vec<(u128, usize, Stream, String)> = Vec::new();
    for (i, (m, prefix)) in targets.iter().zip(prefixes).enumerate() {
        let chunks = match companion.logs(&m.row.id, &query).await {
            Ok(chunks) => chunks,
            Err(e) => return Outcome::failure(format!("{e}\n"), 1),
        };
        let mut cut = Lines::new(prefix, query.timestamps);
        for chunk in &chunks {
            lines.extend(cut.push(chunk).into_iter().map(|(s, l)| (chunk.time_ns, i, s, l)));
        }
        let end = chunks.last().map_or(0, |c| c.time_ns);
        lines.extend(cut.rest().into_iter().map(|(s, l)| (end, i, s, l)));
    }
    // As the containers wrote them (Compose prints them as they arrive from each container).
    lines.sort_by_key(|(time, i, _, _)| (*time, *i));
    let mut out = Outcome::default();
    for (_, _, stream, line) in lines {
        append(&mut out, stream, &line);
    }
    out
}

/// A line of output to the outcome's stdout or stderr.
fn append(out: &mut Outcome, stream: Stream, line: &str) {
    let text = if stream == Stream::Stderr {
        &mut out.stderr
    } else {
        &mut out.stdout
    };
    text.push_str(line);
    text.push('\n');
}

/// `logs -f`: every container followed at once, each line shown as it comes (through the context's progress
/// sink, else collected), until every container's output ends.
async fn follow<T: Transport>(
    ctx: &CommandContext<'_, T>,
    companion: &Companion<'_, T>,
    targets: &[Member],
    prefixes: Vec<String>,
    query: LogsQuery,
) -> Outcome {
    let collected = RefCell::new(Outcome::default());
    let show = |(stream, line): (Stream, String)| match ctx.progress {
        Some(sink) => sink(stream, &line),
        None => append(&mut collected.borrow_mut(), stream, &line),
    };
    let show = &show;
    let futures = targets
        .iter()
        .zip(prefixes)
        .map(|(m, prefix)| {
            let id = m.row.id.clone();
            let future: Following<'_> = Box::pin(async move {
                let cut = RefCell::new(Lines::new(prefix, query.timestamps));
                let mut on_chunk = |chunk: LogChunk| cut.borrow_mut().push(&chunk).into_iter().for_each(show);
                let followed = companion.follow_logs(&id, &query, &mut on_chunk).await;
                cut.borrow_mut().rest().into_iter().for_each(show);
                followed
            });
            Some(future)
        })
        .collect();
    let joined = JoinAll {
        futures,
        first_error: None,
    }
    .await;
    let mut out = collected.into_inner();
    if let Err(e) = joined {
        out.stderr.push_str(&format!("{e}\n"));
        out.exit_code = 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LogStream;

    #[test]
    fn prefixes_are_padded_to_the_longest_name_and_one_more_as_compose_pads_them() {
        let names = vec!["web-1".to_string(), "web-2".to_string(), "db-1".to_string()];
        let plain = Prefixes::new(&names, true, false).prefixes;
        assert_eq!(plain, ["web-1  | ", "web-2  | ", "db-1   | "]);
        let coloured = Prefixes::new(&names, true, true).prefixes;
        assert_eq!(coloured[0], "\x1b[36mweb-1  | \x1b[0m");
        assert_eq!(coloured[1], "\x1b[33mweb-2  | \x1b[0m");
        assert_eq!(Prefixes::new(&names, false, true).prefixes, ["", "", ""]);
    }

    #[test]
    fn chunks_are_cut_into_prefixed_lines_per_stream() {
        let chunk = |stream: LogStream, data: &str| LogChunk {
            seq: 1,
            stream,
            time_ns: 1_795_842_313_000_000_000,
            data: data.into(),
        };
        let mut lines = Lines::new("web-1  | ".into(), false);
        assert_eq!(
            lines.push(&chunk(LogStream::Stdout, "one\ntw")),
            [(Stream::Stdout, "web-1  | one".to_string())]
        );
        assert_eq!(
            lines.push(&chunk(LogStream::Stderr, "oops\n")),
            [(Stream::Stderr, "web-1  | oops".to_string())]
        );
        assert_eq!(lines.push(&chunk(LogStream::Stdout, "o\n"))[0].1, "web-1  | two");
        lines.push(&chunk(LogStream::Stdout, "end"));
        assert_eq!(lines.rest(), [(Stream::Stdout, "web-1  | end".to_string())]);
        let mut stamped = Lines::new("db-1  | ".into(), true);
        assert_eq!(
            stamped.push(&chunk(LogStream::Stdout, "hi\n"))[0].1,
            "db-1  | 2026-11-28T05:05:13.000000000Z hi"
        );
    }
}
