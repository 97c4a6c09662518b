//! `docker events`: the message the companion streams (moby's `api/types/events.Message` as docker 28 sends it,
//! legacy `status`/`id`/`from` fields included), the query of `GET /api/events`, moby's event filters
//! (`daemon/events/filter.go`) and the time values `--since`/`--until` take (moby's `api/types/time`,
//! `GetTimestamp` on the client and `ParseTimestamps` on the daemon).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{paths, query_string, Companion, CompanionError};
use crate::registry::{Method, Transport};

/// The object an event is about (moby's `events.Actor`): its ID and attributes (a container's are its labels,
/// `image` and `name`, plus what the action adds, such as `exitCode` for `die`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventActor {
    #[serde(rename = "ID")]
    pub id: String,
    /// Sorted by key, as Go's JSON encoder writes a map.
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One event: a line of `GET /api/events`, in the field order and spelling of moby's `events.Message`, so
/// `docker events --format '{{json .}}'` prints what docker 28 prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMessage {
    /// Deprecated (API 1.22), still sent by docker 28 for container and image events: the action.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Deprecated: the actor's ID, for container and image events.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Deprecated: a container event's `image` attribute.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// `container`, `image`, `network` or `volume`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// `create`, `start`, `die`, `exec_create: sh -c ls`...
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: EventActor,
    /// `local` for every engine event.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano", default, skip_serializing_if = "is_zero")]
    pub time_nano: i64,
}

impl EventMessage {
    /// An engine event at `time_nano`, with the legacy fields docker 28's `daemon/events.Log` fills for
    /// container and image events.
    pub fn new(kind: &str, action: &str, actor: EventActor, time_nano: i64) -> EventMessage {
        let legacy = matches!(kind, "container" | "image");
        EventMessage {
            status: if legacy { action.to_string() } else { String::new() },
            id: if legacy { actor.id.clone() } else { String::new() },
            from: match kind {
                "container" => actor.attributes.get("image").cloned().unwrap_or_default(),
                _ => String::new(),
            },
            kind: kind.to_string(),
            action: action.to_string(),
            actor,
            scope: "local".into(),
            time: time_nano.div_euclid(1_000_000_000),
            time_nano,
        }
    }

    /// The line `docker events` prints without `--format` (docker/cli `prettyPrintEvent`): the time with nine
    /// fraction digits, type, action, actor ID, then the attributes sorted by key in parentheses.
    pub fn line(&self) -> String {
        let mut out = String::new();
        if self.time_nano != 0 {
            out.push_str(&crate::image::rfc3339_nanos(self.time_nano.max(0) as u128));
            out.push(' ');
        } else if self.time != 0 {
            out.push_str(&crate::image::rfc3339_nanos(
                self.time.max(0) as u128 * 1_000_000_000,
            ));
            out.push(' ');
        }
        out.push_str(&format!("{} {} {}", self.kind, self.action, self.actor.id));
        if !self.actor.attributes.is_empty() {
            let attrs: Vec<String> = self
                .actor
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            out.push_str(&format!(" ({})", attrs.join(", ")));
        }
        out
    }

    /// Rough bytes this message holds, for the companion's per-session bound.
    pub fn weight(&self) -> usize {
        let attrs: usize = self
            .actor
            .attributes
            .iter()
            .map(|(k, v)| k.len() + v.len() + 16)
            .sum();
        128 + self.status.len()
            + self.id.len()
            + self.from.len()
            + self.action.len()
            + self.actor.id.len()
            + attrs
    }
}

/// The query of `GET /api/events`: docker's wire values. `since`/`until` are Unix seconds with an optional
/// fraction (`1700000000.123456789`), as docker's client sends them after [`get_timestamp`]; `filters` is
/// docker's filter JSON (`{"type":{"container":true}}`, [`EventFilters::to_json`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct EventsQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub filters: Option<String>,
}

/// The `--filter` values of `docker events`, by key (moby's `filters.Args`); what [`EventFilters::include`]
/// applies is moby's `daemon/events/filter.go`. Keys the daemon does not know are kept and ignored, as dockerd
/// 28 does (its events route validates no key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilters(BTreeMap<String, BTreeSet<String>>);

