//! What the server vouches each learner did: per lesson and step, when the step's check first passed as the
//! server judged it (`progress_judge`), the commands the server saw them run and the last that failed. Kept in
//! `DATA/progress.json` (written aside and renamed: a crash leaves the old file or the new one), so progress
//! survives a restart; the rows and funnels of the teacher's dashboard are computed from it here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use slipway::api::{FailedCommand, FunnelStep, LessonFunnel, LessonProgress, StepMark};
use slipway::lesson::Lesson;

/// The file's name in the data directory.
pub const FILE: &str = "progress.json";

const VERSION: u32 = 1;

/// How many of a learner's commands are kept (the latest ones).
const KEPT_COMMANDS: usize = 64;

/// A command the server saw a learner run, in docker's words (`docker run`, `docker push`), with its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenCommand {
    pub command: String,
    pub exit_code: i32,
    pub at: u64,
}

/// One learner's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerRecord {
    /// The server's first request of theirs (Unix seconds): the first step's time counts from it.
    #[serde(default)]
    pub first_seen: Option<u64>,
    /// Lesson id → step index → when the step first passed.
    #[serde(default)]
    pub passed: BTreeMap<String, BTreeMap<usize, u64>>,
    #[serde(default)]
    pub commands: Vec<SeenCommand>,
    #[serde(default)]
    pub last_error: Option<FailedCommand>,
}

impl LearnerRecord {
    /// Note a command the server saw end; a failure becomes the last error. Whether anything changed.
    pub fn saw(&mut self, command: &str, exit_code: i32, at: u64, error: Option<String>) {
        self.commands.push(SeenCommand {
            command: command.to_string(),
            exit_code,
            at,
        });
        let excess = self.commands.len().saturating_sub(KEPT_COMMANDS);
        self.commands.drain(..excess);
        if let Some(error) = error {
            self.last_error = Some(FailedCommand {
                command: command.to_string(),
                error,
                at,
            });
        }
    }

    /// The learner's marks in `lesson` (`vouched[i]`: whether the server can judge step `i`).
    pub fn progress(&self, lesson: &str, vouched: &[bool]) -> LessonProgress {
        let passed = self.passed.get(lesson);
        let steps: Vec<StepMark> = vouched
            .iter()
            .enumerate()
            .map(|(i, &vouched)| StepMark {
                passed_at: passed.and_then(|p| p.get(&i).copied()),
                vouched,
            })
            .collect();
        let current_step = steps
            .iter()
            .rposition(|s| s.passed_at.is_some())
            .map_or(0, |last| last + 1);
        LessonProgress {
            lesson: lesson.to_string(),
            steps,
            current_step,
        }
    }

