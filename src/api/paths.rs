//! Every companion route the page, `slipway docker` and the builder call, written once: the server's router
//! registers these patterns (axum's `{id}` syntax) and the clients fill them in with the functions below.
//!
//! The registry's `/v2/` paths are not here: the OCI distribution spec defines them, and the registry client
//! spells them after it.

/// Every companion route starts with this.
pub const API: &str = "/api/";
/// `GET`: the companion's [`super::ServerInfo`].
pub const INFO: &str = "/api/info";
/// `GET ?all=` ([`super::StatsQuery`]): the session's containers' [`super::StatsRow`]s, `docker stats`.
pub const STATS: &str = "/api/stats";
/// `GET ?since=&until=&filters=` ([`super::EventsQuery`]): the session's `docker events`, NDJSON
/// [`super::EventMessage`]s, followed until `until` (or until the client goes) unless `until` is past. `POST` a
/// [`super::EventMessage`] of type `image`: an event of the page's own image store, recorded in the session's.
pub const EVENTS: &str = "/api/events";
/// `GET`: `docker info`'s figures, the session's containers counted ([`super::SystemInfo`]).
pub const SYSTEM: &str = "/api/system";
/// `GET`: the session's local images ([`super::ImageRow`]).
pub const IMAGES: &str = "/api/images";
/// Prefix of the registry proxy: `/api/registry-proxy/HOST/v2/...` reaches registry `HOST` through the companion.
pub const REGISTRY_PROXY: &str = "/api/registry-proxy";
/// `GET`: the session's containers; `POST`: create one ([`super::CreateContainer`]).
pub const CONTAINERS: &str = "/api/containers";
/// Every path below [`CONTAINERS`] (the answer when no runtime is usable).
pub const CONTAINERS_ANY: &str = "/api/containers/{*rest}";
/// `GET`: inspect; `DELETE`: remove.
pub const CONTAINER: &str = "/api/containers/{id}";
pub const CONTAINER_START: &str = "/api/containers/{id}/start";
pub const CONTAINER_STOP: &str = "/api/containers/{id}/stop";
pub const CONTAINER_KILL: &str = "/api/containers/{id}/kill";
pub const CONTAINER_WAIT: &str = "/api/containers/{id}/wait";
pub const CONTAINER_LOGS: &str = "/api/containers/{id}/logs";
/// `POST ?timeout=` ([`super::AwaitQuery`]): wait until the container's healthcheck settles, or
/// until it runs (`docker compose up`'s `depends_on` and `--wait`).
pub const CONTAINER_AWAIT: &str = "/api/containers/{id}/await";
/// `POST`: freeze every process of the container (`docker pause`).
pub const CONTAINER_PAUSE: &str = "/api/containers/{id}/pause";
/// `POST`: thaw them (`docker unpause`).
pub const CONTAINER_UNPAUSE: &str = "/api/containers/{id}/unpause";
/// `POST ?name=NEW` ([`super::RenameQuery`]): `docker rename`.
pub const CONTAINER_RENAME: &str = "/api/containers/{id}/rename";
/// `GET`: the container's processes ([`super::TopAnswer`]), `docker top`.
pub const CONTAINER_TOP: &str = "/api/containers/{id}/top";
/// `POST ?t=SECONDS` ([`super::RestartQuery`]): stop the container if it runs, then start it again (`docker
/// restart`).
pub const CONTAINER_RESTART: &str = "/api/containers/{id}/restart";
/// `POST` ([`super::UpdateLimits`]): change a container's limits (`docker update`).
pub const CONTAINER_UPDATE: &str = "/api/containers/{id}/update";
/// `POST ?repository=` ([`super::CommitQuery`]): the container's changes as a layer blob of the session's local
/// repository ([`super::StepLayer`]), `docker commit`.
pub const CONTAINER_COMMIT: &str = "/api/containers/{id}/commit";
/// `GET`: the changes in the container's writable layer ([`super::Change`]), `docker diff`.
pub const CONTAINER_CHANGES: &str = "/api/containers/{id}/changes";
/// `GET ?path=&follow=` ([`super::ArchiveQuery`]): a tar of a path in the container; `PUT ?path=&keep_ids=`
/// ([`super::ExtractQuery`]) with a tar body: extract it into a directory of the container (`docker cp`).
pub const CONTAINER_ARCHIVE: &str = "/api/containers/{id}/archive";
/// `GET ?path=` ([`super::ArchiveQuery`]): what a path of the container is ([`super::PathStat`]).
pub const CONTAINER_ARCHIVE_STAT: &str = "/api/containers/{id}/archive/stat";
/// `GET`: the container's whole root filesystem as a tar (`docker export`).
pub const CONTAINER_EXPORT: &str = "/api/containers/{id}/export";
/// `POST`: remove the session's stopped containers ([`super::PruneAnswer`]), `docker container prune`.
pub const CONTAINERS_PRUNE: &str = "/api/containers/prune";
/// WebSocket: the container's TTY or stdio ([`super::AttachFrame`]).
pub const CONTAINER_ATTACH: &str = "/api/containers/{id}/attach";
/// `POST`: start a process in the container ([`super::ExecOptions`]).
pub const CONTAINER_EXEC: &str = "/api/containers/{id}/exec";
/// `GET`: an exec's [`super::ExecState`].
pub const EXEC: &str = "/api/execs/{id}";
pub const EXEC_WAIT: &str = "/api/execs/{id}/wait";
/// WebSocket: the exec's TTY or stdio ([`super::AttachFrame`]).
pub const EXEC_ATTACH: &str = "/api/execs/{id}/attach";
/// `POST`: run one RUN step of a build ([`super::StepRequest`]).
pub const STEPS: &str = "/api/steps";
/// `POST` ([`super::FetchRequest`]): a URL of `ADD <url>`, fetched by the companion through its allowlist; the
/// answer's body is the file.
pub const FETCH: &str = "/api/fetch";

