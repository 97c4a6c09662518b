//! The teacher's dashboard as plain state (tested natively): the latest [`ClassSnapshot`] from the server's
//! feed, the table's sort, the action waiting for confirmation, and what the live region announces.

use slipway::api::{ClassSnapshot, LearnerRow};

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
        }
        self
    }

    /// What changed for people since the snapshot held: a learner moving on, a new error.
    fn changes(&self, next: &ClassSnapshot) -> Vec<String> {
        let Some(before) = &self.snapshot else {
            return Vec::new();
        };
        let mut said = Vec::new();
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
