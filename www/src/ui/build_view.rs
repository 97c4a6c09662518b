//! The Build panel's state: the steps of the page's last build, fed by the builder's progress events (the same
//! events the terminal renders as BuildKit's plain progress), kept after the build ends until the next one.

use slipway::builder::{Event, MissReason};
use slipway::cli::outcome::Outcome;

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StepState {
    /// Planned, not started.
    Waiting,
    Running,
    Cached,
    Done,
    Error,
    /// Never finished: the build failed elsewhere first.
    Canceled,
}

impl StepState {
    /// The word shown beside the colour (BuildKit's words where it has them).
    pub fn label(self) -> &'static str {
        match self {
            StepState::Waiting => "waiting",
            StepState::Running => "running",
            StepState::Cached => "CACHED",
            StepState::Done => "done",
            StepState::Error => "error",
            StepState::Canceled => "CANCELED",
        }
    }
}

/// One step of the build as the panel shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StepRow {
    /// BuildKit's vertex number (`#5`); `None` while only planned.
    pub id: Option<usize>,
    /// `[2/5] COPY requirements.txt /app` or `[internal] load build context`.
    pub name: String,
    pub state: StepState,
    /// Why the cache could not be used.
    pub miss: Option<String>,
    pub millis: Option<u64>,
    /// Bytes of layer made (gzip) or hashed.
    pub bytes: u64,
    /// The step's output lines (RUN output, status lines), the last [`KEPT_LINES`].
    pub output: Vec<String>,
    pub error: Option<String>,
}

/// Output lines kept per step: the end of a long RUN log is what explains a failure.
pub const KEPT_LINES: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct BuildView {
    pub steps: Vec<StepRow>,
    pub running: bool,
    /// `Some(true)` after a successful build, `Some(false)` after a failed one.
    pub succeeded: Option<bool>,
    /// Why the build failed (`ERROR: failed to solve: ...`), also when no step was running (a Dockerfile error).
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildViewAction {
    /// A build starts: the previous one's steps go.
    Begin,
    Event(Event),
    /// The build ended; `error` is why it failed.
    Finished {
        error: Option<String>,
    },
    /// The whole view, as the engine that runs the build has it (`ui::engine_api`, callback `build`).
    Show(BuildView),
}

impl BuildViewAction {
    /// How `docker build` ended, from its outcome: the last `ERROR` line of a failure (BuildKit's summary).
    pub fn finished(outcome: &Outcome) -> Self {
        let error = (outcome.exit_code != 0).then(|| {
            let stderr = outcome.stderr.trim();
            stderr
                .lines()
                .rev()
                .find(|l| l.starts_with("ERROR"))
                .unwrap_or(stderr)
                .to_owned()
        });
        BuildViewAction::Finished { error }
    }
}

/// `[stage 2/5]` of a step name, which a plan and the step's start share.
fn bracket(name: &str) -> Option<&str> {
    name.starts_with('[')
        .then(|| name.split_inclusive(']').next())
        .flatten()
}

impl BuildView {
    fn row(&mut self, id: usize) -> Option<&mut StepRow> {
        self.steps.iter_mut().find(|s| s.id == Some(id))
    }

    pub fn reduce(mut self, action: BuildViewAction) -> Self {
        match action {
            BuildViewAction::Begin => {
                return BuildView {
                    running: true,
                    ..BuildView::default()
                }
            }
            BuildViewAction::Finished { error } => {
                self.running = false;
                self.succeeded = Some(error.is_none());
                self.error = error;
                for step in &mut self.steps {
                    if matches!(step.state, StepState::Waiting | StepState::Running) {
                        step.state = StepState::Canceled;
                    }
                }
            }
            BuildViewAction::Event(event) => self.event(event),
            BuildViewAction::Show(view) => return view,
        }
        self
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Plan { names } => {
                for name in names {
                    let known = self.steps.iter().any(|s| s.name == name);
                    if !known {
                        self.steps.push(StepRow {
                            id: None,
                            name,
                            state: StepState::Waiting,
                            miss: None,
                            millis: None,
                            bytes: 0,
                            output: Vec::new(),
                            error: None,
                        });
                    }
                }
            }
            Event::Start { id, name } => {
                let planned = self.steps.iter_mut().find(|s| {
                    s.id.is_none()
                        && s.state == StepState::Waiting
                        && bracket(&s.name).is_some_and(|b| Some(b) == bracket(&name))
                });
                match planned {
                    Some(row) => {
                        row.id = Some(id);
                        row.name = name;
                        row.state = StepState::Running;
                    }
                    None => self.steps.push(StepRow {
                        id: Some(id),
                        name,
                        state: StepState::Running,
                        miss: None,
                        millis: None,
                        bytes: 0,
                        output: Vec::new(),
                        error: None,
                    }),
                }
            }
            Event::Log { id, text } => {
                if let Some(row) = self.row(id) {
                    row.output.extend(text.lines().map(str::to_owned));
                    let extra = row.output.len().saturating_sub(KEPT_LINES);
                    row.output.drain(..extra);
                }
            }
            Event::Cached { id } => {
                if let Some(row) = self.row(id) {
                    row.state = StepState::Cached;
                }
            }
            Event::Miss { id, reason, .. } => {
                if let Some(row) = self.row(id) {
                    row.miss = Some(miss_text(&reason));
                }
            }
            // The terminal prints the end summary (`N warnings found`); the step list has no row for it.
            Event::Warnings { .. } => {}
            Event::Bytes { id, bytes } => {
                if let Some(row) = self.row(id) {
                    row.bytes += bytes;
                }
            }
            Event::Done { id, millis } => {
                if let Some(row) = self.row(id) {
                    row.state = StepState::Done;
                    row.millis = Some(millis);
                }
            }
            Event::Error { id, message } => {
                if let Some(row) = self.row(id) {
                    row.state = StepState::Error;
                    row.error = Some(message);
                }
            }
        }
    }
}

