//! Sessions the server issues (`POST /api/sessions`, `slipway::api::paths::SESSIONS`) and the one-time tickets
//! that open an attach WebSocket. A token is 244 bits from the OS CSPRNG (two UUIDv4), kept with an idle and an
//! absolute expiry; every route that acts for a session ([`paths::needs_session`]) answers 401 to a request
//! without a live one ([`gate`]), so nothing is shared anonymously. Issuance is rate-limited per client address
//! (an IPv6 /64), and both tables are bounded.
//!
//! The table survives a restart: `slipway serve` keeps it in `DATA/issued-sessions.json` ([`Sessions::open`]),
//! holding only `sha256(token)` (the server never stores a token, in memory or on disk) with the issue and
//! last-use times. It is written atomically (temp file, fsync, rename) before a new session's answer goes out,
//! and every [`Sessions::flush_every`] when sessions were used since, never once per request: a killed server
//! loses at most the last-use times of that last period. Loading drops the expired sessions.
//!
//! In classroom mode (`crate::classroom`) a session is not issued but admitted ([`Sessions::admit_member`]): its
//! token is derived from the class member, so every sign-in of one learner is the same session, and the runner's
//! containers and the local store (`slipway-local/KEY/`, KEY from the token) are the learner's across
//! browsers. [`Sessions::end`] ends a member's session when the classroom file drops them.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
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

/// When a session was issued and last used: milliseconds from the table's epoch (negative for sessions loaded
/// from a previous run, which may predate this process and even the host's boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Times {
    issued: i64,
    used: i64,
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

/// The issued sessions (by `sha256(token)`), the attach tickets and the issuance buckets.
#[derive(Debug)]
pub struct Sessions {
    limits: SessionLimits,
    /// What the session times count from.
    epoch: Instant,
    live: Mutex<HashMap<String, Times>>,
    tickets: Mutex<HashMap<String, Ticket>>,
    /// Per client address: sessions still allowed and when that was counted.
    issued_by: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    /// Where the table is kept across restarts (`None`: in memory only, as in-process tests).
    file: Option<PathBuf>,
    /// Bumped by every issuance; the file holds every session up to `saved`.
    issued: AtomicU64,
    /// The issuance count the file is known to hold; its lock also serialises the writes.
    saved: Mutex<u64>,
    /// Sessions were used (or dropped) since the last write.
    used_since_save: AtomicBool,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions::new(SessionLimits::default())
    }
}