    /// Forget what passed at `step` and after in `lesson`, and the commands seen (a reset).
    pub fn reset_to(&mut self, lesson: &str, step: usize) {
        if let Some(passed) = self.passed.get_mut(lesson) {
            passed.retain(|&i, _| i < step);
        }
        self.commands.clear();
        self.last_error = None;
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    version: u32,
    learners: BTreeMap<String, LearnerRecord>,
}

/// Every learner's record, and whether the file is behind.
#[derive(Debug)]
pub struct Records {
    file: PathBuf,
    state: Mutex<(Stored, bool)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a progress file: {why}")]
    Parse { path: String, why: String },
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

impl Records {
    /// The records kept in `data` (none yet when the file does not exist).
    pub fn open(data: &Path) -> Result<Records, RecordsError> {
        let file = data.join(FILE);
        let path = file.display().to_string();
        let stored = match std::fs::read_to_string(&file) {
            Ok(text) => serde_json::from_str::<Stored>(&text).map_err(|e| RecordsError::Parse {
                path: path.clone(),
                why: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored {
                version: VERSION,
                ..Stored::default()
            },
            Err(source) => return Err(RecordsError::Read { path, source }),
        };
        Ok(Records {
            file,
            state: Mutex::new((stored, false)),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (Stored, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change `name`'s record with `change`, which says whether it changed anything.
    pub fn update<R>(&self, name: &str, change: impl FnOnce(&mut LearnerRecord) -> (bool, R)) -> R {
        let mut state = self.state();
        let record = state.0.learners.entry(name.to_string()).or_default();
        let (changed, result) = change(record);
        state.1 |= changed;
        result
    }

    /// `name`'s record (empty when none).
    pub fn get(&self, name: &str) -> LearnerRecord {
        self.state().0.learners.get(name).cloned().unwrap_or_default()
    }

    /// Write the file when the records changed since the last write. Blocking.
    pub fn save(&self) -> Result<bool, RecordsError> {
        let text = {
            let mut state = self.state();
            if !state.1 {
                return Ok(false);
            }
            state.1 = false;
            state.0.version = VERSION;
            serde_json::to_string_pretty(&state.0).unwrap_or_default()
        };
        let aside = self.file.with_extension(format!("json.{}", std::process::id()));
        let written = std::fs::write(&aside, text).and_then(|()| std::fs::rename(&aside, &self.file));
        written.map_err(|source| {
            self.state().1 = true;
            RecordsError::Write {
                path: self.file.display().to_string(),
                source,
            }
        })?;
        Ok(true)
    }
}

/// The median of `values` (the lower one of the middle two), None when empty.
fn median(mut values: Vec<u64>) -> Option<u64> {
    values.sort_unstable();
    values.get(values.len().saturating_sub(1) / 2).copied()
}

/// The funnel of `lesson` (id `id`) over the learners' `records`.
pub fn funnel(id: &str, lesson: &Lesson, records: &[LearnerRecord]) -> LessonFunnel {
    let vouched = vec![true; lesson.steps.len()];
    let rows: Vec<(LessonProgress, &LearnerRecord)> =
        records.iter().map(|r| (r.progress(id, &vouched), r)).collect();
    let steps = lesson
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mut took = Vec::new();
            for (progress, record) in &rows {
                let Some(at) = progress.steps[i].passed_at else {
                    continue;
                };
                let before = progress.steps[..i].iter().filter_map(|s| s.passed_at).max();
                if let Some(from) = before.or(record.first_seen) {
                    took.push(at.saturating_sub(from));
                }
            }
            FunnelStep {
                title: step.title.clone(),
                reached: rows.iter().filter(|(p, _)| p.current_step >= i).count(),
                passed: rows
                    .iter()
                    .filter(|(p, _)| p.steps[i].passed_at.is_some())
                    .count(),
                stopped_here: rows.iter().filter(|(p, _)| p.current_step == i).count(),
                median_seconds: median(took),
            }
        })
        .collect();
    LessonFunnel {
        lesson: id.to_string(),
        title: lesson.title.clone(),
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(steps: usize) -> Lesson {
        let steps: Vec<String> = (0..steps)
            .map(|i| format!(r#"{{"title": "step {i}", "text": "x"}}"#))
            .collect();
        Lesson::parse(&format!(
            r#"{{"title": "L", "files": [], "steps": [{}]}}"#,
            steps.join(",")
        ))
        .unwrap()
    }

    fn passed(first_seen: u64, marks: &[(usize, u64)]) -> LearnerRecord {
        let mut record = LearnerRecord {
            first_seen: Some(first_seen),
            ..LearnerRecord::default()
        };
        record.passed.insert("l".into(), marks.iter().copied().collect());
        record
    }

    #[test]
    fn the_funnel_counts_who_reached_passed_and_stopped_with_median_times() {
        let records = [
            passed(100, &[(0, 110), (1, 130), (2, 190)]),
            passed(100, &[(0, 120)]),
            passed(100, &[]),
            // Step 1 unseen by the server (a command only the page runs): step 2 still counts from step 0.
            passed(100, &[(0, 105), (2, 165)]),
        ];
        let funnel = funnel("l", &lesson(3), &records);
        let counts: Vec<(usize, usize, usize)> = funnel
            .steps
            .iter()
            .map(|s| (s.reached, s.passed, s.stopped_here))
            .collect();
        assert_eq!(counts, vec![(4, 3, 1), (3, 1, 1), (2, 2, 0)]);
        let medians: Vec<Option<u64>> = funnel.steps.iter().map(|s| s.median_seconds).collect();
        assert_eq!(medians, vec![Some(10), Some(20), Some(60)]);
    }

    #[test]
    fn records_survive_a_reopen_and_a_reset_keeps_the_steps_before() {
        let dir = tempfile::tempdir().unwrap();
        let records = Records::open(dir.path()).unwrap();
        records.update("learner1", |r| {
            r.passed
                .entry("l".into())
                .or_default()
                .extend([(0, 5), (1, 6), (2, 7)]);
            r.saw("docker push learner1/app:v1", 1, 8, Some("denied".into()));
            (true, ())
        });
        assert!(records.save().unwrap());
        assert!(!records.save().unwrap(), "nothing new to write");
        let again = Records::open(dir.path()).unwrap();
        let mut record = again.get("learner1");
        assert_eq!(record.last_error.as_ref().unwrap().error, "denied");
        assert_eq!(record.progress("l", &[true; 3]).current_step, 3);
        record.reset_to("l", 1);
        assert_eq!(record.passed["l"], BTreeMap::from([(0, 5)]));
        assert!(record.commands.is_empty() && record.last_error.is_none());
        std::fs::write(dir.path().join(FILE), "{").unwrap();
        assert!(matches!(
            Records::open(dir.path()),
            Err(RecordsError::Parse { .. })
        ));
    }
}