// Sessions and attach tickets (issue 14): the companion issues both.
/// `POST`: a new session ([`super::SessionIssued`]); no session header needed.
pub const SESSIONS: &str = "/api/sessions";
/// `POST`: a one-time ticket for the container's attach WebSocket ([`super::AttachTicket`]).
pub const CONTAINER_ATTACH_TICKET: &str = "/api/containers/{id}/attach-ticket";
/// `POST`: a one-time ticket for the exec's attach WebSocket ([`super::AttachTicket`]).
pub const EXEC_ATTACH_TICKET: &str = "/api/execs/{id}/attach-ticket";
/// `GET`: the session's networks ([`super::NetworkInfo`]); `POST`: create one ([`super::NetworkCreate`]).
pub const NETWORKS: &str = "/api/networks";
/// `GET`: inspect; `DELETE`: remove (`docker network rm`).
pub const NETWORK: &str = "/api/networks/{id}";
/// `POST` ([`super::NetworkConnect`]): `docker network connect`.
pub const NETWORK_CONNECT: &str = "/api/networks/{id}/connect";
/// `POST` ([`super::NetworkDisconnect`]): `docker network disconnect`.
pub const NETWORK_DISCONNECT: &str = "/api/networks/{id}/disconnect";
/// `POST`: remove the session's networks no container uses ([`super::NetworkPruneAnswer`]).
pub const NETWORKS_PRUNE: &str = "/api/networks/prune";
/// `GET`: the session's volumes ([`super::VolumeInfo`]); `POST`: create one ([`super::VolumeCreate`]).
pub const VOLUMES: &str = "/api/volumes";
/// `GET`: inspect; `DELETE`: remove (`docker volume rm`).
pub const VOLUME: &str = "/api/volumes/{id}";
/// `POST [?all=true]`: remove the session's unused volumes ([`super::VolumePruneAnswer`]).
pub const VOLUMES_PRUNE: &str = "/api/volumes/prune";
/// The prefix of every exec route.
pub const EXECS: &str = "/api/execs/";

