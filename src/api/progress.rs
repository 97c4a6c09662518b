//! Classroom progress (issue 15): what the server vouches a learner did ([`LearnerRow`]), the funnel per lesson
//! ([`LessonFunnel`]), and the teacher's actions. The teacher's dashboard reads [`ClassSnapshot`] from
//! [`super::paths::CLASSROOM_PROGRESS`] (or its live feed, [`super::paths::CLASSROOM_FEED`]).

use serde::{Deserialize, Serialize};

/// One step of one lesson for one learner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepMark {
    /// When the server first saw the step's check pass (Unix seconds); it stays once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed_at: Option<u64>,
    /// False when the server cannot see what the check asks for (a command only the page runs, such as
    /// `docker version`): such a step is never marked passed, and does not hold the learner back.
    pub vouched: bool,
}

/// A learner's progress through one lesson.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonProgress {
    /// The lesson's id (as the class file names it).
    pub lesson: String,
    pub steps: Vec<StepMark>,
    /// The step the learner is on: the one after the last step passed (0 before any), at most the last step;
    /// equal to `steps.len()` when the lesson's last step passed.
    pub current_step: usize,
}

/// The last command of a learner that the server saw fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedCommand {
    /// What ran, in docker's words (`RUN pip install -r requirements.txt`, `docker push learner1/app:v1`).
    pub command: String,
    /// Why it failed: the exit code and the end of its output, or the server's error message.
    pub error: String,
    /// Unix seconds.
    pub at: u64,
}

/// A row of the teacher's dashboard: one learner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LearnerRow {
    pub name: String,
    /// Their session was used in the last [`ONLINE_SECONDS`].
    pub online: bool,
    /// When the server last saw a request of theirs (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<u64>,
    pub lessons: Vec<LessonProgress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<FailedCommand>,
    pub running_containers: usize,
    /// Memory of all their containers and RUN steps now (their cgroup's), when they have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// CPU used since the previous pass, in percent of one core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Bytes of their local image store (what their quota counts).
    pub disk_bytes: u64,
}

/// A learner counts as online when the server saw a request of theirs this recently.
pub const ONLINE_SECONDS: u64 = 60;

/// One step of a lesson's funnel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunnelStep {
    pub title: String,
    /// Learners whose current step is this one or later.
    pub reached: usize,
    /// Learners who passed it.
    pub passed: usize,
    /// Learners whose current step is this one: where they stop.
    pub stopped_here: usize,
    /// Median seconds from the previous passed step (or the learner's first request) to passing this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_seconds: Option<u64>,
}

/// The funnel of one lesson, over every learner of the class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LessonFunnel {
    pub lesson: String,
    pub title: String,
    pub steps: Vec<FunnelStep>,
}

/// What the dashboard shows: every learner and every lesson's funnel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassSnapshot {
    /// Unix seconds.
    pub taken_at: u64,
    pub learners: Vec<LearnerRow>,
    pub funnels: Vec<LessonFunnel>,
    /// When the class ends now (RFC 3339), a teacher's extension included; none when it has no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

/// The answer of [`super::paths::CLASSROOM_MY_PROGRESS`]: the asking learner's own progress, as the server
/// judged it (never another learner's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyProgress {
    pub name: String,
    pub lessons: Vec<LessonProgress>,
}

impl MyProgress {
    /// The server's mark of step `step` of lesson `lesson` (its stable id: the manifest's `id`, the one the class
    /// file names); `None` when the server judges no such lesson for them.
    pub fn step(&self, lesson: &str, step: usize) -> Option<&StepMark> {
        self.lessons
            .iter()
            .find(|l| l.lesson == lesson)
            .and_then(|l| l.steps.get(step))
    }
}

/// `GET` [`super::paths::CLASSROOM_MY_PROGRESS`]`?lesson=ID`: the page names the lesson it shows by its stable id
/// (the manifest's `id`); the answer then holds that lesson only (none when the server does not judge it).
/// Without it, every lesson of the learner's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MyProgressQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<String>,
}

/// `POST` [`super::paths::CLASSROOM_RESET`]: take the learner back to `step` (0-based) of `lesson` (the class's
/// first lesson when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub step: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<String>,
}

/// What a teacher's action did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDone {
    pub message: String,
    /// Containers stopped (stop) or removed (reset).
    pub containers: usize,
    /// Local images removed (reset).
    pub images: usize,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn progress_types_round_trip() {
        let row = LearnerRow {
            name: "learner1".into(),
            online: true,
            last_seen: Some(10),
            lessons: vec![LessonProgress {
                lesson: "python-web-app".into(),
                steps: vec![
                    StepMark {
                        passed_at: Some(5),
                        vouched: true,
                    },
                    StepMark::default(),
                ],
                current_step: 1,
            }],
            last_error: Some(FailedCommand {
                command: "RUN false".into(),
                error: "exit code 1".into(),
                at: 7,
            }),
            running_containers: 1,
            memory_bytes: Some(1 << 20),
            cpu_percent: Some(12.5),
            disk_bytes: 4096,
        };
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(serde_json::from_value::<LearnerRow>(json.clone()).unwrap(), row);
        assert!(
            json["lessons"][0]["steps"][1].get("passed_at").is_none(),
            "{json}"
        );
        round_trip(&ResetRequest {
            step: 2,
            lesson: None,
        });
        assert!(serde_json::from_str::<ResetRequest>(r#"{"step":1,"passed":true}"#).is_err());
        let mine = MyProgress {
            name: "learner1".into(),
            lessons: row.lessons.clone(),
        };
        round_trip(&mine);
        assert_eq!(mine.step("python-web-app", 0).and_then(|s| s.passed_at), Some(5));
        assert_eq!(mine.step("python-web-app", 1), Some(&StepMark::default()));
        assert!(mine.step("python-web-app", 2).is_none());
        assert!(
            mine.step("another-lesson", 0).is_none(),
            "a lesson of as many steps is another lesson"
        );
        round_trip(&MyProgressQuery {
            lesson: Some("python-web-app".into()),
        });
        assert_eq!(
            crate::api::query_string(&MyProgressQuery {
                lesson: Some("python-web-app".into())
            }),
            "?lesson=python-web-app"
        );
    }
}