/// Why a `--filter` value is refused (docker/cli `opts.FilterOpt`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid argument \"{0}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)")]
pub struct FilterFormatError(pub String);

impl EventFilters {
    /// The filters typed as `-f name=value` flags: the name is lower-cased and both are trimmed, as docker/cli's
    /// `FilterOpt.Set` does; an empty value is skipped.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<EventFilters, FilterFormatError> {
        let mut filters = EventFilters::default();
        for value in values {
            if value.is_empty() {
                continue;
            }
            let Some((name, val)) = value.split_once('=') else {
                return Err(FilterFormatError(value.to_string()));
            };
            filters
                .0
                .entry(name.trim().to_lowercase())
                .or_default()
                .insert(val.trim().to_string());
        }
        Ok(filters)
    }

    /// docker's wire form (`filters.ToJSON`): `{"key":{"value":true}}`; `None` without filters.
    pub fn to_json(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let map: BTreeMap<&String, BTreeMap<&String, bool>> = self
            .0
            .iter()
            .map(|(k, vs)| (k, vs.iter().map(|v| (v, true)).collect()))
            .collect();
        serde_json::to_string(&map).ok()
    }

    /// Back from [`EventFilters::to_json`] (also docker's older `{"key":["value"]}` form).
    pub fn from_json(text: &str) -> Result<EventFilters, String> {
        if text.is_empty() {
            return Ok(EventFilters::default());
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Values {
            Map(BTreeMap<String, bool>),
            List(Vec<String>),
        }
        let raw: BTreeMap<String, Values> =
            serde_json::from_str(text).map_err(|e| format!("invalid filter: {e}"))?;
        Ok(EventFilters(
            raw.into_iter()
                .map(|(k, v)| match v {
                    Values::Map(m) => (k, m.into_keys().collect()),
                    Values::List(l) => (k, l.into_iter().collect()),
                })
                .collect(),
        ))
    }

    fn values(&self, key: &str) -> Option<&BTreeSet<String>> {
        self.0.get(key).filter(|v| !v.is_empty())
    }

    /// `filters.Args.ExactMatch`: no value for `key`, or `source` is one of them.
    fn exact(&self, key: &str, source: &str) -> bool {
        self.values(key).is_none_or(|vs| vs.contains(source))
    }

    /// `filters.Args.FuzzyMatch`: no value for `key`, or `source` is one of them or starts with one.
    fn fuzzy(&self, key: &str, source: &str) -> bool {
        self.values(key)
            .is_none_or(|vs| vs.iter().any(|v| source.starts_with(v.as_str())))
    }

    /// Whether `ev` passes every filter (moby's `Filter.Include`).
    pub fn include(&self, ev: &EventMessage) -> bool {
        let name = ev.actor.attributes.get("name").map_or("", String::as_str);
        let by_name = |kind: &str| self.fuzzy(kind, &ev.actor.id) || self.fuzzy(kind, name);
        self.match_event(&ev.action)
            && self.exact("type", &ev.kind)
            && self.exact("scope", &ev.scope)
            && [
                "daemon",
                "container",
                "plugin",
                "volume",
                "network",
                "service",
                "node",
                "secret",
                "config",
            ]
            .iter()
            .all(|kind| by_name(kind))
            && self.match_image(ev)
            && self.match_labels(&ev.actor.attributes)
    }

    /// #25798: `event=exec_create` (or `exec_start`, `health_status`) matches the actions that carry the
    /// command after a colon.
    fn match_event(&self, action: &str) -> bool {
        let fuzzy = self.values("event").is_some_and(|vs| {
            ["health_status", "exec_create", "exec_start"]
                .iter()
                .any(|a| vs.contains(*a))
        });
        match fuzzy {
            true => self.fuzzy("event", action),
            false => self.exact("event", action),
        }
    }

    /// `image=` matches an image event's ID or name, or a container event's `image` attribute, tagged or not.
    fn match_image(&self, ev: &EventMessage) -> bool {
        let attr = if ev.kind == "image" { "name" } else { "image" };
        let name = ev.actor.attributes.get(attr).map_or("", String::as_str);
        self.exact("image", &ev.actor.id)
            || self.exact("image", name)
            || self.exact("image", &familiar_name(&ev.actor.id))
            || self.exact("image", &familiar_name(name))
    }

    /// `filters.Args.MatchKVList`: every `label=KEY` or `label=KEY=VALUE` is among the attributes.
    fn match_labels(&self, attributes: &BTreeMap<String, String>) -> bool {
        let Some(labels) = self.values("label") else {
            return true;
        };
        labels.iter().all(|label| match label.split_once('=') {
            Some((k, v)) => attributes.get(k).is_some_and(|have| have == v),
            None => attributes.contains_key(label.as_str()),
        })
    }
}

