//! Lifetimes that warn (issue 15): a learner unused for the idle timeout less a margin is warned, and at the
//! timeout their running containers are stopped (not removed: images, containers and their session stay, and
//! signing in again finds them); any use resets the clock. Before the class's end the class is warned (10 and
//! 2 minutes before); at the end every learner's running containers are stopped and new starts are refused
//! ([`refuse_after_the_end`]); a teacher may move the end ([`extend`]). A reload (SIGHUP) that changes the
//! limits rewrites the learners' cgroups and container counts at once ([`apply_limits`]).
//!
//! One task ([`spawn`]) looks every [`TICK`]; what it tells members goes on the class's notice board.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use slipway::api::{paths, ClassEnds, ErrorBody, ExtendTime, Notice, Role};

use super::notices::Audience;
use super::{ClassState, Classroom, ClassroomLimits, Principal};
use crate::runner::cgroups::OwnerLimits;
use crate::runner::Runner;
use crate::sessions::Sessions;

/// How often the watch looks at the learners and the clock.
pub const TICK: Duration = Duration::from_secs(1);
/// The idle timeout when the class file sets none.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(2 * 3600);
/// Seconds before the end at which the class is warned.
pub const END_WARNINGS: [i64; 2] = [600, 120];
/// How long a stopped container's processes get between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// What a build whose RUN step the class's end stopped is told.
pub const CLASS_ENDED: &str = "the class has ended: this RUN step was stopped (your images, containers and \
     progress are kept; ask your teacher for more time)";

/// What a build whose RUN step was stopped for idleness is told.
fn idle_reason(timeout: Duration) -> String {
    let secs = timeout.as_secs();
    let spell = match secs {
        0..60 => format!("{secs} seconds"),
        60..120 => "1 minute".to_string(),
        _ => format!("{} minutes", secs / 60),
    };
    format!("stopped after {spell} idle: this RUN step was stopped with your containers; run the build again")
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Unix seconds as RFC 3339 UTC.
pub fn rfc3339(secs: i64) -> String {
    slipway::image::config::rfc3339(secs.max(0) as u64)
}

/// The warning margin of an idle timeout: five minutes, or half the timeout when that is shorter.
pub fn idle_margin(timeout: Duration) -> Duration {
    (timeout / 2).min(Duration::from_secs(300))
}

/// What the watch has told whom, so that each warning goes out once.
#[derive(Debug, Default)]
struct Watch {
    /// Learners warned of idleness in their current idle spell.
    idle_warned: HashSet<String>,
    /// Learners whose containers were stopped in their current idle spell.
    idle_stopped: HashSet<String>,
    /// `(end, seconds before)` warnings given.
    end_warned: HashSet<(i64, i64)>,
    /// The end whose stop was done.
    ended: Option<i64>,
}

/// The watch over one class.
struct Lifetimes {
    classroom: Arc<Classroom>,
    sessions: Arc<Sessions>,
    runner: Option<Arc<Runner>>,
    watch: Watch,
}

/// Start the watch of `classroom`.
pub fn spawn(
    classroom: Arc<Classroom>,
    sessions: Arc<Sessions>,
    runner: Option<Arc<Runner>>,
) -> tokio::task::JoinHandle<()> {
    let mut lifetimes = Lifetimes {
        classroom,
        sessions,
        runner,
        watch: Watch::default(),
    };
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            lifetimes.end_of_class(unix_now());
            lifetimes.idle_learners();
        }
    })
}

impl Lifetimes {
    /// The learners of the class, with their session tokens.
    fn learners(&self) -> Vec<(String, String)> {
        let roster = self.classroom.roster();
        roster
            .members()
            .iter()
            .filter(|m| m.role == Role::Learner)
            .map(|m| (m.name.clone(), self.classroom.session_token(m)))
            .collect()
    }

