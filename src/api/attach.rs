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
    /// The detach keys were typed (`docker attach`): the attach ends, the process goes on.
    Detached,
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

/// The detach keys of an attach (moby's `term.NewEscapeProxy`): input passes through them; a prefix of the
/// sequence is held back until the next byte shows whether the whole sequence was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachKeys {
    sequence: Vec<u8>,
    matched: usize,
}

/// docker's default detach keys.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

impl DetachKeys {
    /// Keys in docker's spelling (moby `term.ToBytes`): comma-separated single characters or `ctrl-X`
    /// (`ctrl-@`, `ctrl-a`..`ctrl-z`, `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`).
    pub fn parse(keys: &str) -> Result<DetachKeys, String> {
        const CTRL: &[u8] = b"@abcdefghijklmnopqrstuvwxyz[\\]^_";
        let mut sequence = Vec::new();
        for key in keys.split(',') {
            if key.len() == 1 {
                sequence.push(key.as_bytes()[0]);
                continue;
            }
            let lower = key.to_ascii_lowercase();
            let code = lower
                .strip_prefix("ctrl-")
                .filter(|rest| rest.len() == 1)
                .and_then(|rest| CTRL.iter().position(|&c| c == rest.as_bytes()[0]));
            match code {
                Some(code) => sequence.push(code as u8),
                None => return Err(format!("Unknown character: '{key}'")),
            }
        }
        Ok(DetachKeys { sequence, matched: 0 })
    }

    /// What of `input` goes on to the process, and whether the sequence is now complete (the rest is dropped).
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        for &byte in input {
            if self.sequence.get(self.matched) == Some(&byte) {
                self.matched += 1;
                if self.matched == self.sequence.len() {
                    self.matched = 0;
                    return (out, true);
                }
                continue;
            }
            out.extend_from_slice(&self.sequence[..self.matched]);
            self.matched = 0;
            if self.sequence.first() == Some(&byte) {
                self.matched = 1;
            } else {
                out.push(byte);
            }
        }
        (out, false)
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
        assert_eq!(round_trip(&AttachFrame::Detached), serde_json::json!("detached"));
        assert_eq!(
            AttachFrame::from_text(r#"{"resize":{"cols":80,"rows":24,"colour":true}}"#),
            None,
            "a control with a field it does not have is text, not a resize"
        );
    }

    #[test]
    fn detach_keys_hold_back_a_prefix_and_end_on_the_whole_sequence() {
        let mut keys = DetachKeys::parse(DEFAULT_DETACH_KEYS).unwrap();
        assert_eq!(keys.feed(b"ls\n"), (b"ls\n".to_vec(), false));
        assert_eq!(keys.feed(b"a\x10"), (b"a".to_vec(), false), "ctrl-p waits");
        assert_eq!(
            keys.feed(b"x"),
            (b"\x10x".to_vec(), false),
            "then goes on when no ctrl-q follows"
        );
        assert_eq!(keys.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(keys.feed(b"\x11rest"), (Vec::new(), true));
        assert_eq!(
            DetachKeys::parse("ctrl-a,x").unwrap().feed(b"\x01x"),
            (Vec::new(), true)
        );
        assert_eq!(DetachKeys::parse("ctrl-\\").unwrap().sequence, vec![0x1c]);
        assert_eq!(
            DetachKeys::parse("ctrl-p,meta").unwrap_err(),
            "Unknown character: 'meta'"
        );
    }
}
