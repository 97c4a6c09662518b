//! Sessions the companion issues ([`super::paths::SESSIONS`]) and the one-time tickets that open an attach
//! WebSocket ([`super::paths::CONTAINER_ATTACH_TICKET`], [`super::paths::EXEC_ATTACH_TICKET`]).

use serde::{Deserialize, Serialize};

/// The answer of `POST /api/sessions`: a token to send as [`super::SESSION_HEADER`] on every request, valid
/// until it is idle for `idle_seconds` or `max_age_seconds` after it was issued (then 401: ask for a new one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionIssued {
    pub token: String,
    pub idle_seconds: u64,
    pub max_age_seconds: u64,
}

/// The answer of `POST .../attach-ticket`: open the attach WebSocket with `?ticket=TICKET` ([`TicketQuery`])
/// within `expires_in_seconds`; the ticket opens that container's (or exec's) attach once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachTicket {
    pub ticket: String,
    pub expires_in_seconds: u64,
}

/// The query of an attach WebSocket: a browser cannot set headers on a WebSocket, so a one-time ticket rides
/// here instead of the session.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct TicketQuery {
    pub ticket: Option<String>,
    /// `docker attach`: only what the process writes from now on (`docker run -it` replays what it wrote
    /// before the socket opened).
    pub new_output: bool,
    /// `docker attach --detach-keys` (docker's spelling, `ctrl-p,ctrl-q`): typing them ends the attach with a
    /// [`super::AttachFrame::Detached`] frame and leaves the process running ([`super::DetachKeys`]).
    pub detach_keys: Option<String>,
    /// `docker attach --no-stdin`: input frames are dropped.
    pub no_stdin: bool,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn session_and_ticket_answers_round_trip() {
        round_trip(&SessionIssued {
            token: "ab".repeat(32),
            idle_seconds: 7200,
            max_age_seconds: 43200,
        });
        let json = round_trip(&AttachTicket {
            ticket: "t".into(),
            expires_in_seconds: 30,
        });
        assert_eq!(json["ticket"], "t");
        assert_eq!(
            super::super::query_string(&TicketQuery {
                ticket: Some("a b".into()),
                ..TicketQuery::default()
            }),
            "?ticket=a%20b"
        );
    }
}