    /// Warn before the end; at the end stop every learner's containers (once per end).
    fn end_of_class(&mut self, now: i64) {
        let Some(end) = self.classroom.ends_unix() else {
            return;
        };
        let left = end - now;
        if left <= 0 {
            if self.watch.ended != Some(end) {
                self.watch.ended = Some(end);
                tracing::info!(ends = %rfc3339(end), "the class ended: stopping the learners' containers");
                for (name, token) in self.learners() {
                    let reason = CLASS_ENDED.to_string();
                    self.stop_containers(name, token, reason, |stopped| Notice::ClassEnded { stopped });
                }
            } else {
                self.stop_late_steps();
            }
            return;
        }
        let due: Vec<i64> = END_WARNINGS
            .into_iter()
            .filter(|before| left <= *before && !self.watch.end_warned.contains(&(end, *before)))
            .collect();
        if due.is_empty() {
            return;
        }
        self.watch
            .end_warned
            .extend(due.iter().map(|before| (end, *before)));
        let notice = Notice::ClassEndingSoon {
            seconds_left: left as u64,
            ends_at: rfc3339(end),
        };
        self.classroom.notices.post(Audience::Class, notice);
    }

    /// Warn the learners unused for the idle timeout less the margin; stop their containers at the timeout.
    fn idle_learners(&mut self) {
        let timeout = self
            .classroom
            .limits()
            .idle_timeout
            .map_or(DEFAULT_IDLE, Duration::from_secs);
        let warn_at = timeout - idle_margin(timeout);
        for (name, token) in self.learners() {
            let unused = self.sessions.unused_for(&token).unwrap_or_default();
            if unused < warn_at {
                // Used since (or never signed in): the clock starts again.
                self.watch.idle_warned.remove(&name);
                self.watch.idle_stopped.remove(&name);
                continue;
            }
            let busy = !self.running(&token).is_empty() || self.building(&token);
            if unused >= timeout {
                if self.watch.idle_stopped.insert(name.clone()) && busy {
                    tracing::info!(%name, "idle: stopping the learner's containers and RUN steps");
                    let reason = idle_reason(timeout);
                    self.stop_containers(name, token, reason, |stopped| Notice::IdleStopped { stopped });
                }
            } else if busy && self.watch.idle_warned.insert(name.clone()) {
                let notice = Notice::IdleWarning {
                    seconds_left: (timeout - unused).as_secs(),
                };
                self.classroom.notices.post(Audience::Member(name), notice);
            }
        }
    }

    /// The ids of `token`'s running containers.
    fn running(&self, token: &str) -> Vec<String> {
        match &self.runner {
            Some(runner) => runner
                .list_in(Some(token), false)
                .into_iter()
                .map(|c| c.id)
                .collect(),
            None => Vec::new(),
        }
    }

    /// Whether `token` has RUN steps in progress.
    fn building(&self, token: &str) -> bool {
        self.runner
            .as_ref()
            .is_some_and(|runner| !runner.steps_of(token).is_empty())
    }

    /// After the end: RUN steps that were asked for just before it and started since are stopped too.
    fn stop_late_steps(&self) {
        let Some(runner) = &self.runner else { return };
        for (name, token) in self.learners() {
            if runner.steps_of(&token).is_empty() {
                continue;
            }
            let runner = runner.clone();
            tokio::spawn(async move {
                let stopped = runner.stop_steps(&token, CLASS_ENDED).await;
                if stopped > 0 {
                    tracing::info!(%name, stopped, "the class ended: a late RUN step stopped");
                }
            });
        }
    }

    /// Stop `token`'s RUN steps (their builds told `reason`) and running containers in the background, then
    /// tell `name` how many containers stopped.
    fn stop_containers(&self, name: String, token: String, reason: String, notice: fn(usize) -> Notice) {
        let ids = self.running(&token);
        let (runner, classroom) = (self.runner.clone(), self.classroom.clone());
        tokio::spawn(async move {
            let mut stopped = 0;
            if let Some(runner) = &runner {
                let steps = runner.stop_steps(&token, &reason).await;
                if steps > 0 {
                    tracing::info!(%name, steps, %reason, "RUN steps stopped");
                }
            }
            for id in ids {
                let Some(runner) = &runner else { break };
                let Ok(container) = runner.get_in(Some(&token), &id) else {
                    continue;
                };
                match runner.stop(&container, Some(STOP_GRACE)).await {
                    Ok(_) => stopped += 1,
                    Err(e) => tracing::warn!(%name, %id, error = %e, "stopping a learner's container"),
                }
            }
            classroom.notices.post(Audience::Member(name), notice(stopped));
        });
    }
}

