//! The attach WebSocket's protocol as the terminal speaks it (`docs/runner-api.md`): where to connect, the
//! resize control, and the final exit frame turned into a command's outcome.

use serde::Deserialize;

use super::interpret::Outcome;

/// The attach WebSocket's path for container `id`: a browser WebSocket cannot send `X-Slipway-Session`, so the
/// session rides in the query.
pub fn attach_path(id: &str, session: &str) -> String {
    format!(
        "/api/containers/{id}/attach?session={}",
        crate::registry::challenge::encode_query_value(session)
    )
}

/// The text frame that sets the TTY's size.
pub fn resize_control(cols: u16, rows: u16) -> String {
    serde_json::json!({"type": "resize", "cols": cols, "rows": rows}).to_string()
}

#[derive(Debug, Deserialize)]
struct ExitFrame {
    #[serde(rename = "type")]
    kind: String,
    exit_code: Option<i32>,
    #[serde(default)]
    oom_killed: bool,
}

/// The outcome an exit frame (`{"type":"exit","exit_code":N}`) ends the session with; `None` for any other
/// text.
pub fn exit_outcome(frame: &str) -> Option<Outcome> {
    let exit = serde_json::from_str::<ExitFrame>(frame)
        .ok()
        .filter(|f| f.kind == "exit")?;
    let mut outcome = Outcome {
        exit_code: exit.exit_code.unwrap_or(125),
        ..Outcome::default()
    };
    if exit.oom_killed {
        outcome.stderr = "docker: the container was killed: out of memory (see -m/--memory)\n".into();
    }
    Some(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_frames() {
        assert_eq!(
            attach_path("abc123", "page-1f/x y"),
            "/api/containers/abc123/attach?session=page-1f%2Fx%20y"
        );
        let resize: serde_json::Value = serde_json::from_str(&resize_control(80, 24)).unwrap();
        assert_eq!(
            resize,
            serde_json::json!({"type": "resize", "cols": 80, "rows": 24})
        );
        assert_eq!(
            exit_outcome(r#"{"type":"exit","exit_code":3,"oom_killed":false}"#)
                .unwrap()
                .exit_code,
            3
        );
        let oom = exit_outcome(r#"{"type":"exit","exit_code":137,"oom_killed":true}"#).unwrap();
        assert!(oom.stderr.contains("out of memory"));
        assert_eq!(exit_outcome("hello"), None);
        assert_eq!(exit_outcome(r#"{"type":"resize"}"#), None);
    }
}
