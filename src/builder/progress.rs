//! Build progress: a stream of events (steps starting and ending, cache hits and misses with the reason, log
//! lines, bytes) and a renderer for BuildKit's plain progress format (`--progress plain`).

use std::fmt;

/// Why a step could not reuse the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissReason {
    /// `--no-cache`.
    NoCache,
    /// The step before it was rebuilt, so its result cannot be reused.
    PreviousStepChanged,
    /// The base image resolved to another digest than last time.
    BaseChanged,
    /// Files this step reads changed (context paths, or the COPY --from source).
    FilesChanged(Vec<String>),
    /// No earlier build ran this instruction here.
    NewInstruction,
    /// The cache names a RUN layer the server no longer has (its data was wiped, or the layer collected).
    LayerGone,
    /// The cached RUN layer was made against another server; layers on one server are not on another.
    OtherServer,
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissReason::NoCache => f.write_str("--no-cache"),
            MissReason::PreviousStepChanged => f.write_str("a previous step changed"),
            MissReason::BaseChanged => f.write_str("the base image changed"),
            MissReason::FilesChanged(files) => {
                const SHOWN: usize = 3;
                let mut list = files.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
                if files.len() > SHOWN {
                    list.push_str(&format!(" and {} more", files.len() - SHOWN));
                }
                write!(f, "{list} changed")
            }
            MissReason::NewInstruction => f.write_str("new instruction"),
            MissReason::LayerGone => f.write_str("the cached layer is gone from this server"),
            MissReason::OtherServer => f.write_str("the cached layer was made on another server"),
        }
    }
}

/// One thing that happened during a build. `id` numbers the step (`#5`), as BuildKit numbers vertices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The steps a stage will run, in order, before the first starts: their names as [`Event::Start`] will
    /// give them (`[2/5] COPY a /app/`; the bracket is the same, the text may still gain expanded variables).
    Plan { names: Vec<String> },
    /// A step started: `name` is `[2/4] COPY requirements.txt /app/` or `[internal] load build context`.
    Start { id: usize, name: String },
    /// A line of output or a status line of the step (`transferring context: 1.2kB done`).
    Log { id: usize, text: String },
    /// The step's result came from the cache.
    Cached { id: usize },
    /// The step runs: why the cache could not be used. `step` is the instruction (`COPY a /app/`).
    Miss {
        id: usize,
        step: String,
        reason: MissReason,
    },
    /// The step made a layer of `bytes` bytes (gzip), or hashed that much.
    Bytes { id: usize, bytes: u64 },
    /// The step ended after `millis` milliseconds.
    Done { id: usize, millis: u64 },
    /// The step failed.
    Error { id: usize, message: String },
    /// The end of a build whose checks warned (also when it failed after them): each warning of BuildKit's
    /// rules as its `Short` text, `Rule: message (line N)` (`linter.LintFormatShort`).
    Warnings { lines: Vec<String> },
}

/// A build's warnings after its progress, as buildx's `printWarnings` (`commands/build.go`) prints them: a blank
/// line, ` N warnings found (use docker --debug to expand):` (`1 warning found` for one; buildx colours it
/// yellow, left out here) and ` - Rule: message (line N)` per warning. Nothing without warnings.
pub fn warnings_summary(lines: &[String]) -> String {
    let count = match lines.len() {
        0 => return String::new(),
        1 => "1 warning".to_string(),
        n => format!("{n} warnings"),
    };
    let mut out = format!("\n {count} found (use docker --debug to expand):\n");
    for line in lines {
        out.push_str(&format!(" - {line}\n"));
    }
    out
}

/// Renders events as BuildKit's plain progress does; a blank line separates steps.
#[derive(Debug, Default)]
pub struct PlainRenderer {
    out: String,
    current: Option<usize>,
}

impl PlainRenderer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an event's lines.
    pub fn event(&mut self, event: &Event) {
        match event {
            Event::Start { id, name } => {
                if self.current.is_some() {
                    self.out.push('\n');
                }
                self.current = Some(*id);
                self.out.push_str(&format!("#{id} {name}\n"));
            }
            Event::Log { id, text } => {
                for line in text.lines() {
                    self.out.push_str(&format!("#{id} {line}\n"));
                }
            }
            Event::Cached { id } => self.out.push_str(&format!("#{id} CACHED\n")),
            Event::Miss { id, reason, .. } => self.out.push_str(&format!("#{id} cache miss: {reason}\n")),
            Event::Plan { .. } | Event::Bytes { .. } => {}
            Event::Done { id, millis } => self.out.push_str(&format!(
                "#{id} DONE {}.{}s\n",
                millis / 1000,
                millis % 1000 / 100
            )),
            Event::Error { id, message } => self.out.push_str(&format!("#{id} ERROR: {message}\n")),
            Event::Warnings { lines } => self.out.push_str(&warnings_summary(lines)),
        }
    }

    /// Takes what was rendered so far (for streaming output).
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.out)
    }

    pub fn text(&self) -> &str {
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_like_buildkit() {
        let mut r = PlainRenderer::new();
        r.event(&Event::Start {
            id: 5,
            name: "[2/4] COPY requirements.txt /app/".into(),
        });
        r.event(&Event::Cached { id: 5 });
        r.event(&Event::Start {
            id: 6,
            name: "[3/4] COPY app.py /app/".into(),
        });
        r.event(&Event::Miss {
            id: 6,
            step: "COPY app.py /app/".into(),
            reason: MissReason::FilesChanged(vec!["app.py".into()]),
        });
        r.event(&Event::Done { id: 6, millis: 123 });
        assert_eq!(
            r.text(),
            "#5 [2/4] COPY requirements.txt /app/\n#5 CACHED\n\n#6 [3/4] COPY app.py /app/\n#6 cache miss: app.py changed\n#6 DONE 0.1s\n"
        );
    }

    #[test]
    fn warnings_end_the_output_as_buildx_prints_them() {
        let mut r = PlainRenderer::new();
        r.event(&Event::Warnings { lines: vec![] });
        assert_eq!(r.take(), "");
        r.event(&Event::Warnings {
            lines: vec![
                "MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (line 2)"
                    .into(),
            ],
        });
        assert_eq!(
            r.take(),
            "\n 1 warning found (use docker --debug to expand):\n - MaintainerDeprecated: Maintainer instruction is \
             deprecated in favor of using label (line 2)\n"
        );
        r.event(&Event::Warnings {
            lines: vec!["A: a (line 1)".into(), "B: b (line 3)".into()],
        });
        assert_eq!(
            r.take(),
            "\n 2 warnings found (use docker --debug to expand):\n - A: a (line 1)\n - B: b (line 3)\n"
        );
    }
}
