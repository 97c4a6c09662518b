//! The attach WebSocket (`/api/containers/{id}/attach`, `/api/execs/{id}/attach`): output goes out as binary
//! frames and input comes in as binary frames; text frames are the [`AttachFrame`]s.

use serde::{Deserialize, Serialize};

/// A text frame of an attach WebSocket: `resize` and `eof` go to the server, `exit` comes from it, last.
/// Externally tagged (serde's default): `{"resize": {"cols": 80, "rows": 24}}`, `"eof"`, `{"exit": {...}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum AttachFrame {
    /// The terminal's size for the TTY.
    Resize { cols: u16, rows: u16 },
    /// Close stdin (EOF).
    Eof,
    /// The process ended; a container's frame says whether it ran out of memory (an exec's does not).
    Exit {
        exit_code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        oom_killed: Option<bool>,
    },
}

impl AttachFrame {
    /// The frame as the text of a WebSocket message.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The frame a text message is, if it is one.
    pub fn from_text(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn frames_round_trip_tagged_by_their_variant() {
        let resize = round_trip(&AttachFrame::Resize { cols: 80, rows: 24 });
        assert_eq!(resize, serde_json::json!({"resize": {"cols": 80, "rows": 24}}));
        assert_eq!(round_trip(&AttachFrame::Eof), serde_json::json!("eof"));
        let container_exit = AttachFrame::Exit {
            exit_code: Some(137),
            oom_killed: Some(true),
        };
        assert_eq!(
            AttachFrame::from_text(&container_exit.to_text()),
            Some(container_exit)
        );
        let exec_exit = round_trip(&AttachFrame::Exit {
            exit_code: Some(0),
            oom_killed: None,
        });
        assert_eq!(exec_exit, serde_json::json!({"exit": {"exit_code": 0}}));
        assert_eq!(AttachFrame::from_text("ls\n"), None);
        assert_eq!(
            AttachFrame::from_text(r#"{"resize":{"cols":80,"rows":24,"colour":true}}"#),
            None,
            "a control with a field it does not have is text, not a resize"
        );
    }
}
