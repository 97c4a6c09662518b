//! Sessions the server issues (`POST /api/sessions`, `slipway::api::paths::SESSIONS`) and the one-time tickets
//! that open an attach WebSocket. A token is 244 bits from the OS CSPRNG (two UUIDv4), kept in memory with an
//! idle and an absolute expiry; every route that acts for a session ([`paths::needs_session`]) answers 401 to a
//! request without a live one ([`gate`]), so nothing is shared anonymously. Issuance is rate-limited per client
//! address (an IPv6 /64), and both tables are bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use slipway::api::{paths, AttachTicket, ErrorBody, SessionIssued};

use crate::connections::ClientAddress;

/// Sessions alive at once; past it the expired ones are dropped, and if none is, issuance is refused.
const MAX_SESSIONS: usize = 100_000;
/// Unredeemed tickets kept at once (they live [`SessionLimits::ticket_life`]).
const MAX_TICKETS: usize = 100_000;
/// Client addresses whose issuance is tracked at once.
const MAX_TRACKED_ADDRESSES: usize = 16 * 1024;

/// The expiries and the issuance rate (`slipway serve` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// A session unused this long is gone.
    pub idle: Duration,
    /// A session this old is gone, used or not.
    pub max_age: Duration,
    /// Sessions one client address may get per minute (a burst of as many).
    pub per_address_per_minute: u32,
    /// How long an attach ticket may wait to be used.
    pub ticket_life: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle: Duration::from_secs(2 * 3600),
            max_age: Duration::from_secs(12 * 3600),
            per_address_per_minute: 60,
            ticket_life: Duration::from_secs(30),
        }
    }
}

/// Why a request gets no session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(
        "no session: reload the page (or ask {} for a session) and try again",
        paths::SESSIONS
    )]
    Missing,
    #[error(
        "the session expired or is unknown to this server: reload the page (or ask {} for a new session)",
        paths::SESSIONS
    )]
    Unknown,
    #[error("too many new sessions from {0}: try again in a minute")]
    TooMany(String),
    #[error("the attach ticket is unknown, used or expired: ask for a new one")]
    BadTicket,
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = match self {
            SessionError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::UNAUTHORIZED,
        };
        (status, Json(ErrorBody::new(self.to_string()))).into_response()
    }
}

#[derive(Debug, Clone, Copy)]
struct Times {
    issued: Instant,
    used: Instant,
}

/// What an attach ticket opens, for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub session: String,
    /// `container:ID` or `exec:ID` (full ids).
    pub target: String,
}

#[derive(Debug)]
struct Ticket {
    grant: Grant,
    expires: Instant,
}

/// The issued sessions, the attach tickets and the issuance buckets.
#[derive(Debug, Default)]
pub struct Sessions {
    limits: SessionLimits,
    live: Mutex<HashMap<String, Times>>,
    tickets: Mutex<HashMap<String, Ticket>>,
    /// Per client address: sessions still allowed and when that was counted.
    issued_by: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// 244 random bits from the OS CSPRNG, as 64 hex characters.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Sessions {
    pub fn new(limits: SessionLimits) -> Sessions {
        Sessions {
            limits,
            ..Sessions::default()
        }
    }

    pub fn limits(&self) -> SessionLimits {
        self.limits
    }

    /// A new session for a client at `address` (`None`: not a socket, as in-process tests).
    pub fn issue(&self, address: Option<IpAddr>) -> Result<String, SessionError> {
        self.issue_at(address, Instant::now())
    }

    fn issue_at(&self, address: Option<IpAddr>, now: Instant) -> Result<String, SessionError> {
        if let Some(address) = address.map(crate::connections::client_key) {
            self.spend_issuance(address, now)?;
        }
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if live.len() >= MAX_SESSIONS {
            live.retain(|_, times| self.alive(times, now));
            if live.len() >= MAX_SESSIONS {
                return Err(SessionError::TooMany("everyone".into()));
            }
        }
        let token = random_token();
        live.insert(
            token.clone(),
            Times {
                issued: now,
                used: now,
            },
        );
        Ok(token)
    }