/// An image reference without its tag or digest, as `reference.FamiliarName` writes it (`busybox:1.36` →
/// `busybox`, `docker.io/library/busybox` → `busybox`); what does not parse as a name is left as it is.
fn familiar_name(image: &str) -> String {
    if image.is_empty() || image.starts_with("sha256:") || image.bytes().any(|b| b.is_ascii_uppercase()) {
        return image.to_string();
    }
    let no_digest = image.split('@').next().unwrap_or(image);
    let slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let no_tag = match no_digest[slash..].find(':') {
        Some(colon) => &no_digest[..slash + colon],
        None => no_digest,
    };
    let short = no_tag.strip_prefix("docker.io/").unwrap_or(no_tag);
    short
        .strip_prefix("library/")
        .filter(|s| !s.contains('/'))
        .unwrap_or(short)
        .to_string()
}

/// A Go duration (`10m`, `1h30m`, `1.5s`, `-2m`, `300ms`) in nanoseconds, as `time.ParseDuration` reads it;
/// `None` when it is not one.
pub fn parse_go_duration(text: &str) -> Option<i128> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale: f64 = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_end..];
    }
    let ns = total.round() as i128;
    Some(if negative { -ns } else { ns })
}

/// Nanoseconds of a date-time docker's `GetTimestamp` accepts: `2006-01-02`, `2006-01-02T15`,
/// `2006-01-02T15:04`, `2006-01-02T15:04:05[.fraction]`, each optionally followed by `Z` or `±07:00` (no zone:
/// the local one, UTC here).
fn parse_date_time(text: &str) -> Option<i128> {
    let zone_at = text
        .rfind(['Z', 'z', '+'])
        .or_else(|| text.match_indices('-').nth(2).map(|(i, _)| i));
    let (body, zone) = match zone_at {
        Some(at) if at >= 10 => (&text[..at], &text[at..]),
        _ => (text, ""),
    };
    let (date, clock) = match body.split_once('T') {
        Some((d, c)) => (d, Some(c)),
        None => (body, None),
    };
    fn digits(s: &str, n: usize) -> Option<&str> {
        (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
    }
    let mut d = date.split('-');
    let (y, mo, da) = (
        digits(d.next()?, 4)?,
        digits(d.next()?, 2)?,
        digits(d.next()?, 2)?,
    );
    if d.next().is_some() {
        return None;
    }
    let (month, day): (u32, u32) = (mo.parse().ok()?, da.parse().ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (mut hms, mut fraction) = (vec!["00", "00", "00"], "");
    if let Some(clock) = clock {
        let (whole, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let parts: Vec<&str> = whole.split(':').collect();
        if parts.len() > 3 || (!frac.is_empty() && parts.len() != 3) {
            return None;
        }
        for (i, p) in parts.iter().enumerate() {
            hms[i] = digits(p, 2)?;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
            return None;
        }
        fraction = frac;
    }
    let zone = match zone {
        "" | "Z" | "z" => "Z".to_string(),
        z if z.len() == 6 && z.as_bytes()[3] == b':' => z.to_string(),
        _ => return None,
    };
    let seconds =
        crate::image::parse_rfc3339(&format!("{y}-{mo}-{da}T{}:{}:{}{zone}", hms[0], hms[1], hms[2]))?;
    let nanos: i128 = format!("{fraction:0<9}").parse().ok()?;
    Some(i128::from(seconds) * 1_000_000_000 + nanos)
}

/// `--since`/`--until` as docker's client sends them (docker/cli's `timetypes.GetTimestamp` against the
/// caller's clock `now_secs`): a duration is `now` less it, in whole seconds; a date-time becomes
/// `seconds.nanoseconds`; a Unix time (`1700000000`, `1700000000.5`) is sent as typed. The error is docker's.
pub fn get_timestamp(value: &str, now_secs: i64) -> Result<String, String> {
    if value != "0" {
        if let Some(d) = parse_go_duration(value) {
            let at = i128::from(now_secs) * 1_000_000_000 - d;
            return Ok(at.div_euclid(1_000_000_000).to_string());
        }
    }
    if let Some(ns) = parse_date_time(value) {
        return Ok(format!(
            "{}.{:09}",
            ns.div_euclid(1_000_000_000),
            ns.rem_euclid(1_000_000_000)
        ));
    }
    if value.contains('-') {
        return Err(format!(
            "parsing time \"{value}\": not a date-time docker reads (2006-01-02T15:04:05Z07:00)"
        ));
    }
    match parse_timestamp(value) {
        Ok(_) => Ok(value.to_string()),
        Err(_) => Err(format!("failed to parse value as time or duration: \"{value}\"")),
    }
}

/// A wire time (`seconds[.fraction]`, moby's `timetypes.ParseTimestamps`) in Unix nanoseconds.
pub fn parse_timestamp(value: &str) -> Result<i128, String> {
    let invalid = || format!("strconv.ParseInt: parsing \"{value}\": invalid syntax");
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    let secs: i64 = secs.parse().map_err(|_| invalid())?;
    let nanos: i128 = match frac {
        "" if !value.contains('.') => 0,
        f if f.bytes().all(|b| b.is_ascii_digit()) && !f.is_empty() => {
            format!("{:0<9}", &f[..f.len().min(9)])
                .parse()
                .map_err(|_| invalid())?
        }
        _ => return Err(invalid()),
    };
    Ok(i128::from(secs) * 1_000_000_000 + nanos)
}

impl<T: Transport> Companion<'_, T> {
    /// `GET /api/events`: each event goes to `on_event` as the companion sends it, until the answer ends
    /// (`until` passed) or the caller drops the future (Ctrl-C).
    pub async fn events(
        &self,
        query: &EventsQuery,
        on_event: &mut dyn FnMut(EventMessage),
    ) -> Result<(), CompanionError> {
        let path = format!("{}{}", paths::EVENTS, query_string(query));
        self.stream_lines(self.request(Method::Get, &path), &mut |line| {
            if let Ok(event) = serde_json::from_str(line) {
                on_event(event);
            }
        })
        .await
    }

    /// `POST /api/events`: record an image event of the session's own store, made where the companion cannot
    /// tell which command it was (a tag, a pull); answered with the event as recorded (time set).
    pub async fn record_event(&self, event: &EventMessage) -> Result<EventMessage, CompanionError> {
        self.json(Method::Post, paths::EVENTS, Some(event)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(action: &str, name: &str, extra: &[(&str, &str)]) -> EventMessage {
        let mut attributes: BTreeMap<String, String> = [("image", "busybox"), ("name", name)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        attributes.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let actor = EventActor {
            id: "4f0e5c1b2a".into(),
            attributes,
        };
        EventMessage::new("container", action, actor, 1_796_659_200_123_456_789)
    }

    #[test]
    fn a_line_is_docker_clis_pretty_print_and_json_its_message() {
        let die = container("die", "web", &[("exitCode", "0"), ("execDuration", "1")]);
        // docker/cli cli/command/system/events.go prettyPrintEvent: rfc3339NanoFixed, sorted attributes.
        assert_eq!(
            die.line(),
            "2026-12-07T16:00:00.123456789Z container die 4f0e5c1b2a (execDuration=1, exitCode=0, image=busybox, name=web)"
        );
        // moby api/types/events.Message's field order, docker 28's legacy fields (removed in API 1.52).
        assert_eq!(
            serde_json::to_string(&die).unwrap(),
            r#"{"status":"die","id":"4f0e5c1b2a","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"4f0e5c1b2a","Attributes":{"execDuration":"1","exitCode":"0","image":"busybox","name":"web"}},"scope":"local","time":1796659200,"timeNano":1796659200123456789}"#
        );
        let network = EventMessage::new("network", "create", EventActor::default(), 5_000_000_000);
        let json = serde_json::to_string(&network).unwrap();
        assert!(
            json.starts_with(r#"{"Type":"network""#),
            "no legacy fields: {json}"
        );
        assert_eq!(network.line(), "1970-01-01T00:00:05.000000000Z network create ");
    }

    #[test]
    fn filters_are_mobys() {
        let f = |values: &[&str]| EventFilters::parse(values.iter().copied()).unwrap();
        let start = container("start", "web", &[("tier", "front")]);
        let exec = container("exec_create: sh -c ls", "web", &[]);
        assert!(f(&[]).include(&start));
        assert!(f(&["event=start"]).include(&start));
        assert!(!f(&["event=die"]).include(&start));
        assert!(
            !f(&["event=exec"]).include(&exec),
            "exact unless exec_create/exec_start/health_status"
        );
        assert!(f(&["event=exec_create"]).include(&exec));
        assert!(f(&["type=container", "container=web"]).include(&start));
        assert!(f(&["container=4f0e"]).include(&start), "an ID prefix");
        assert!(
            f(&["container=web", "container=db"]).include(&start),
            "values of one key: any"
        );
        assert!(!f(&["container=db"]).include(&start));
        assert!(!f(&["type=image"]).include(&start));
        assert!(
            !f(&["image=busybox:latest"]).include(&start),
            "values are not stripped"
        );
        assert!(f(&["image=busybox"]).include(&start));
        assert!(f(&["label=tier", "label=tier=front"]).include(&start));
        assert!(!f(&["label=tier=back"]).include(&start));
        assert!(
            !f(&["network=db"]).include(&start),
            "names of other kinds filter it out too"
        );
        assert!(
            f(&["network=web"]).include(&start),
            "moby matches any actor's name, whatever its type"
        );
        assert!(
            f(&["Type = container"]).include(&start),
            "trimmed and lower-cased as FilterOpt.Set"
        );
        assert_eq!(
            EventFilters::parse(["type"]).unwrap_err().to_string(),
            "invalid argument \"type\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"
        );
        let both = f(&["type=container", "event=start"]);
        assert_eq!(EventFilters::from_json(&both.to_json().unwrap()).unwrap(), both);
        assert_eq!(familiar_name("docker.io/library/busybox:1.36"), "busybox");
        assert_eq!(
            familiar_name("127.0.0.1:8080/learner/app:v1"),
            "127.0.0.1:8080/learner/app"
        );
    }

    #[test]
    fn times_are_read_as_dockers_get_timestamp_and_parse_timestamps() {
        let now = 1_796_659_200;
        let minus = |secs: i64| (now - secs).to_string();
        for (typed, sent) in [
            ("10m", minus(600)),
            ("0s", minus(0)),
            ("1h30m", minus(5400)),
            // A negative duration: the future.
            ("-1m", minus(-60)),
            ("0", "0".into()),
            ("1796659200.5", "1796659200.5".into()),
            ("2026-12-07T16:00:00Z", "1796659200.000000000".into()),
            ("2026-12-07T16:00:00.25Z", "1796659200.250000000".into()),
            ("2026-12-07T17:00:00+01:00", "1796659200.000000000".into()),
            ("2026-12-07", "1796601600.000000000".into()),
            ("2026-12-07T16", "1796659200.000000000".into()),
        ] {
            assert_eq!(get_timestamp(typed, now).unwrap(), sent, "{typed}");
        }
        assert_eq!(
            get_timestamp("yesterday", now).unwrap_err(),
            "failed to parse value as time or duration: \"yesterday\""
        );
        assert!(get_timestamp("2026-13-07", now)
            .unwrap_err()
            .starts_with("parsing time \"2026-13-07\""));
        assert_eq!(
            parse_timestamp("1796659200.5").unwrap(),
            1_796_659_200_500_000_000
        );
        assert_eq!(parse_timestamp("1796659200").unwrap(), 1_796_659_200_000_000_000);
        assert!(parse_timestamp("x").is_err());
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("10"), None, "a number alone is no duration");
        assert_eq!(parse_go_duration("5d"), None);
    }
}
