//! The body of every error answer of the companion's `/api/` routes.

use serde::{Deserialize, Serialize};

/// `{"message": "..."}`: what went wrong, for people (the docker CLI prints it after "Error response from
/// daemon: ").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
}

impl ErrorBody {
    pub fn new(message: impl Into<String>) -> Self {
        ErrorBody {
            message: message.into(),
        }
    }

    /// The message of an error answer's body: its `message` when it is an [`ErrorBody`], else the text itself
    /// (a proxy's or an older server's answer).
    pub fn message_of(body: &[u8]) -> String {
        serde_json::from_slice::<ErrorBody>(body)
            .map(|e| e.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(body).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn error_body_round_trips_and_plain_text_is_its_own_message() {
        round_trip(&ErrorBody::new("no such container: web"));
        assert_eq!(ErrorBody::message_of(br#"{"message":"gone"}"#), "gone");
        assert_eq!(ErrorBody::message_of(b"Bad Gateway\n"), "Bad Gateway");
    }
}