    /// Take `token` as issued now (in-process tests name their sessions).
    #[cfg(test)]
    pub(crate) fn admit(&self, token: &str) {
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.insert(
            token.to_string(),
            Times {
                issued: now,
                used: now,
            },
        );
    }

    /// One issuance from `address`'s bucket (refills `per_address_per_minute` a minute).
    fn spend_issuance(&self, address: IpAddr, now: Instant) -> Result<(), SessionError> {
        let capacity = f64::from(self.limits.per_address_per_minute);
        let refilled = |(tokens, at): (f64, Instant)| {
            let gained = now.saturating_duration_since(at).as_secs_f64() * capacity / 60.0;
            ((tokens + gained).min(capacity), now)
        };
        let mut buckets = self.issued_by.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&address) && buckets.len() >= MAX_TRACKED_ADDRESSES {
            buckets.retain(|_, bucket| refilled(*bucket).0 < capacity);
            if buckets.len() >= MAX_TRACKED_ADDRESSES {
                return Err(SessionError::TooMany("this server's clients".into()));
            }
        }
        let bucket = buckets.entry(address).or_insert((capacity, now));
        *bucket = refilled(*bucket);
        if bucket.0 < 1.0 {
            return Err(SessionError::TooMany(address.to_string()));
        }
        bucket.0 -= 1.0;
        Ok(())
    }

    fn alive(&self, times: &Times, now: Instant) -> bool {
        now.saturating_duration_since(times.used) < self.limits.idle
            && now.saturating_duration_since(times.issued) < self.limits.max_age
    }

    /// Whether `token` is a live session, without counting it as used (for the collector).
    pub fn is_live(&self, token: &str) -> bool {
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(token)
            .is_some_and(|times| self.alive(times, Instant::now()))
    }

    /// Whether `token` is a live session; it counts as used now.
    pub fn check(&self, token: &str) -> Result<(), SessionError> {
        self.check_at(token, Instant::now())
    }

    fn check_at(&self, token: &str, now: Instant) -> Result<(), SessionError> {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        match live.get_mut(token) {
            Some(times) if self.alive(times, now) => {
                times.used = now;
                Ok(())
            }
            Some(_) => {
                live.remove(token);
                Err(SessionError::Unknown)
            }
            None => Err(SessionError::Unknown),
        }
    }

    /// A one-time ticket opening `target` (`container:ID`, `exec:ID`) for `session`.
    pub fn ticket(&self, session: &str, target: String) -> Result<AttachTicket, SessionError> {
        let now = Instant::now();
        let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        if tickets.len() >= MAX_TICKETS {
            tickets.retain(|_, t| t.expires > now);
            if tickets.len() >= MAX_TICKETS {
                return Err(SessionError::TooMany("everyone".into()));
            }
        }
        let ticket = random_token();
        let grant = Grant {
            session: session.to_string(),
            target,
        };
        let expires = now + self.limits.ticket_life;
        tickets.insert(ticket.clone(), Ticket { grant, expires });
        Ok(AttachTicket {
            ticket,
            expires_in_seconds: self.limits.ticket_life.as_secs().max(1),
        })
    }

    /// Use `ticket` (once: it is gone after this, whatever the answer): what it opens, if it is still good and
    /// its session is alive.
    pub fn redeem(&self, ticket: Option<&str>) -> Result<Grant, SessionError> {
        let ticket = ticket.ok_or(SessionError::BadTicket)?;
        let found = self
            .tickets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(ticket)
            .filter(|t| t.expires > Instant::now())
            .ok_or(SessionError::BadTicket)?;
        self.check(&found.grant.session)?;
        Ok(found.grant)
    }
}