/// `POST /api/classroom/extend` (teachers): move the end `minutes` later (from now when the class has no end or
/// has ended: then learners may start containers again) and tell the class.
pub async fn extend(
    State(state): State<ClassState>,
    headers: HeaderMap,
    Json(body): Json<ExtendTime>,
) -> Response {
    let teacher = match super::notices::teacher(&state, &headers) {
        Ok(name) => name,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(classroom) = &state.classroom else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if body.minutes == 0 || body.minutes > 24 * 60 {
        let message = "extend by 1 to 1440 minutes";
        return (StatusCode::BAD_REQUEST, Json(ErrorBody::new(message))).into_response();
    }
    let now = unix_now();
    let from = classroom.ends_unix().filter(|end| *end > now).unwrap_or(now);
    let to = from + 60 * i64::from(body.minutes);
    classroom.extend_to(to);
    let ends_at = rfc3339(to);
    tracing::info!(%teacher, %ends_at, "the class's end moved");
    classroom.notices.post(
        Audience::Class,
        Notice::TimeExtended {
            ends_at: ends_at.clone(),
        },
    );
    Json(ClassEnds { ends_at }).into_response()
}

/// Whether a request starts something: a container (`create`, `start`, `unpause`, `exec`) or a RUN step.
fn starts_something(method: &Method, path: &str) -> bool {
    let container_action = path.starts_with(paths::CONTAINERS)
        && ["/start", "/unpause", "/exec", "/restart"]
            .iter()
            .any(|action| path.ends_with(action));
    method == Method::POST && (path == paths::CONTAINERS || path == paths::STEPS || container_action)
}

/// Every request: after the class's end a learner's new starts are refused (their images, containers and
/// progress stay readable).
pub async fn refuse_after_the_end(State(state): State<ClassState>, request: Request, next: Next) -> Response {
    if let Some(classroom) = &state.classroom {
        if starts_something(request.method(), request.uri().path()) {
            if let (Some(at), Principal::Learner(_)) = (classroom.ended(), state.principal(request.headers()))
            {
                let message = format!(
                    "the class ended at {at}: nothing new starts now (your images, containers and progress \
                     are kept); ask your teacher for more time"
                );
                return (StatusCode::FORBIDDEN, Json(ErrorBody::new(message))).into_response();
            }
        }
    }
    next.run(request).await
}

/// The owners' cgroup limits `limits` sets over `base` (what holds where the file says nothing).
pub fn owner_limits(limits: &ClassroomLimits, base: OwnerLimits) -> OwnerLimits {
    OwnerLimits {
        memory: limits
            .memory
            .map_or(base.memory, |m| i64::try_from(m).unwrap_or(i64::MAX).max(6 << 20)),
        pids: limits.pids.map_or(base.pids, |p| i64::from(p).max(8)),
        // One core is the default weight (100); the busy machine is shared in proportion to the weights.
        cpu_weight: limits
            .cpu
            .map_or(base.cpu_weight, |c| ((c * 100.0).round() as u64).clamp(1, 10_000)),
    }
}

/// The limits in words, for the learners.
fn limits_words(owner: OwnerLimits, containers: usize) -> String {
    format!(
        "memory {} MiB, {} processes, CPU weight {}, {containers} containers at once",
        owner.memory >> 20,
        owner.pids,
        owner.cpu_weight
    )
}

/// After a reload: when the limits changed from `before`, rewrite every learner's cgroup and the container
/// count now (nobody is dropped: a lower memory cap makes the kernel reclaim, then kill inside that learner's
/// cgroup only), the disk and registry quotas of the store (a line the file no longer has keeps the value in
/// force; bytes stored stay, a lower quota refuses the next upload) and tell the class.
pub fn apply_limits(classroom: &Classroom, runner: Option<&Runner>, before: &ClassroomLimits) {
    let after = classroom.limits();
    if &after == before {
        return;
    }
    let Some(runner) = runner else { return };
    let owner = owner_limits(&after, runner.owners.limits());
    let containers = after.containers.map_or(runner.max_per_session(), |n| n as usize);
    runner.set_max_per_session(containers);
    match runner.owners.set_limits(owner) {
        Ok(rewritten) => tracing::info!(rewritten, ?owner, containers, "SIGHUP: learners' limits applied"),
        Err(e) => tracing::warn!(error = %e, "SIGHUP: rewriting the learners' cgroups"),
    }
    let mut words = limits_words(owner, containers);
    if let Some(store) = &runner.registry {
        let (namespace, session) = store.quotas();
        let (namespace, session) = (after.registry.or(namespace), after.disk.or(session));
        store.set_quotas(namespace, session);
        tracing::info!(?namespace, ?session, "SIGHUP: registry and disk quotas applied");
        words.push_str(&quota_words(session, namespace));
    }
    let notice = Notice::LimitsChanged { limits: words };
    classroom.notices.post(Audience::Class, notice);
}

/// The disk and registry quotas in words: `, images 1024 MiB, registry 512 MiB`.
fn quota_words(disk: Option<u64>, registry: Option<u64>) -> String {
    let words = |what: &str, bytes: Option<u64>| match bytes {
        None => String::new(),
        Some(b) if b % (1 << 20) == 0 => format!(", {what} {} MiB", b >> 20),
        Some(b) => format!(", {what} {} KiB", b >> 10),
    };
    format!("{}{}", words("images", disk), words("registry", registry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_read_in_words() {
        assert_eq!(
            quota_words(Some(1 << 30), Some(512 << 20)),
            ", images 1024 MiB, registry 512 MiB"
        );
        assert_eq!(quota_words(None, Some(512 << 10)), ", registry 512 KiB");
        assert_eq!(quota_words(None, None), "");
    }

    #[test]
    fn a_stopped_step_says_why() {
        assert!(idle_reason(Duration::from_secs(7200)).starts_with("stopped after 120 minutes idle"));
        assert!(idle_reason(Duration::from_secs(8)).starts_with("stopped after 8 seconds idle"));
        assert!(CLASS_ENDED.starts_with("the class has ended"));
    }

    #[test]
    fn a_margin_is_five_minutes_or_half_a_short_timeout() {
        assert_eq!(idle_margin(Duration::from_secs(7200)), Duration::from_secs(300));
        assert_eq!(idle_margin(Duration::from_secs(6)), Duration::from_secs(3));
    }

    #[test]
    fn starts_are_the_posts_that_run_something() {
        assert!(starts_something(&Method::POST, paths::CONTAINERS));
        assert!(starts_something(&Method::POST, &paths::container_start("web")));
        assert!(starts_something(&Method::POST, paths::STEPS));
        assert!(starts_something(&Method::POST, &paths::container_exec("web")));
        assert!(!starts_something(&Method::GET, paths::CONTAINERS));
        assert!(!starts_something(&Method::POST, &paths::container_stop("web")));
        assert!(!starts_something(&Method::DELETE, &paths::container("web")));
    }

    #[test]
    fn the_files_limits_go_over_the_servers() {
        let base = OwnerLimits::default();
        let limits = ClassroomLimits {
            memory: Some(256 << 20),
            cpu: Some(0.5),
            ..ClassroomLimits::default()
        };
        let owner = owner_limits(&limits, base);
        assert_eq!(
            (owner.memory, owner.pids, owner.cpu_weight),
            (256 << 20, base.pids, 50)
        );
        assert_eq!(
            limits_words(owner, 4),
            "memory 256 MiB, 512 processes, CPU weight 50, 4 containers at once"
        );
    }

    #[tokio::test]
    async fn the_class_is_warned_once_per_threshold_and_ends_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("classroom.toml");
        std::fs::write(
            &file,
            "[class]\nends = 2030-01-01T00:00:00Z\n[learners]\ncount = 1\n",
        )
        .unwrap();
        let classroom = Arc::new(Classroom::open(&file, dir.path()).unwrap());
        let end = classroom.ends_unix().unwrap();
        let mut lifetimes = Lifetimes {
            classroom: classroom.clone(),
            sessions: Arc::default(),
            runner: None,
            watch: Watch::default(),
        };
        lifetimes.end_of_class(end - 3600);
        assert_eq!(
            classroom.notices.since("learner1", 0).next,
            0,
            "an hour before: quiet"
        );
        lifetimes.end_of_class(end - 300);
        lifetimes.end_of_class(end - 299);
        lifetimes.end_of_class(end - 100);
        let told = classroom.notices.since("learner1", 0).notices;
        let ends_at = "2030-01-01T00:00:00Z".to_string();
        assert_eq!(
            told,
            vec![
                Notice::ClassEndingSoon {
                    seconds_left: 300,
                    ends_at: ends_at.clone()
                },
                Notice::ClassEndingSoon {
                    seconds_left: 100,
                    ends_at
                }
            ]
        );
        classroom.extend_to(end + 600);
        assert_eq!(classroom.ends_unix(), Some(end + 600));
        assert_eq!(classroom.ended(), None);
    }
}
