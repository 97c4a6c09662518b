//! The page ↔ companion protocol, written once: every `/api/` route path ([`paths`]), the session header, and
//! a serde type per request, answer and stream frame. The server's handlers take and return these types; the
//! page, `slipway docker` and the builder reach the routes through [`Companion`].
//!
//! Platform-neutral (serde only): the core builds it for the browser and natively. Request types deny unknown
//! fields, so a misspelt key is an error rather than a silently ignored flag.

mod attach;
mod changes;
pub mod classroom;
mod client;
mod containers;
mod copy;
mod embed;
mod error;
mod events;
mod exec;
mod fetch;
mod health;
mod images;
pub mod info;
mod networks;
mod notices;
pub mod paths;
mod progress;
mod sessions;
mod steps;
mod volumes;

pub use attach::{AttachFrame, DetachKeys, DEFAULT_DETACH_KEYS};
pub use changes::{
    Change, ChangeKind, CommitQuery, RestartQuery, StatsQuery, StatsRow, SystemInfo, UpdateLimits,
};
pub use classroom::{normalize_join_code, ClassroomInfo, JoinRequest, Role, SignedIn};
pub use client::{attach_path_for, Companion, CompanionError, OnRenew, SessionTransport};
pub use containers::{
    ContainerConfig, ContainerInspect, ContainerState, ContainerStatus, ContainerSummary, CreateContainer,
    CreateQuery, Created, KillQuery, ListQuery, LogChunk, LogFormat, LogStream, LogsQuery, PortMapping,
    PortsMode, PruneAnswer, RemoveQuery, RenameQuery, RunOptions, StopQuery, TopAnswer,
};
pub use copy::{ArchiveQuery, ExtractQuery, PathStat, MAX_COPY_BYTES};
pub use embed::EmbedBudget;
pub use error::ErrorBody;
pub use events::{
    get_timestamp, parse_go_duration, parse_timestamp, EventActor, EventFilters, EventMessage, EventsQuery,
    FilterFormatError,
};
pub use exec::{ExecCreated, ExecOptions, ExecState};
pub use fetch::{FetchRequest, Fetched};
pub use health::{
    AwaitAnswer, AwaitQuery, HealthConfig, HealthResult, HealthState, HealthStatus, RestartName,
    RestartPolicy, RestartPolicyError,
};
pub use images::ImageRow;
pub use info::{PlatformInfo, PreviewInfo, RegistryInfo, RuntimeInfo, ServerInfo};
pub use networks::{
    ContainerEndpoint, NetworkConnect, NetworkCreate, NetworkCreated, NetworkDisconnect, NetworkEndpoint,
    NetworkInfo, NetworkPruneAnswer, DEFAULT_NETWORK, NO_NETWORK,
};
pub use notices::{Broadcast, ClassEnds, ExtendTime, Notice, NoticeQuery, Notices};
pub use progress::{
    ActionDone, ClassSnapshot, FailedCommand, FunnelStep, LearnerRow, LessonFunnel, LessonProgress,
    MyProgress, MyProgressQuery, ResetRequest, StepMark, ONLINE_SECONDS,
};
pub use sessions::{AttachTicket, SessionIssued, TicketQuery};
pub use steps::{StepEvent, StepLayer, StepMount, StepRequest, StepResult, NDJSON};
pub use volumes::{
    ProjectBind, VolumeCreate, VolumeInfo, VolumeMount, VolumePruneAnswer, VolumePruneQuery, BIND_FILE_NAME,
    MAX_BIND_BYTES,
};

use serde::Serialize;

/// The header carrying the page's session token: the companion shows each session only its own containers
/// and local images. Lower case, as HTTP/2 sends header names and as `http::HeaderName` spells them.
pub const SESSION_HEADER: &str = "x-slipway-session";

/// A query type as `?name=value&...` (percent-encoded), or `""` when every field has its default: absent
/// options and `false` flags are left out, as the server reads them back.
pub fn query_string<Q: Serialize>(query: &Q) -> String {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(query) else {
        return String::new();
    };
    let pairs: Vec<String> = fields
        .iter()
        .filter_map(|(name, value)| {
            let text = match value {
                serde_json::Value::Null | serde_json::Value::Bool(false) => return None,
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            Some(format!(
                "{name}={}",
                crate::registry::challenge::encode_query_value(&text)
            ))
        })
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Serialize `value`, read it back, and check nothing changed on the way; the JSON, for further checks.
#[cfg(test)]
fn round_trip<T>(value: &T) -> serde_json::Value
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_value(value).unwrap();
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value, "{json}");
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_leave_defaults_out_and_encode_values() {
        assert_eq!(query_string(&ListQuery { all: false }), "");
        assert_eq!(query_string(&ListQuery { all: true }), "?all=true");
        assert_eq!(query_string(&StopQuery { t: Some(3) }), "?t=3");
        assert_eq!(
            query_string(&TicketQuery {
                ticket: Some("page-1f/x y".into()),
                ..TicketQuery::default()
            }),
            "?ticket=page-1f%2Fx%20y"
        );
        let logs = LogsQuery {
            follow: true,
            tail: Some(2),
            format: LogFormat::Json,
            ..LogsQuery::default()
        };
        let text = query_string(&logs);
        let back: Vec<&str> = text.trim_start_matches('?').split('&').collect();
        assert_eq!(back.len(), 3, "{text}");
        assert!(back.contains(&"follow=true") && back.contains(&"tail=2") && back.contains(&"format=json"));
    }
}