// Classroom mode (issue 15): learners and teachers sign in with a join code; plain `POST` [`SESSIONS`] is refused.
/// `POST`: sign in with a join code ([`super::JoinRequest`] → [`super::SignedIn`]); no session header needed.
pub const CLASSROOM_JOIN: &str = "/api/classroom/join";
/// The docs embeds' hidden runner frame (`static/blocks.js`, docs/embedding.md): the interpreter without the UI.
pub const EMBED_RUNNER: &str = "/embed/runner";
/// `GET`: the budget of one runner frame's session ([`super::EmbedBudget`]); no session needed.
pub const EMBED_BUDGET: &str = "/embed/budget";
/// `POST` with the session header: the runner frame's session is one docs page load's, whose containers and
/// build steps the server counts against [`EMBED_BUDGET`] and refuses past it; answers the budget.
pub const EMBED_SESSION: &str = "/api/embed/session";
/// The teacher's page: 403 for learners and clients not signed in.
pub const TEACHER: &str = "/teacher";
/// `GET`, teachers only: the class's [`super::ClassSnapshot`] (a row per learner, a funnel per lesson).
pub const CLASSROOM_PROGRESS: &str = "/api/classroom/progress";
/// `GET`, teachers only: `text/event-stream`, a [`super::ClassSnapshot`] per event, on change or every few seconds.
pub const CLASSROOM_FEED: &str = "/api/classroom/progress/feed";
/// `GET`, a learner (their own session only): their own [`super::MyProgress`], the server's verdicts the lesson
/// panel marks steps done by in classroom mode.
pub const CLASSROOM_MY_PROGRESS: &str = "/api/classroom/progress/mine";
/// `GET`, teachers only: the funnel per lesson ([`super::LessonFunnel`]s).
pub const CLASSROOM_FUNNEL: &str = "/api/classroom/funnel";
/// `GET`, teachers only: progress as CSV (RFC 4180), a line per learner and step.
pub const CLASSROOM_CSV: &str = "/api/classroom/progress.csv";
/// `POST`, teachers only: stop every container of the learner `{name}` ([`super::ActionDone`]).
pub const CLASSROOM_STOP: &str = "/api/classroom/learners/{name}/stop";
/// `POST` [`super::ResetRequest`], teachers only: take the learner `{name}` back to a step.
pub const CLASSROOM_RESET: &str = "/api/classroom/learners/{name}/reset";

pub fn classroom_stop(name: &str) -> String {
    CLASSROOM_STOP.replacen("{name}", name, 1)
}

pub fn classroom_reset(name: &str) -> String {
    CLASSROOM_RESET.replacen("{name}", name, 1)
}
/// `GET ?after=N` ([`super::NoticeQuery`] → [`super::Notices`]): a class member's notices, long-polled; reading
/// them does not count as using the playground.
pub const CLASSROOM_NOTICES: &str = "/api/classroom/notices";
/// `POST` (teachers; [`super::Broadcast`]): a message in every learner's terminal.
pub const CLASSROOM_BROADCAST: &str = "/api/classroom/broadcast";
/// `POST` (teachers; [`super::ExtendTime`] → [`super::ClassEnds`]): move the class's end later.
pub const CLASSROOM_EXTEND: &str = "/api/classroom/extend";

pub fn container_attach_ticket(id: &str) -> String {
    with_id(CONTAINER_ATTACH_TICKET, id)
}

pub fn exec_attach_ticket(id: &str) -> String {
    with_id(EXEC_ATTACH_TICKET, id)
}

/// The attach WebSocket path whose ticket route is `ticket_path` ([`container_attach_ticket`] or
/// [`exec_attach_ticket`]).
pub fn attach_of_ticket(ticket_path: &str) -> String {
    ticket_path.trim_end_matches("-ticket").to_string()
}

/// Whether a request to `path` acts for a session: containers, execs, steps, the local images and the
/// registry's local stores (`/v2/slipway-local/...`). The session route itself and attach WebSockets (they carry a
/// ticket) are not; previews are served on their own origin, by their token.
pub fn needs_session(path: &str) -> bool {
    let acts = path.starts_with(CONTAINERS)
        || path.starts_with(EXECS)
        || path == STEPS
        || path == FETCH
        || path.starts_with(NETWORKS)
        || path.starts_with(VOLUMES)
        || path == IMAGES
        || path == SYSTEM
        || path == STATS
        || path == EVENTS
        || path.starts_with("/v2/slipway-local/");
    acts && !path.ends_with("/attach")
}

