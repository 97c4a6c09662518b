//! UI state as reducers: every change the page can make is an action applied to a plain value.

use slipway::api::{paths, ServerInfo};

/// What the page knows about its companion server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CompanionStatus {
    /// `/api/info` has not answered yet.
    #[default]
    Checking,
    Connected(Box<ServerInfo>),
    /// The request failed or the answer was not a Slipway companion; the text says why.
    Unreachable(String),
}

/// What can happen to the companion status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompanionAction {
    Recheck,
    /// The body of a 200 answer from `/api/info`.
    InfoReceived(String),
    /// The request failed, or answered with a non-success status.
    RequestFailed(String),
}

impl CompanionStatus {
    pub fn reduce(self, action: CompanionAction) -> Self {
        match action {
            CompanionAction::Recheck => CompanionStatus::Checking,
            CompanionAction::RequestFailed(why) => CompanionStatus::Unreachable(why),
            CompanionAction::InfoReceived(body) => match serde_json::from_str::<ServerInfo>(&body) {
                Ok(info) if info.name == "slipway" => CompanionStatus::Connected(Box::new(info)),
                Ok(info) => CompanionStatus::Unreachable(format!(
                    "{} answered as {:?}, not a Slipway companion",
                    paths::INFO,
                    info.name
                )),
                Err(e) => {
                    CompanionStatus::Unreachable(format!("{} sent an unreadable answer: {e}", paths::INFO))
                }
            },
        }
    }

    /// The status line the page shows.
    pub fn text(&self) -> String {
        match self {
            CompanionStatus::Checking => "checking companion…".to_string(),
            CompanionStatus::Connected(info) => {
                format!("companion connected — runtime {}", info.runtime.summary())
            }
            // The page works on without it: say what still does.
            CompanionStatus::Unreachable(why) => format!(
                "offline: companion unreachable — {why} (editing, checks, COPY-only builds, images and downloads still work)"
            ),
        }
    }

    pub fn is_connected(&self) -> bool {
        matches!(self, CompanionStatus::Connected(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = r#"{"name":"slipway","version":"0.1.0",
        "runtime":{"available":{"name":"runc","version":"1.1.5","cgroup":"hybrid"}},
        "registry":{}}"#;

    #[test]
    fn info_answer_connects_and_names_the_runtime() {
        let s = CompanionStatus::default().reduce(CompanionAction::InfoReceived(INFO.into()));
        assert!(s.is_connected());
        assert_eq!(s.text(), "companion connected — runtime runc 1.1.5");
    }

    #[test]
    fn failed_request_says_why() {
        let s = CompanionStatus::default().reduce(CompanionAction::RequestFailed("HTTP 502".into()));
        assert_eq!(
            s.text(),
            "offline: companion unreachable — HTTP 502 (editing, checks, COPY-only builds, images and downloads still work)"
        );
        assert_eq!(s.reduce(CompanionAction::Recheck), CompanionStatus::Checking);
    }

    #[test]
    fn foreign_or_garbled_answers_are_not_a_connection() {
        let foreign = INFO.replace("\"slipway\"", "\"nginx\"");
        let s = CompanionStatus::default().reduce(CompanionAction::InfoReceived(foreign));
        assert!(s.text().contains("not a Slipway companion"), "{}", s.text());
        let s = CompanionStatus::default().reduce(CompanionAction::InfoReceived("<html>".into()));
        assert!(s.text().contains("unreadable answer"), "{}", s.text());
    }
}
