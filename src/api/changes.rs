//! What the container commands of issue 17 exchange: `docker diff`'s changes, `docker restart`'s query.

use serde::{Deserialize, Serialize};

/// What happened to a path in a container's writable layer (docker's `container.ChangeType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Modified,
    Added,
    Deleted,
}

impl ChangeKind {
    /// The letter `docker diff` prints: `C`, `A` or `D`.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One line of `docker diff`: an element of `GET /api/containers/{id}/changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    /// Absolute, as the container sees it (`/etc/passwd`).
    pub path: String,
}

/// The query of `POST /api/containers/{id}/restart`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RestartQuery {
    /// Seconds to wait after SIGTERM before SIGKILL (the server's default when absent).
    pub t: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn changes_and_restart_queries_round_trip() {
        let json = round_trip(&Change {
            kind: ChangeKind::Deleted,
            path: "/tmp/x".into(),
        });
        assert_eq!(json["kind"], "deleted");
        assert_eq!(ChangeKind::Modified.letter(), 'C');
        round_trip(&RestartQuery { t: Some(1) });
        let refused = serde_json::from_str::<RestartQuery>(r#"{"time":1}"#).unwrap_err();
        assert!(refused.to_string().contains("unknown field `time`"), "{refused}");
    }
}