/// `template` with its `{id}` filled in, percent-encoded: one path segment whatever the id holds (docker's names
/// never need it, but what a learner types may: `docker inspect learner/box:v1` asks for a container first).
fn with_id(template: &str, id: &str) -> String {
    template.replacen("{id}", &segment(id), 1)
}

/// `text` as one path segment: every byte but RFC 3986's unreserved characters percent-encoded.
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn volume(name: &str) -> String {
    with_id(VOLUME, name)
}

pub fn network(id: &str) -> String {
    with_id(NETWORK, id)
}

pub fn network_connect(id: &str) -> String {
    with_id(NETWORK_CONNECT, id)
}

pub fn network_disconnect(id: &str) -> String {
    with_id(NETWORK_DISCONNECT, id)
}

pub fn container(id: &str) -> String {
    with_id(CONTAINER, id)
}

pub fn container_start(id: &str) -> String {
    with_id(CONTAINER_START, id)
}

pub fn container_stop(id: &str) -> String {
    with_id(CONTAINER_STOP, id)
}

pub fn container_kill(id: &str) -> String {
    with_id(CONTAINER_KILL, id)
}

pub fn container_wait(id: &str) -> String {
    with_id(CONTAINER_WAIT, id)
}

pub fn container_await(id: &str) -> String {
    with_id(CONTAINER_AWAIT, id)
}

pub fn container_logs(id: &str) -> String {
    with_id(CONTAINER_LOGS, id)
}

pub fn container_pause(id: &str) -> String {
    with_id(CONTAINER_PAUSE, id)
}

pub fn container_unpause(id: &str) -> String {
    with_id(CONTAINER_UNPAUSE, id)
}

pub fn container_rename(id: &str) -> String {
    with_id(CONTAINER_RENAME, id)
}

pub fn container_top(id: &str) -> String {
    with_id(CONTAINER_TOP, id)
}

pub fn container_restart(id: &str) -> String {
    with_id(CONTAINER_RESTART, id)
}

pub fn container_update(id: &str) -> String {
    with_id(CONTAINER_UPDATE, id)
}

pub fn container_commit(id: &str) -> String {
    with_id(CONTAINER_COMMIT, id)
}

pub fn container_changes(id: &str) -> String {
    with_id(CONTAINER_CHANGES, id)
}

pub fn container_archive(id: &str) -> String {
    with_id(CONTAINER_ARCHIVE, id)
}

pub fn container_archive_stat(id: &str) -> String {
    with_id(CONTAINER_ARCHIVE_STAT, id)
}

pub fn container_export(id: &str) -> String {
    with_id(CONTAINER_EXPORT, id)
}

pub fn container_attach(id: &str) -> String {
    with_id(CONTAINER_ATTACH, id)
}

pub fn container_exec(id: &str) -> String {
    with_id(CONTAINER_EXEC, id)
}

// Previews: a container's web app is served by the preview listener, on an origin of its own (never the app's),
// below the container's unguessable preview token ([`super::ContainerSummary::preview`]).

/// A published port's root on the preview origin.
pub const PREVIEW: &str = "/p/{token}/{port}/";
/// Any path below a published port's root on the preview origin.
pub const PREVIEW_PATH: &str = "/p/{token}/{port}/{*path}";

/// The root of `port` of the container whose preview token is `token`, with its trailing slash (relative links
/// resolve below it). Relative to the preview origin ([`super::PreviewInfo::origin`]).
pub fn preview(token: &str, port: u16) -> String {
    PREVIEW
        .replacen("{token}", token, 1)
        .replacen("{port}", &port.to_string(), 1)
}

pub fn exec(id: &str) -> String {
    with_id(EXEC, id)
}

pub fn exec_wait(id: &str) -> String {
    with_id(EXEC_WAIT, id)
}

pub fn exec_attach(id: &str) -> String {
    with_id(EXEC_ATTACH, id)
}

#[cfg(test)]
mod tests {
    #[cfg(not(target_arch = "wasm32"))]
    use std::path::{Path, PathBuf};

    use super::*;

