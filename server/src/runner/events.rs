//! `docker events` on the companion: each session's events in a bounded ring (at most [`MAX_EVENTS`] events and
//! [`MAX_BYTES`] bytes, the oldest dropped first; docker's daemon keeps 256 for everyone), published live to
//! that session's `GET /api/events` streams only. The hooks where containers, networks and volumes change call
//! [`EventLog::record`]; the page's interpreter records the image events of its store with `POST /api/events`.
//! The route is moby's `getEvents` (api/server/router/system/system_routes.go) and `SubscribeTopic`/
//! `loadBufferedEvents` (daemon/events/events.go).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use slipway::api::{EventActor, EventFilters, EventMessage};
use tokio::sync::broadcast;

use super::{Container, Runner};

/// Events one session's ring keeps (docker's `eventsLimit`, which is for the whole daemon).
pub const MAX_EVENTS: usize = 256;
/// Bytes one session's ring keeps (an event's [`EventMessage::weight`]: its strings, labels included).
pub const MAX_BYTES: usize = 256 << 10;
/// Events waiting for a slow live reader before it skips ahead (shared by every session's readers).
const LIVE_BACKLOG: usize = 128;

/// An event and the session it belongs to.
#[derive(Debug)]
pub(crate) struct Recorded {
    pub(crate) session: String,
    pub(crate) message: EventMessage,
}

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<Arc<Recorded>>,
    bytes: usize,
}

#[derive(Debug, Default)]
struct Rings {
    by_session: HashMap<String, Ring>,
    /// The last time given, so events keep their order even when the clock does not move between two.
    last_nano: i64,
}

/// Every session's events.
#[derive(Debug)]
pub struct EventLog {
    rings: Mutex<Rings>,
    live: broadcast::Sender<Arc<Recorded>>,
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            rings: Mutex::default(),
            live: broadcast::channel(LIVE_BACKLOG).0,
        }
    }
}

pub(crate) fn now_nano() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl EventLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Rings> {
        self.rings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record an event of `session` now: into its ring, and to its live readers.
    pub fn record(
        &self,
        session: &str,
        kind: &str,
        action: &str,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let actor = EventActor {
            id: id.to_string(),
            attributes,
        };
        self.record_message(session, EventMessage::new(kind, action, actor, 0));
    }

    /// Record `message` (its time is set here) for `session`; the message as recorded.
    pub fn record_message(&self, session: &str, mut message: EventMessage) -> EventMessage {
        let mut rings = self.lock();
        let nano = now_nano().max(rings.last_nano + 1);
        rings.last_nano = nano;
        message.time_nano = nano;
        message.time = nano.div_euclid(1_000_000_000);
        let weight = message.weight();
        let recorded = Arc::new(Recorded {
            session: session.to_string(),
            message,
        });
        if weight <= MAX_BYTES {
            let ring = rings.by_session.entry(session.to_string()).or_default();
            while ring.events.len() >= MAX_EVENTS || ring.bytes + weight > MAX_BYTES {
                let Some(old) = ring.events.pop_front() else { break };
                ring.bytes -= old.message.weight();
            }
            ring.events.push_back(recorded.clone());
            ring.bytes += weight;
        }
        // Sent under the lock: a reader subscribing meanwhile sees it either in the ring or live, not twice.
        let _ = self.live.send(recorded.clone());
        recorded.message.clone()
    }

    /// The session's kept events between `since` and `until` (nanoseconds; none unless one is given, as
    /// docker) that pass `filters`, oldest first, and a receiver of what comes next.
    pub(crate) fn subscribe(
        &self,
        session: &str,
        since: Option<i128>,
        until: Option<i128>,
        filters: &EventFilters,
    ) -> (Vec<EventMessage>, broadcast::Receiver<Arc<Recorded>>) {
        let rings = self.lock();
        let rx = self.live.subscribe();
        if since.is_none() && until.is_none() {
            return (Vec::new(), rx);
        }
        let (since, until) = (since.unwrap_or(0), until.unwrap_or(0));
        let mut kept: Vec<EventMessage> = rings
            .by_session
            .get(session)
            .map(|ring| {
                ring.events
                    .iter()
                    .rev()
                    .take_while(|e| i128::from(e.message.time_nano) >= since)
                    .filter(|e| until <= 0 || i128::from(e.message.time_nano) <= until)
                    .filter(|e| filters.include(&e.message))
                    .map(|e| e.message.clone())
                    .collect()
            })
            .unwrap_or_default();
        kept.reverse();
        (kept, rx)
    }

    /// Drop the rings of sessions `live` says are gone (their events are nobody's any more).
    pub fn forget_sessions(&self, live: impl Fn(&str) -> bool) {
        self.lock().by_session.retain(|session, _| live(session));
    }

    /// How many events and bytes `session`'s ring holds.
    pub fn held(&self, session: &str) -> (usize, usize) {
        self.lock()
            .by_session
            .get(session)
            .map_or((0, 0), |r| (r.events.len(), r.bytes))
    }
}

