//! The teacher's dashboard as plain state (tested natively): the latest [`ClassSnapshot`] from the server's
//! feed, the table's sort, the action waiting for confirmation, the class's end, and what the live region
//! announces; and the class-wide actions' forms (broadcast a message, extend time) read into requests.

use slipway::api::{Broadcast, ClassSnapshot, ExtendTime, LearnerRow};

/// A sortable column of the learners' table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    Online,
    Step,
    Error,
    Containers,
    Memory,
    Cpu,
    Disk,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Name,
        Column::Online,
        Column::Step,
        Column::Error,
        Column::Containers,
        Column::Memory,
        Column::Cpu,
        Column::Disk,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Column::Name => "Learner",
            Column::Online => "Online",
            Column::Step => "Step",
            Column::Error => "Last error",
            Column::Containers => "Running",
            Column::Memory => "Memory",
            Column::Cpu => "CPU",
            Column::Disk => "Disk",
        }
    }
}

/// An action on one learner, asked for and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    Stop { learner: String },
    Reset { learner: String, step: usize },
}

impl Pending {
    /// The question the confirmation asks.
    pub fn question(&self) -> String {
        match self {
            Pending::Stop { learner } => format!("Stop every container of {learner}?"),
            Pending::Reset { learner, step } => format!(
                "Reset {learner} to step {}? Their containers and the images of that step and later are removed.",
                step + 1
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dashboard {
    pub snapshot: Option<ClassSnapshot>,
    pub sort: Option<(Column, bool)>,
    pub pending: Option<Pending>,
    /// What the `aria-live` region says: the latest changes, or an action's outcome.
    pub announcement: String,
    /// When the class ends (RFC 3339): from `/api/info` at first, then the feed and the teacher's extensions.
    pub ends_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DashboardAction {
    Snapshot(ClassSnapshot),
    /// A sort button: the first press sorts ascending, the next flips it.
    SortBy(Column),
    Ask(Pending),
    Cancel,
    /// An action's outcome (or why it failed), for the live region.
    Said(String),
    /// The class's end now (RFC 3339): `/api/info`'s at start (`announce` false), or an extension's answer.
    EndsAt {
        ends_at: String,
        announce: bool,
    },
}

/// The longest extension one press asks for: a day.
pub const MAX_EXTEND_MINUTES: u32 = 24 * 60;

/// The broadcast field read into a request: a message with something in it.
pub fn broadcast_request(typed: &str) -> Result<Broadcast, String> {
    let message = typed.trim();
    if message.is_empty() {
        return Err("Type a message to broadcast first.".into());
    }
    Ok(Broadcast {
        message: message.to_string(),
    })
}

/// The minutes field read into a request: a whole number from 1 to [`MAX_EXTEND_MINUTES`].
pub fn extend_request(typed: &str) -> Result<ExtendTime, String> {
    match typed.trim().parse::<u32>() {
        Ok(minutes @ 1..=MAX_EXTEND_MINUTES) => Ok(ExtendTime { minutes }),
        _ => Err(format!(
            "Extend by a whole number of minutes, 1 to {MAX_EXTEND_MINUTES}."
        )),
    }
}

/// The class's end for people: `17:00 UTC (2026-12-07)` from `2026-12-07T17:00:00Z`; as given otherwise.
pub fn end_label(ends_at: &str) -> String {
    match ends_at.strip_suffix('Z').and_then(|t| t.split_once('T')) {
        Some((day, time)) if time.len() >= 5 => format!("{} UTC ({day})", &time[..5]),
        _ => ends_at.to_string(),
    }
}

/// The step a learner is on in the class's first lesson, 1-based for people (`done` past the last).
pub fn step_label(row: &LearnerRow) -> String {
    match row.lessons.first() {
        None => "—".into(),
        Some(l) if l.current_step >= l.steps.len() => "done".into(),
        Some(l) => format!("{} of {}", l.current_step + 1, l.steps.len()),
    }
}

fn step_of(row: &LearnerRow) -> usize {
    row.lessons.first().map_or(0, |l| l.current_step)
}

/// `bytes` for people: `512 MiB`, `3.2 GiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 10.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

impl Dashboard {
    pub fn reduce(mut self, action: DashboardAction) -> Dashboard {
        match action {
            DashboardAction::Snapshot(snapshot) => {
                let changes = self.changes(&snapshot);
                if !changes.is_empty() {
                    self.announcement = changes.join(". ");
                }
                if snapshot.ends_at.is_some() {
                    self.ends_at = snapshot.ends_at.clone();
                }
                self.snapshot = Some(snapshot);
            }
            DashboardAction::SortBy(column) => {
                self.sort = match self.sort {
                    Some((c, ascending)) if c == column => Some((column, !ascending)),
                    _ => Some((column, true)),
                };
            }
            DashboardAction::Ask(pending) => self.pending = Some(pending),
            DashboardAction::Cancel => self.pending = None,
            DashboardAction::Said(text) => {
                self.pending = None;
                self.announcement = text;
            }
            DashboardAction::EndsAt { ends_at, announce } => {
                if announce {
                    self.announcement = format!("The class now ends at {}.", end_label(&ends_at));
                }
                self.ends_at = Some(ends_at);
            }
        }
        self
    }

    /// What changed for people since the snapshot held: a learner moving on, a new error.
    fn changes(&self, next: &ClassSnapshot) -> Vec<String> {
        let Some(before) = &self.snapshot else {
            return Vec::new();
        };
        let mut said = Vec::new();
        if let (Some(old), Some(new)) = (&self.ends_at, &next.ends_at) {
            if old != new {
                said.push(format!("The class now ends at {}", end_label(new)));
            }
        }
        for row in &next.learners {
            let Some(old) = before.learners.iter().find(|r| r.name == row.name) else {
                continue;
            };
            if step_of(row) != step_of(old) {
                said.push(format!("{} is on step {}", row.name, step_label(row)));
            }
            if row.last_error != old.last_error {
                if let Some(error) = &row.last_error {
                    said.push(format!("{}: {} failed", row.name, error.command));
                }
            }
        }
        said
    }

    /// `aria-sort` of a column's header.
    pub fn aria_sort(&self, column: Column) -> &'static str {
        match self.sort {
            Some((c, true)) if c == column => "ascending",
            Some((c, false)) if c == column => "descending",
            _ => "none",
        }
    }

    /// The learners in the table's order.
    pub fn rows(&self) -> Vec<&LearnerRow> {
        let Some(snapshot) = &self.snapshot else {
            return Vec::new();
        };
        let mut rows: Vec<&LearnerRow> = snapshot.learners.iter().collect();
        if let Some((column, ascending)) = self.sort {
            rows.sort_by(|a, b| {
                let order = match column {
                    Column::Name => a.name.cmp(&b.name),
                    Column::Online => a.online.cmp(&b.online),
                    Column::Step => step_of(a).cmp(&step_of(b)),
                    Column::Error => a
                        .last_error
                        .as_ref()
                        .map(|e| e.at)
                        .cmp(&b.last_error.as_ref().map(|e| e.at)),
                    Column::Containers => a.running_containers.cmp(&b.running_containers),
                    Column::Memory => a.memory_bytes.cmp(&b.memory_bytes),
                    Column::Cpu => a
                        .cpu_percent
                        .unwrap_or(0.0)
                        .total_cmp(&b.cpu_percent.unwrap_or(0.0)),
                    Column::Disk => a.disk_bytes.cmp(&b.disk_bytes),
                };
                let order = order.then_with(|| a.name.cmp(&b.name));
                if ascending {
                    order
                } else {
                    order.reverse()
                }
            });
        }
        rows
    }
}

/// The snapshots in a piece of a `text/event-stream`, and what is left over (an event not complete yet).
pub fn feed_events(buffer: &str) -> (Vec<ClassSnapshot>, String) {
    let normalized = buffer.replace("\r\n", "\n");
    let mut events: Vec<&str> = normalized.split("\n\n").collect();
    let rest = events.pop().unwrap_or_default().to_string();
    let snapshots = events
        .iter()
        .filter_map(|event| {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            serde_json::from_str(&data.join("\n")).ok()
        })
        .collect();
    (snapshots, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway::api::{FailedCommand, LessonProgress, StepMark};

    fn learner(name: &str, step: usize, disk: u64) -> LearnerRow {
        LearnerRow {
            name: name.into(),
            lessons: vec![LessonProgress {
                lesson: "l".into(),
                steps: vec![StepMark::default(); 4],
                current_step: step,
            }],
            disk_bytes: disk,
            ..LearnerRow::default()
        }
    }

    fn class(rows: Vec<LearnerRow>) -> ClassSnapshot {
        ClassSnapshot {
            taken_at: 1,
            learners: rows,
            funnels: vec![],
            ends_at: None,
        }
    }

    #[test]
    fn sort_buttons_sort_then_flip_and_say_so_in_aria_sort() {
        let board = Dashboard::default().reduce(DashboardAction::Snapshot(class(vec![
            learner("grace", 2, 10),
            learner("ada", 0, 30),
            learner("linus", 4, 20),
        ])));
        let names = |b: &Dashboard| b.rows().iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&board),
            ["grace", "ada", "linus"],
            "the server's order at first"
        );
        let board = board.reduce(DashboardAction::SortBy(Column::Step));
        assert_eq!(names(&board), ["ada", "grace", "linus"]);
        assert_eq!(board.aria_sort(Column::Step), "ascending");
        assert_eq!(board.aria_sort(Column::Name), "none");
        let board = board.reduce(DashboardAction::SortBy(Column::Step));
        assert_eq!(names(&board), ["linus", "grace", "ada"]);
        assert_eq!(board.aria_sort(Column::Step), "descending");
        let board = board.reduce(DashboardAction::SortBy(Column::Disk));
        assert_eq!(names(&board), ["grace", "linus", "ada"]);
        assert_eq!(step_label(board.rows()[1]), "done");
        assert_eq!(step_label(board.rows()[0]), "3 of 4");
    }

    #[test]
    fn the_live_region_announces_steps_and_errors_and_actions_ask_first() {
        let board =
            Dashboard::default().reduce(DashboardAction::Snapshot(class(vec![learner("grace", 0, 0)])));
        assert_eq!(board.announcement, "", "nothing to compare with yet");
        let mut moved = learner("grace", 1, 0);
        moved.last_error = Some(FailedCommand {
            command: "docker build (RUN false)".into(),
            error: "exit code 1".into(),
            at: 3,
        });
        let board = board.reduce(DashboardAction::Snapshot(class(vec![moved])));
        assert_eq!(
            board.announcement,
            "grace is on step 2 of 4. grace: docker build (RUN false) failed"
        );
        let stop = Pending::Stop {
            learner: "grace".into(),
        };
        let board = board.reduce(DashboardAction::Ask(stop.clone()));
        assert_eq!(board.pending, Some(stop));
        let board = board.reduce(DashboardAction::Said("stopped 1 container(s) of grace".into()));
        assert!(board.pending.is_none() && board.announcement.starts_with("stopped"));
    }

    #[test]
    fn the_class_end_is_shown_and_follows_extensions_and_the_feed() {
        let board = Dashboard::default().reduce(DashboardAction::EndsAt {
            ends_at: "2026-12-07T17:00:00Z".into(),
            announce: false,
        });
        assert_eq!(board.ends_at.as_deref(), Some("2026-12-07T17:00:00Z"));
        assert_eq!(board.announcement, "", "the end at start is shown, not announced");
        assert_eq!(end_label("2026-12-07T17:00:00Z"), "17:00 UTC (2026-12-07)");
        let board = board.reduce(DashboardAction::EndsAt {
            ends_at: "2026-12-07T17:15:00Z".into(),
            announce: true,
        });
        assert_eq!(
            board.announcement,
            "The class now ends at 17:15 UTC (2026-12-07)."
        );
        // The feed carries the end too: another teacher's extension shows and is said.
        let board = board.reduce(DashboardAction::Snapshot(class(vec![])));
        assert_eq!(
            board.ends_at.as_deref(),
            Some("2026-12-07T17:15:00Z"),
            "a snapshot without an end keeps it"
        );
        let mut later = class(vec![]);
        later.ends_at = Some("2026-12-07T17:45:00Z".into());
        let board = board.reduce(DashboardAction::Snapshot(later));
        assert_eq!(board.ends_at.as_deref(), Some("2026-12-07T17:45:00Z"));
        assert_eq!(board.announcement, "The class now ends at 17:45 UTC (2026-12-07)");
    }

    #[test]
    fn broadcast_and_extend_forms_read_into_requests_or_say_why_not() {
        assert_eq!(
            broadcast_request("  Break until 10:30 \n"),
            Ok(Broadcast {
                message: "Break until 10:30".into()
            })
        );
        assert!(broadcast_request("   ").unwrap_err().contains("Type a message"));
        assert_eq!(extend_request(" 15 "), Ok(ExtendTime { minutes: 15 }));
        for bad in ["0", "-5", "ten", "", "1441"] {
            assert!(extend_request(bad).is_err(), "{bad:?}");
        }
        let board = Dashboard::default().reduce(DashboardAction::Said(
            "Broadcast to the class: Break until 10:30".into(),
        ));
        assert!(board.announcement.starts_with("Broadcast to the class"));
    }

    #[test]
    fn feed_events_are_read_whole_and_the_rest_waits() {
        let json = serde_json::to_string(&class(vec![learner("ada", 1, 0)])).unwrap();
        let stream =
            format!("event: snapshot\ndata: {json}\n\n:keep-alive\n\nevent: snapshot\ndata: {{\"taken");
        let (snapshots, rest) = feed_events(&stream);
        assert_eq!(snapshots.len(), 1);
        assert_eq!(snapshots[0].learners[0].name, "ada");
        assert_eq!(rest, "event: snapshot\ndata: {\"taken");
        assert_eq!(size(512 << 20), "512 MiB");
        assert_eq!(size(3 << 29), "1.5 GiB");
    }
}