/// The miss reason as the terminal says it (`cache miss: b.txt changed`).
fn miss_text(reason: &MissReason) -> String {
    format!("cache miss: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(view: BuildView, events: Vec<Event>) -> BuildView {
        events
            .into_iter()
            .fold(view, |v, e| v.reduce(BuildViewAction::Event(e)))
    }

    fn start(id: usize, name: &str) -> Event {
        Event::Start {
            id,
            name: name.into(),
        }
    }

    #[test]
    fn planned_steps_wait_then_run_cache_or_miss() {
        let view = BuildView::default().reduce(BuildViewAction::Begin);
        assert!(view.running);
        let view = events(
            view,
            vec![
                Event::Plan {
                    names: vec![
                        "[1/3] FROM busybox".into(),
                        "[2/3] COPY a.txt /app/".into(),
                        "[3/3] COPY $F /app/".into(),
                    ],
                },
                start(1, "[1/3] FROM busybox@sha256:aa"),
                Event::Cached { id: 1 },
                start(2, "[internal] load build context"),
                Event::Done { id: 2, millis: 3 },
                start(3, "[2/3] COPY a.txt /app/"),
                Event::Cached { id: 3 },
                start(4, "[3/3] COPY b.txt /app/"),
                Event::Miss {
                    id: 4,
                    step: "COPY b.txt /app/".into(),
                    reason: MissReason::FilesChanged(vec!["b.txt".into()]),
                },
                Event::Bytes { id: 4, bytes: 120 },
            ],
        );
        let shown: Vec<(&str, StepState)> = view.steps.iter().map(|s| (s.name.as_str(), s.state)).collect();
        assert_eq!(
            shown,
            [
                ("[1/3] FROM busybox@sha256:aa", StepState::Cached),
                ("[2/3] COPY a.txt /app/", StepState::Cached),
                // The plan's text had the variable; the start names it expanded, in the same row.
                ("[3/3] COPY b.txt /app/", StepState::Running),
                ("[internal] load build context", StepState::Done),
            ]
        );
        let copy = &view.steps[2];
        assert_eq!(copy.miss.as_deref(), Some("cache miss: b.txt changed"));
        assert_eq!(copy.bytes, 120);
        let view = events(view, vec![Event::Done { id: 4, millis: 42 }])
            .reduce(BuildViewAction::finished(&Outcome::success(String::new())));
        assert_eq!(
            (view.steps[2].state, view.steps[2].millis),
            (StepState::Done, Some(42))
        );
        assert_eq!((view.running, view.succeeded), (false, Some(true)));
        // It stays until the next build begins.
        assert_eq!(view.clone().reduce(BuildViewAction::Begin).steps, vec![]);
    }

    #[test]
    fn a_failed_step_keeps_its_output_and_the_rest_is_canceled() {
        let view = events(
            BuildView::default().reduce(BuildViewAction::Begin),
            vec![
                Event::Plan {
                    names: vec!["[1/2] RUN false".into(), "[2/2] COPY a /".into()],
                },
                start(1, "[1/2] RUN false"),
                Event::Log {
                    id: 1,
                    text: "line one\nline two".into(),
                },
                Event::Error {
                    id: 1,
                    message: "process \"/bin/sh -c false\" did not complete successfully: exit code: 1"
                        .into(),
                },
            ],
        )
        .reduce(BuildViewAction::finished(&Outcome::failure(
            "#4 ERROR: exit code: 1\n------\n > line two\n------\nERROR: failed to solve: exit code: 1\n"
                .into(),
            1,
        )));
        let run = &view.steps[0];
        assert_eq!(run.state, StepState::Error);
        assert_eq!(run.output, ["line one", "line two"]);
        assert!(run.error.as_deref().unwrap().contains("exit code: 1"));
        assert_eq!(view.steps[1].state, StepState::Canceled);
        assert_eq!(view.succeeded, Some(false));
        assert_eq!(
            view.error.as_deref(),
            Some("ERROR: failed to solve: exit code: 1")
        );
    }

    #[test]
    fn a_failure_before_any_step_still_says_why() {
        let view = BuildView::default()
            .reduce(BuildViewAction::Begin)
            .reduce(BuildViewAction::finished(&Outcome::failure(
                "ERROR: failed to solve: dockerfile parse error on line 1: unknown instruction: gamma\n"
                    .into(),
                1,
            )));
        assert_eq!(
            view.error.as_deref(),
            Some("ERROR: failed to solve: dockerfile parse error on line 1: unknown instruction: gamma")
        );
        assert_eq!((view.running, view.succeeded), (false, Some(false)));
    }

    #[test]
    fn long_output_keeps_its_end() {
        let text: Vec<String> = (0..KEPT_LINES + 5).map(|i| format!("line {i}")).collect();
        let view = events(
            BuildView::default(),
            vec![
                start(1, "[1/1] RUN x"),
                Event::Log {
                    id: 1,
                    text: text.join("\n"),
                },
            ],
        );
        assert_eq!(view.steps[0].output.len(), KEPT_LINES);
        assert_eq!(
            view.steps[0].output.last().map(String::as_str),
            Some(&*text[KEPT_LINES + 4])
        );
    }
}