/// The hash a session is known by: `sha256(token)` in hex. Its first 16 characters are the session's local
/// store key (`slipway::image::local_store::session_key`).
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The table on disk (`issued-sessions.json`): hashes and wall-clock times (Unix seconds), never a token.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct StoredTable {
    version: u32,
    sessions: Vec<StoredSession>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct StoredSession {
    /// `sha256(token)`, hex.
    sha256: String,
    issued: u64,
    used: u64,
}

const TABLE_VERSION: u32 = 1;

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
            epoch: Instant::now(),
            live: Mutex::default(),
            tickets: Mutex::default(),
            issued_by: Mutex::default(),
            file: None,
            issued: AtomicU64::new(0),
            saved: Mutex::new(0),
            used_since_save: AtomicBool::new(false),
        }
    }

    /// The table kept in `file`: the sessions a previous run left there that are still alive, and every new
    /// one written there. A missing file is an empty table; an unreadable one is logged and replaced.
    pub fn open(limits: SessionLimits, file: PathBuf) -> Sessions {
        let mut sessions = Sessions::new(limits);
        match std::fs::read(&file) {
            Ok(bytes) => match serde_json::from_slice::<StoredTable>(&bytes) {
                Ok(table) if table.version == TABLE_VERSION => {
                    let (kept, dropped) = sessions.load(table, SystemTime::now());
                    tracing::info!(kept, expired = dropped, "sessions of the previous run");
                }
                Ok(table) => tracing::warn!(
                    version = table.version,
                    file = %file.display(),
                    "sessions file of an unknown version: starting without sessions"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    file = %file.display(),
                    "unreadable sessions file: starting without sessions"
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, file = %file.display(), "cannot read the sessions file"),
        }
        sessions.file = Some(file);
        sessions
    }

    /// Milliseconds from the epoch to `at`.
    fn offset(&self, at: Instant) -> i64 {
        match at.checked_duration_since(self.epoch) {
            Some(after) => after.as_millis() as i64,
            None => -(self.epoch.duration_since(at).as_millis() as i64),
        }
    }

    /// Take the live sessions of `table` (read at wall-clock `now`); how many were kept and dropped.
    fn load(&self, table: StoredTable, now: SystemTime) -> (usize, usize) {
        let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let here = self.offset(Instant::now());
        // Wall-clock seconds back to offsets: a time in the future (the clock went back) counts as now.
        let at = |secs: u64| here - 1000 * now_secs.saturating_sub(secs).min(i64::MAX as u64 / 2000) as i64;
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let total = table.sessions.len();
        for stored in table.sessions {
            let times = Times {
                issued: at(stored.issued),
                used: at(stored.used.max(stored.issued)),
            };
            let well_formed =
                stored.sha256.len() == 64 && stored.sha256.bytes().all(|b| b.is_ascii_hexdigit());
            if well_formed && self.alive(&times, here) && live.len() < MAX_SESSIONS {
                live.insert(stored.sha256.to_ascii_lowercase(), times);
            }
        }
        (live.len(), total - live.len())
    }

    /// The live sessions as they go on disk, at wall-clock `now`.
    fn snapshot(&self, now: SystemTime) -> StoredTable {
        let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let here = self.offset(Instant::now());
        let wall = |offset: i64| now_secs.saturating_sub((here - offset).max(0) as u64 / 1000);
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let mut sessions: Vec<StoredSession> = live
            .iter()
            .filter(|(_, times)| self.alive(times, here))
            .map(|(hash, times)| StoredSession {
                sha256: hash.clone(),
                issued: wall(times.issued),
                used: wall(times.used),
            })
            .collect();
        sessions.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        StoredTable {
            version: TABLE_VERSION,
            sessions,
        }
    }

    /// Write the table to its file if sessions were issued since the last write (or `always`). Blocking.
    fn save(&self, always: bool) -> std::io::Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        let issued = self.issued.load(Ordering::SeqCst);
        if *saved >= issued && !always {
            return Ok(());
        }
        self.used_since_save.store(false, Ordering::SeqCst);
        let table = self.snapshot(SystemTime::now());
        write_private_atomically(file, &serde_json::to_vec(&table).map_err(std::io::Error::other)?)?;
        *saved = issued;
        Ok(())
    }

    /// Make sure the file holds every session issued so far (one write covers the sessions issued meanwhile).
    pub async fn persist_issued(self: &Arc<Self>) {
        let this = self.clone();
        match tokio::task::spawn_blocking(move || this.save(false)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot write the sessions file"),
            Err(e) => tracing::warn!(error = %e, "the sessions file writer panicked"),
        }
    }

    /// Write the table now (at shutdown). Blocking.
    pub fn persist_all(&self) {
        if let Err(e) = self.save(true) {
            tracing::warn!(error = %e, "cannot write the sessions file");
        }
    }

    /// How often the last-use times go to disk: a tenth of the idle expiry, between 1 s and 1 minute.
    pub fn flush_every(&self) -> Duration {
        (self.limits.idle / 10).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// Write the last-use times every [`Sessions::flush_every`] when sessions were used since the last write.
    pub fn spawn_flusher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(this.flush_every());
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if this.used_since_save.load(Ordering::SeqCst) {
                    let writer = this.clone();
                    let _ = tokio::task::spawn_blocking(move || writer.persist_all()).await;
                }
            }
        })
    }

    /// The local store keys (`slipway-local/KEY/`) of the sessions alive now.
    pub fn live_keys(&self) -> HashSet<String> {
        let now = self.offset(Instant::now());
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.iter()
            .filter(|(_, times)| self.alive(times, now))
            .map(|(hash, _)| hash[..16].to_string())
            .collect()
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
        let now = self.offset(now);
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if live.len() >= MAX_SESSIONS {
            live.retain(|_, times| self.alive(times, now));
            if live.len() >= MAX_SESSIONS {
                return Err(SessionError::TooMany("everyone".into()));
            }
        }
        let token = random_token();
        live.insert(
            token_hash(&token),
            Times {
                issued: now,
                used: now,
            },
        );
        self.issued.fetch_add(1, Ordering::SeqCst);
        Ok(token)
    }

    /// One session issuance spent by a client at `address` (a classroom sign-in attempt, right or wrong).
    pub fn spend(&self, address: Option<IpAddr>) -> Result<(), SessionError> {
        match address.map(crate::connections::client_key) {
            Some(address) => self.spend_issuance(address, Instant::now()),
            None => Ok(()),
        }
    }

    /// Take a class member's `token` ([`crate::classroom::Classroom::session_token`]) as issued now: a new
    /// sign-in of a member already signed in renews their session, it does not make a second one.
    pub fn admit_member(&self, token: &str) -> Result<(), SessionError> {
        let now = self.offset(Instant::now());
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if live.len() >= MAX_SESSIONS {
            live.retain(|_, times| self.alive(times, now));
            if live.len() >= MAX_SESSIONS {
                return Err(SessionError::TooMany("everyone".into()));
            }
        }
        live.insert(
            token_hash(token),
            Times {
                issued: now,
                used: now,
            },
        );
        self.issued.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// End the sessions whose hashes ([`token_hash`]) are `hashes` (members the classroom file dropped).
    pub fn end(&self, hashes: &[String]) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        for hash in hashes {
            live.remove(hash);
        }
        // Written at the next flush, as any use.
        self.used_since_save.store(true, Ordering::SeqCst);
    }

    /// Take `token` as issued now (in-process tests name their sessions).
    #[cfg(test)]
    pub(crate) fn admit(&self, token: &str) {
        let now = self.offset(Instant::now());
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.insert(
            token_hash(token),
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

    fn alive(&self, times: &Times, now: i64) -> bool {
        let within = |since: i64, limit: Duration| (now - since).max(0) < limit.as_millis() as i64;
        within(times.used, self.limits.idle) && within(times.issued, self.limits.max_age)
    }

    /// Whether `token` is a live session, without counting it as used (for the collector).
    pub fn is_live(&self, token: &str) -> bool {
        let now = self.offset(Instant::now());
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(&token_hash(token))
            .is_some_and(|times| self.alive(times, now))
    }

    /// How long ago `token`'s session was last used (signed in, or a request that acts for it); `None` when it
    /// is not live. Reading it is no use (for the classroom's idle warnings).
    pub fn unused_for(&self, token: &str) -> Option<Duration> {
        let now = self.offset(Instant::now());
        let live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let times = live.get(&token_hash(token)).filter(|t| self.alive(t, now))?;
        Some(Duration::from_millis((now - times.used).max(0) as u64))
    }

    /// Whether `token` is a live session; it counts as used now.
    pub fn check(&self, token: &str) -> Result<(), SessionError> {
        self.check_at(token, Instant::now())
    }

    fn check_at(&self, token: &str, now: Instant) -> Result<(), SessionError> {
        let now = self.offset(now);
        let hash = token_hash(token);
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        match live.get_mut(&hash) {
            Some(times) if self.alive(times, now) => {
                times.used = times.used.max(now);
                self.used_since_save.store(true, Ordering::Relaxed);
                Ok(())
            }
            Some(_) => {
                live.remove(&hash);
                self.used_since_save.store(true, Ordering::Relaxed);
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
    // On disk before the client has it: a restart right after this answer still knows the session.
    sessions.persist_issued().await;
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

/// Write `bytes` to `path` readable by the owner only: a temp file beside it, fsync, rename, fsync the directory.
pub(crate) fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, path)?;
    std::fs::File::open(dir)?.sync_all()
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
    fn a_member_signing_in_twice_has_one_session_until_it_is_ended() {
        let sessions = Sessions::new(SessionLimits::default());
        let token = "ab".repeat(32);
        assert_eq!(sessions.check(&token), Err(SessionError::Unknown));
        sessions.admit_member(&token).unwrap();
        sessions.admit_member(&token).unwrap();
        assert_eq!(sessions.check(&token), Ok(()));
        assert_eq!(sessions.live_keys().len(), 1);
        sessions.end(&[token_hash(&token)]);
        assert_eq!(sessions.check(&token), Err(SessionError::Unknown));
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

    #[test]
    fn the_table_on_disk_holds_hashes_never_tokens_and_loads_back_without_the_expired() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("issued-sessions.json");
        let sessions = Sessions::open(limits(100, 1000, 60), file.clone());
        let live = sessions.issue(None).unwrap();
        let idle = sessions
            .issue_at(None, Instant::now() - Duration::from_secs(99))
            .unwrap();
        sessions.save(false).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(&live) && !text.contains(&idle), "{text}");
        assert!(text.contains(&token_hash(&live)), "{text}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );

        // Two seconds later (a restart), the one that was idle for 99 of its 100 s has expired.
        let table: StoredTable = serde_json::from_str(&text).unwrap();
        let again = Sessions::new(limits(100, 1000, 60));
        let (kept, dropped) = again.load(table, SystemTime::now() + Duration::from_secs(2));
        assert_eq!((kept, dropped), (1, 1));
        assert_eq!(again.check(&live), Ok(()));
        assert_eq!(again.check(&idle), Err(SessionError::Unknown));
        assert_eq!(
            again.live_keys(),
            HashSet::from([slipway::image::local_store::session_key(Some(&live))])
        );
    }

    #[test]
    fn the_table_format_is_versioned_hashes_and_unix_seconds() {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let hash = "ab".repeat(32);
        let text = format!(
            r#"{{"version":1,"sessions":[{{"sha256":"{hash}","issued":{},"used":{}}},
            {{"sha256":"not-a-hash","issued":{now},"used":{now}}},
            {{"sha256":"{}","issued":{},"used":{now}}}]}}"#,
            now - 50,
            now - 5,
            "cd".repeat(32),
            now - 2000,
        );
        let table: StoredTable = serde_json::from_str(&text).unwrap();
        let sessions = Sessions::new(limits(10, 1000, 60));
        // Kept: the first (used 5 s ago, issued 50 s ago); dropped: a malformed hash and one past its max age.
        assert_eq!(sessions.load(table, SystemTime::now()), (1, 2));
        let stored = sessions.snapshot(SystemTime::now());
        assert_eq!(stored.sessions.len(), 1);
        assert_eq!(stored.sessions[0].sha256, hash);
        assert!(stored.sessions[0].issued.abs_diff(now - 50) <= 1);
        assert!(stored.sessions[0].used.abs_diff(now - 5) <= 1);
        assert!(serde_json::from_str::<StoredTable>(r#"{"version":1,"sessions":[],"tokens":[]}"#).is_err());
    }

    #[test]
    fn a_session_issued_is_on_disk_before_its_answer_and_uses_are_written_lazily() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("issued-sessions.json");
        let sessions = Arc::new(Sessions::open(limits(100, 1000, 60), file.clone()));
        let token = sessions.issue(None).unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(sessions.persist_issued());
        let written = std::fs::metadata(&file).unwrap().modified().unwrap();
        // A use marks the table for the flusher; it does not write by itself.
        std::thread::sleep(Duration::from_millis(20));
        sessions.check(&token).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), written);
        assert!(sessions.used_since_save.load(Ordering::SeqCst));
        sessions.persist_all();
        assert!(!sessions.used_since_save.load(Ordering::SeqCst));
        let reopened = Sessions::open(limits(100, 1000, 60), file);
        assert_eq!(reopened.check(&token), Ok(()));
    }
}
