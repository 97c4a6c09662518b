//! Classroom notices (issue 15): what the server tells a class member's page and terminal between commands
//! (an idle warning, the class ending, a teacher's broadcast, changed limits), fetched by long polling
//! [`super::paths::CLASSROOM_NOTICES`]; and the teacher's actions that make some ([`Broadcast`], [`ExtendTime`]).

use serde::{Deserialize, Serialize};

/// One notice to a class member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// Unused for a while: the learner's running containers stop in `seconds_left` unless they use the
    /// playground (any command) before.
    IdleWarning { seconds_left: u64 },
    /// Unused past the idle timeout: `stopped` running containers were stopped (images, stopped containers and
    /// progress are kept).
    IdleStopped { stopped: usize },
    /// The class ends at `ends_at` (RFC 3339), in `seconds_left`.
    ClassEndingSoon { seconds_left: u64, ends_at: String },
    /// The class ended: `stopped` running containers were stopped and new ones are refused.
    ClassEnded { stopped: usize },
    /// A teacher moved the class's end to `ends_at` (RFC 3339).
    TimeExtended { ends_at: String },
    /// A teacher's message to the class.
    Broadcast { from: String, message: String },
    /// The limits changed (the class file was reloaded): what they are now, in words.
    LimitsChanged { limits: String },
}

impl Notice {
    /// The notice as one line of the terminal (without the marker the page puts before it).
    pub fn text(&self) -> String {
        match self {
            Notice::IdleWarning { seconds_left } => format!(
                "You have been idle: your running containers stop in {} unless you use the playground.",
                duration_words(*seconds_left)
            ),
            Notice::IdleStopped { stopped } => format!(
                "You were idle: {stopped} running container(s) stopped. Your images, stopped containers and \
                 their logs are kept (`docker ps -a`); `docker run` starts new ones."
            ),
            Notice::ClassEndingSoon { seconds_left, ends_at } => format!(
                "The class ends in {} (at {ends_at}): save your work.",
                duration_words(*seconds_left)
            ),
            Notice::ClassEnded { stopped } => format!(
                "The class has ended: {stopped} running container(s) stopped; your images and progress are kept."
            ),
            Notice::TimeExtended { ends_at } => format!("More time: the class now ends at {ends_at}."),
            Notice::Broadcast { from, message } => format!("Message from {from}: {message}"),
            Notice::LimitsChanged { limits } => format!("Your limits changed: {limits}."),
        }
    }
}

/// `5 minutes`, `1 minute`, `45 seconds`.
fn duration_words(seconds: u64) -> String {
    match seconds {
        0..=89 => format!("{seconds} second{}", if seconds == 1 { "" } else { "s" }),
        _ => format!("{} minutes", (seconds + 30) / 60),
    }
}

/// `GET /api/classroom/notices?after=N`: the member's notices numbered above `after`; with none yet, the answer
/// waits for one (up to about 25 s) and may come back empty. Without `after` the answer is at once, empty, with
/// the number to start from (a page that just opened is not told what happened before).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

/// The answer of [`super::paths::CLASSROOM_NOTICES`]: the notices in order, and the number to ask `after`
/// next time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notices {
    pub notices: Vec<Notice>,
    pub next: u64,
}

/// `POST /api/classroom/broadcast` (teachers): a message for every learner's terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Broadcast {
    pub message: String,
}

/// `POST /api/classroom/extend` (teachers): move the class's end `minutes` later (from the end now in force,
/// or from now when the class has no end or has ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendTime {
    pub minutes: u32,
}

/// The answer of [`ExtendTime`]: the end now in force (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassEnds {
    pub ends_at: String,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn notices_round_trip_tagged_by_kind_and_read_as_one_line() {
        let json = round_trip(&Notice::IdleWarning { seconds_left: 120 });
        assert_eq!(json["kind"], "idle_warning");
        round_trip(&Notices {
            notices: vec![
                Notice::Broadcast {
                    from: "ada".into(),
                    message: "Break until 10:30".into(),
                },
                Notice::ClassEnded { stopped: 2 },
            ],
            next: 7,
        });
        round_trip(&ExtendTime { minutes: 15 });
        round_trip(&ClassEnds {
            ends_at: "2026-12-07T17:00:00Z".into(),
        });
        assert!(serde_json::from_str::<Broadcast>(r#"{"message":"x","to":"all"}"#).is_err());
        assert_eq!(
            Notice::IdleWarning { seconds_left: 120 }.text(),
            "You have been idle: your running containers stop in 2 minutes unless you use the playground."
        );
        assert!(Notice::ClassEndingSoon {
            seconds_left: 30,
            ends_at: "17:00".into()
        }
        .text()
        .contains("30 seconds"));
    }
}