/// `POST /api/sessions`.
pub async fn issue(
    State(sessions): State<Arc<Sessions>>,
    ClientAddress(address): ClientAddress,
) -> Result<(StatusCode, Json<SessionIssued>), SessionError> {
    let token = sessions.issue(address)?;
    let limits = sessions.limits();
    Ok((
        StatusCode::CREATED,
        Json(SessionIssued {
            token,
            idle_seconds: limits.idle.as_secs(),
            max_age_seconds: limits.max_age.as_secs(),
        }),
    ))
}

/// Every request: the sessions go along (for the ticket routes); a request that acts for a session
/// ([`paths::needs_session`]) must carry a live one, else 401 before any handler runs (a CORS preflight, which
/// acts for no one, passes).
pub async fn gate(State(sessions): State<Arc<Sessions>>, mut request: Request, next: Next) -> Response {
    // A CORS preflight never carries the header it asks about: the request that follows it does.
    let preflight = request.method() == axum::http::Method::OPTIONS;
    if paths::needs_session(request.uri().path()) && !preflight {
        let checked = match crate::registry::local::session_token(request.headers()) {
            None => Err(SessionError::Missing),
            Some(token) => sessions.check(&token),
        };
        if let Err(e) = checked {
            return e.into_response();
        }
    }
    request.extensions_mut().insert(sessions);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(idle: u64, max_age: u64, per_minute: u32) -> SessionLimits {
        SessionLimits {
            idle: Duration::from_secs(idle),
            max_age: Duration::from_secs(max_age),
            per_address_per_minute: per_minute,
            ticket_life: Duration::from_secs(30),
        }
    }

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let sessions = Sessions::new(SessionLimits::default());
        let (a, b) = (sessions.issue(None).unwrap(), sessions.issue(None).unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(sessions.check(&a), Ok(()));
        assert_eq!(sessions.check("made-up"), Err(SessionError::Unknown));
    }

    #[test]
    fn sessions_expire_when_idle_and_when_old() {
        let sessions = Sessions::new(limits(10, 25, 60));
        let start = Instant::now();
        let token = sessions.issue_at(None, start).unwrap();
        assert_eq!(sessions.check_at(&token, start + Duration::from_secs(9)), Ok(()));
        assert_eq!(sessions.check_at(&token, start + Duration::from_secs(18)), Ok(()));
        // Used every 9 s, it still ends at its absolute expiry.
        assert_eq!(
            sessions.check_at(&token, start + Duration::from_secs(26)),
            Err(SessionError::Unknown)
        );
        let idle = sessions.issue_at(None, start).unwrap();
        assert_eq!(
            sessions.check_at(&idle, start + Duration::from_secs(11)),
            Err(SessionError::Unknown)
        );
    }

    #[test]
    fn issuance_is_limited_per_address() {
        let sessions = Sessions::new(limits(10, 20, 3));
        let now = Instant::now();
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            sessions.issue_at(Some(one), now).unwrap();
        }
        assert!(matches!(
            sessions.issue_at(Some(one), now),
            Err(SessionError::TooMany(_))
        ));
        sessions.issue_at(Some(other), now).unwrap();
        // A third of a minute later one more (3 a minute).
        sessions
            .issue_at(Some(one), now + Duration::from_secs(21))
            .unwrap();
    }

    #[test]
    fn a_ticket_opens_once() {
        let sessions = Sessions::new(SessionLimits::default());
        let session = sessions.issue(None).unwrap();
        let ticket = sessions.ticket(&session, "container:abc".into()).unwrap().ticket;
        let grant = sessions.redeem(Some(&ticket)).unwrap();
        assert_eq!(grant.session, session);
        assert_eq!(grant.target, "container:abc");
        assert_eq!(sessions.redeem(Some(&ticket)), Err(SessionError::BadTicket));
        assert_eq!(sessions.redeem(None), Err(SessionError::BadTicket));
    }
}