impl Runner {
    /// A container event as dockerd's `LogContainerEventWithAttributes` makes it: the container's labels, its
    /// `image` (as the learner named it) and `name`, then `extra`. A RUN step's container makes none (BuildKit's
    /// do not either).
    pub(crate) fn container_event(&self, c: &Container, action: &str, extra: &[(&str, String)]) {
        if c.image == super::lifecycle::BUILD_STEP_IMAGE {
            return;
        }
        let mut attributes = c.opts.labels.clone();
        attributes.insert("image".into(), c.image.clone());
        attributes.insert("name".into(), self.name_of(c));
        attributes.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        self.events
            .record(&c.session, "container", action, &c.id, attributes);
    }
}

impl Runner {
    /// `die`, with the attributes of dockerd's `handleContainerExit`: `exitCode`, and `execDuration` (whole
    /// seconds since the start; 0 for a process that never ran).
    pub(crate) fn die_event(&self, c: &Container, code: i32) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ran = c
            .state()
            .started_at
            .map_or(0, |started| now.saturating_sub(started));
        self.container_event(
            c,
            "die",
            &[("exitCode", code.to_string()), ("execDuration", ran.to_string())],
        );
    }
}

impl Runner {
    /// A network event as dockerd's `LogNetworkEventWithAttributes` makes it: `name` and `type` (the driver),
    /// and for `connect`/`disconnect` the `container`'s ID.
    pub(crate) fn network_event(
        &self,
        session: &str,
        action: &str,
        (id, name): (&str, &str),
        container: Option<&str>,
    ) {
        let mut attributes: BTreeMap<String, String> = [
            ("name".to_string(), name.to_string()),
            ("type".to_string(), "bridge".to_string()),
        ]
        .into();
        if let Some(container) = container {
            attributes.insert("container".into(), container.to_string());
        }
        self.events.record(session, "network", action, id, attributes);
    }

    /// `mount` of each volume (not bind) of `c` as it starts, with what dockerd's `setupMounts` logs.
    pub(crate) fn mount_events(&self, c: &Container) {
        for m in c.opts.volumes.iter().filter(|m| m.bind.is_none()) {
            let extra = [
                ("container", c.id.clone()),
                ("destination", m.target.clone()),
                ("propagation", String::new()),
                ("read/write", (!m.read_only).to_string()),
            ];
            self.volume_event(&c.session, "mount", &m.source, &extra);
        }
    }

    /// A volume event as dockerd's `LogVolumeEvent` makes it: the `driver` (`local`), and `extra`.
    pub(crate) fn volume_event(&self, session: &str, action: &str, name: &str, extra: &[(&str, String)]) {
        let mut attributes: BTreeMap<String, String> = [("driver".to_string(), "local".to_string())].into();
        attributes.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        self.events.record(session, "volume", action, name, attributes);
    }
}