    /// The workspace's Rust files outside tests and benchmarks (the production code), with their text.
    #[cfg(not(target_arch = "wasm32"))]
    fn production_sources() -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let skipped = ["target", "tests", "benches", "fuzz", "node_modules", "dist"];
                if path.is_dir() && !name.starts_with('.') && !skipped.contains(&name.as_str()) {
                    walk(&path, found);
                } else if name.ends_with(".rs") && !name.contains("tests") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    // A file's unit tests sit at its end, after `#[cfg(test)]`.
                    let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_string();
                    found.push((path, code));
                }
            }
        }
        let mut found = Vec::new();
        walk(Path::new(env!("CARGO_MANIFEST_DIR")), &mut found);
        found
    }

    /// Reads the source tree: natively only (wasm has no file system).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn route_paths_and_the_session_header_are_spelled_only_here() {
        let sources = production_sources();
        assert!(sources.iter().any(|(path, _)| path.ends_with("src/api/paths.rs")));
        let mut strays = Vec::new();
        for (path, code) in &sources {
            if path.ends_with("src/api/paths.rs") || path.ends_with("src/api/mod.rs") {
                continue;
            }
            for (number, line) in code.lines().enumerate() {
                let line = line.trim_start();
                let lower = line.to_ascii_lowercase();
                let spelled = lower.contains("\"/api/") || lower.contains("\"x-slipway-session\"");
                if spelled && !line.starts_with("//") {
                    strays.push(format!("{}:{}: {line}", path.display(), number + 1));
                }
            }
        }
        assert!(
            strays.is_empty(),
            "use slipway::api::paths / SESSION_HEADER instead:\n{}",
            strays.join("\n")
        );
    }

    #[test]
    fn paths_fill_in_the_routes_patterns() {
        assert_eq!(container("web"), "/api/containers/web");
        assert_eq!(container("learner/box:v1"), "/api/containers/learner%2Fbox%3Av1");
        assert_eq!(volume("a b/ü"), "/api/volumes/a%20b%2F%C3%BC");
        assert_eq!(container_top("a_b-1.c~"), "/api/containers/a_b-1.c~/top");
        assert_eq!(container_attach("abc"), "/api/containers/abc/attach");
        assert_eq!(exec_attach("e1"), "/api/execs/e1/attach");
        assert_eq!(container_pause("web"), "/api/containers/web/pause");
        assert_eq!(container_unpause("web"), "/api/containers/web/unpause");
        assert_eq!(container_rename("web"), "/api/containers/web/rename");
        assert_eq!(container_top("web"), "/api/containers/web/top");
        assert!(needs_session(CONTAINERS_PRUNE) && needs_session(&container_top("a")));
        assert_eq!(preview("t0k3n", 8000), "/p/t0k3n/8000/");
        assert!(PREVIEW_PATH.starts_with(PREVIEW));
        assert!(CONTAINERS_ANY.starts_with(CONTAINERS));
        assert!(INFO.starts_with(API) && STEPS.starts_with(API));
        assert_eq!(
            container_attach_ticket("abc"),
            "/api/containers/abc/attach-ticket"
        );
        assert_eq!(attach_of_ticket(&exec_attach_ticket("e1")), exec_attach("e1"));
        assert!(needs_session(CONTAINERS) && needs_session(&container_logs("a")) && needs_session(STEPS));
        assert!(needs_session(FETCH) && needs_session(EVENTS));
        assert!(
            needs_session(&exec("e")) && needs_session(IMAGES) && needs_session(&exec_attach_ticket("e"))
        );
        assert!(needs_session("/v2/slipway-local/abc/app/manifests/latest"));
        assert!(
            !needs_session(SESSIONS)
                && !needs_session(INFO)
                && !needs_session("/v2/library/busybox/tags/list")
        );
        assert!(!needs_session(&container_attach("a")));
        assert_eq!(network_connect("app"), "/api/networks/app/connect");
        assert!(needs_session(VOLUMES) && needs_session(&volume("data")) && needs_session(VOLUMES_PRUNE));
        assert!(needs_session(NETWORKS) && needs_session(&network("app")) && needs_session(NETWORKS_PRUNE));
    }
}