impl Runner {
    /// `kill`, with the signal as a number as dockerd's `killWithSignal` writes it.
    pub(crate) fn kill_event(&self, c: &Container, signal: &str) {
        self.container_event(c, "kill", &[("signal", signal_number(signal))]);
    }
}

/// A signal as `kill` events name it: its number (`TERM` → `15`), as dockerd's `killWithSignal` writes it.
pub fn signal_number(signal: &str) -> String {
    const LINUX: &[(&str, u8)] = &[
        ("HUP", 1),
        ("INT", 2),
        ("QUIT", 3),
        ("ILL", 4),
        ("TRAP", 5),
        ("ABRT", 6),
        ("BUS", 7),
        ("FPE", 8),
        ("KILL", 9),
        ("USR1", 10),
        ("SEGV", 11),
        ("USR2", 12),
        ("PIPE", 13),
        ("ALRM", 14),
        ("TERM", 15),
        ("STKFLT", 16),
        ("CHLD", 17),
        ("CONT", 18),
        ("STOP", 19),
        ("TSTP", 20),
        ("TTIN", 21),
        ("TTOU", 22),
        ("URG", 23),
        ("XCPU", 24),
        ("XFSZ", 25),
        ("VTALRM", 26),
        ("PROF", 27),
        ("WINCH", 28),
        ("IO", 29),
        ("PWR", 30),
        ("SYS", 31),
    ];
    let name = signal.trim_start_matches("SIG").to_ascii_uppercase();
    LINUX
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(name.clone(), |(_, number)| number.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(name: &str) -> BTreeMap<String, String> {
        [("name".to_string(), name.to_string())].into()
    }

    #[test]
    fn a_sessions_ring_is_bounded_in_count_and_bytes_and_its_own() {
        let log = EventLog::default();
        for i in 0..MAX_EVENTS + 10 {
            log.record("a", "container", "start", &format!("{i:064}"), attrs("web"));
        }
        let (count, bytes) = log.held("a");
        assert_eq!(count, MAX_EVENTS);
        assert!(bytes <= MAX_BYTES);
        let all = EventFilters::default();
        let (kept, _) = log.subscribe("a", Some(0), None, &all);
        assert_eq!(kept.len(), MAX_EVENTS);
        assert_eq!(kept[0].actor.id, format!("{:064}", 10), "the oldest went first");
        assert!(
            kept.windows(2).all(|w| w[0].time_nano < w[1].time_nano),
            "in order"
        );
        assert!(
            log.subscribe("b", Some(0), None, &all).0.is_empty(),
            "another session sees none"
        );
        // Big labels: the byte bound holds before the count does.
        let big: BTreeMap<String, String> = [("k".to_string(), "v".repeat(40 << 10))].into();
        for _ in 0..20 {
            log.record("c", "container", "create", "x", big.clone());
        }
        let (count, bytes) = log.held("c");
        assert!(bytes <= MAX_BYTES && count < 20, "{count} events, {bytes} bytes");
        log.forget_sessions(|s| s == "b");
        assert_eq!(log.held("a"), (0, 0));
    }

    #[test]
    fn since_and_until_pick_from_the_ring_and_nothing_is_replayed_without_them() {
        let log = EventLog::default();
        log.record("a", "container", "create", "1", attrs("web"));
        log.record("a", "container", "start", "1", attrs("web"));
        let all = EventFilters::default();
        let (kept, _) = log.subscribe("a", Some(0), None, &all);
        let start = i128::from(kept[1].time_nano);
        assert!(log.subscribe("a", None, None, &all).0.is_empty());
        assert_eq!(log.subscribe("a", Some(start), None, &all).0.len(), 1);
        assert_eq!(log.subscribe("a", None, Some(start - 1), &all).0.len(), 1);
        let starts = EventFilters::parse(["event=start"]).unwrap();
        assert_eq!(log.subscribe("a", Some(0), None, &starts).0[0].action, "start");
    }
}
