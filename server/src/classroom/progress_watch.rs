//! The progress tracker of a class: it loads the assigned lessons, watches what learners' requests do (the
//! [`observe`] middleware: logins, pushes, failed creates), hears the runner's RUN steps end
//! ([`crate::observed`]), and every [`PASS`] judges each learner's checks from the server's own stores
//! (`progress_judge`), records first passes (`progress`) and publishes a [`ClassSnapshot`] for the dashboard.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use slipway::api::{paths, ClassSnapshot, ContainerStatus, ErrorBody, LearnerRow, Role, ONLINE_SECONDS};
use slipway::lesson::{Check, Lesson};
use tokio::sync::watch;

use super::progress::{funnel, LearnerRecord, Records};
use super::progress_judge::{gather, judge, vouchable, Facts};
use super::{ClassState, Classroom, Member, Principal};
use crate::registry::Store;
use crate::runner::Runner;

/// How often every learner's checks are judged again.
pub const PASS: Duration = Duration::from_secs(2);

/// Where the registry hands out tokens for `docker login` (the registry's own route).
const TOKEN_PATH: &str = "/token";

/// Bytes of an error answer read for its message.
const ERROR_LIMIT: usize = 16 * 1024;

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The class's progress: the lessons, the records, and the latest snapshot.
#[derive(Debug)]
pub struct Tracker {
    pub classroom: Arc<Classroom>,
    pub runner: Option<Arc<Runner>>,
    pub store: Arc<Store>,
    /// The assigned lessons the server could load: `(id, lesson)`.
    pub lessons: Vec<(String, Lesson)>,
    pub records: Records,
    last_seen: Mutex<HashMap<String, u64>>,
    /// Per learner, the containers whose run was noted, and whether their exit was.
    noted: Mutex<HashMap<String, HashMap<String, bool>>>,
    /// Per learner, their cgroup's CPU time (ns) at the previous pass.
    cpu: Mutex<HashMap<String, (u64, Instant)>>,
    snapshot: watch::Sender<Arc<ClassSnapshot>>,
}

/// The lesson `id` names: a built-in lesson's manifest in the served app (`DIST/static/lessons/ID/lesson.json`).
/// Lessons given by URL are not loaded: the server judges only lessons it serves.
pub fn load_lesson(dist: &Path, id: &str) -> Option<Lesson> {
    let plain = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !plain || id.starts_with('.') {
        tracing::warn!(
            lesson = id,
            "classroom: only built-in lesson ids are judged by the server"
        );
        return None;
    }
    let file = dist.join("static/lessons").join(id).join("lesson.json");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| tracing::warn!(file = %file.display(), error = %e, "classroom: lesson not found"))
        .ok()?;
    let lesson = Lesson::parse(&text)
        .map_err(|e| tracing::warn!(file = %file.display(), error = %e, "classroom: lesson unreadable"))
        .ok()?;
    // The page asks for its lesson's progress by the manifest's id: it must be the id the class file names.
    if lesson.id.as_deref() != Some(id) {
        tracing::warn!(
            file = %file.display(),
            manifest_id = ?lesson.id,
            lesson = id,
            "classroom: the manifest's id is not the class file's: pages will judge this lesson alone"
        );
    }
    Some(lesson)
}

impl Tracker {
    /// Load the lessons and the records, listen to the runner, and start judging every [`PASS`].
    pub fn start(
        classroom: Arc<Classroom>,
        runner: Option<Arc<Runner>>,
        store: Arc<Store>,
        dist: &Path,
    ) -> Option<Arc<Tracker>> {
        let lessons = classroom
            .info()
            .lessons
            .iter()
            .filter_map(|id| load_lesson(dist, id).map(|lesson| (id.clone(), lesson)))
            .collect();
        let records = Records::open(classroom.data_dir())
            .map_err(|e| tracing::error!(error = %e, "classroom: progress is not recorded"))
            .ok()?;
        let tracker = Arc::new(Tracker {
            classroom,
            runner,
            store,
            lessons,
            records,
            last_seen: Mutex::default(),
            noted: Mutex::default(),
            cpu: Mutex::default(),
            snapshot: watch::channel(Arc::new(ClassSnapshot::default())).0,
        });
        let hearing = Arc::downgrade(&tracker);
        crate::observed::listen(Arc::new(move |session: &str, seen| {
            if let Some(tracker) = hearing.upgrade() {
                tracker.heard(session, seen);
            }
        }));
        let judging = tracker.clone();
        tokio::spawn(async move {
            loop {
                judging.pass().await;
                tokio::time::sleep(PASS).await;
            }
        });
        Some(tracker)
    }

    /// The latest snapshot, and a receiver told of every new one.
    pub fn subscribe(&self) -> watch::Receiver<Arc<ClassSnapshot>> {
        self.snapshot.subscribe()
    }

    /// The learner whose session is `token`.
    fn learner_of(&self, token: &str) -> Option<Member> {
        let roster = self.classroom.roster();
        let member = roster.by_session_hash(&crate::sessions::token_hash(token))?;
        (member.role == Role::Learner).then(|| member.clone())
    }

    /// A RUN step of a learner's build ended.
    fn heard(&self, session: &str, seen: crate::observed::Seen) {
        let Some(member) = self.learner_of(session) else {
            return;
        };
        let crate::observed::Seen::Step {
            command,
            exit_code,
            tail,
        } = seen;
        let error = (exit_code != 0).then(|| format!("exit code {exit_code}: {tail}"));
        let line = format!("docker build (RUN {command})");
        self.records.update(&member.name, |r| {
            r.saw(&line, exit_code, now(), error);
            (true, ())
        });
    }

    /// A request of learner `name` was answered.
    fn seen(&self, name: &str) {
        let at = now();
        self.last_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), at);
        self.records.update(name, |r| {
            let first = r.first_seen.is_none();
            r.first_seen.get_or_insert(at);
            (first, ())
        });
    }

    /// Judge every learner, record first passes, publish the snapshot, write the records when they changed.
    pub async fn pass(self: &Arc<Self>) {
        let roster = self.classroom.roster();
        let learners: Vec<Member> = roster
            .members()
            .iter()
            .filter(|m| m.role == Role::Learner)
            .cloned()
            .collect();
        let mut rows = Vec::new();
        let mut records = Vec::new();
        for member in &learners {
            let (row, record) = self.judge_learner(member).await;
            rows.push(row);
            records.push(record);
        }
        let funnels = self
            .lessons
            .iter()
            .map(|(id, lesson)| funnel(id, lesson, &records))
            .collect();
        let snapshot = ClassSnapshot {
            taken_at: now(),
            learners: rows,
            funnels,
            ends_at: self.classroom.ends_unix().map(super::lifetimes::rfc3339),
        };
        self.snapshot.send_if_modified(|old| {
            let changed = old.learners != snapshot.learners
                || old.funnels != snapshot.funnels
                || old.ends_at != snapshot.ends_at;
            *old = Arc::new(snapshot);
            changed
        });
        let this = self.clone();
        let saved = tokio::task::spawn_blocking(move || this.records.save()).await;
        if let Ok(Err(e)) = saved {
            tracing::error!(error = %e, "classroom: progress not written");
        }
    }

    /// The checks of every lesson for `member`, personalized: `(lesson index, step index, check)`.
    fn checks_of(&self, member: &Member) -> Vec<(usize, usize, Check)> {
        let mut checks = Vec::new();
        for (l, (_, lesson)) in self.lessons.iter().enumerate() {
            for (s, step) in lesson.steps.iter().enumerate() {
                if let Some(check) = &step.check {
                    checks.push((l, s, check.personalized(&member.name)));
                }
            }
        }
        checks
    }

    /// One learner's row, after judging their checks and recording what passed.
    async fn judge_learner(self: &Arc<Self>, member: &Member) -> (LearnerRow, LearnerRecord) {
        let token = self.classroom.session_token(member);
        // A step that passed stays passed: only the others are judged again (no app is asked twice).
        let before = self.records.get(&member.name);
        let done = |l: usize, s: usize| {
            before
                .passed
                .get(&self.lessons[l].0)
                .is_some_and(|p| p.contains_key(&s))
        };
        let checks: Vec<_> = self
            .checks_of(member)
            .into_iter()
            .filter(|(l, s, _)| !done(*l, *s))
            .collect();
        let facts = self.facts(&token, &checks, &member.name).await;
        let mut newly = Vec::new();
        for (l, s, check) in &checks {
            if let Some(verdict) = judge(check, &facts, self.runner.as_ref(), &token).await {
                if verdict.passed {
                    newly.push((self.lessons[*l].0.clone(), *s));
                }
            }
        }
        let at = now();
        let record = self.records.update(&member.name, |r| {
            let mut changed = false;
            for (lesson, step) in newly {
                let marks = r.passed.entry(lesson).or_default();
                if let std::collections::btree_map::Entry::Vacant(mark) = marks.entry(step) {
                    mark.insert(at);
                    changed = true;
                }
            }
            (changed, r.clone())
        });
        let row = self.row(member, &token, &facts, &record);
        (row, record)
    }

    /// What the server holds for the learner, after noting the containers they ran.
    async fn facts(&self, token: &str, checks: &[(usize, usize, Check)], name: &str) -> Facts {
        let (store, runner) = (self.store.clone(), self.runner.clone());
        let (token_owned, plain) = (
            token.to_string(),
            checks.iter().map(|(_, _, c)| c.clone()).collect::<Vec<_>>(),
        );
        let mut facts = tokio::task::spawn_blocking(move || {
            gather(&store, runner.as_deref(), &token_owned, &plain, Vec::new())
        })
        .await
        .unwrap_or_else(|_| Facts {
            images: Err("the store could not be read".into()),
            containers: Vec::new(),
            tags: HashMap::new(),
            disk_bytes: 0,
            commands: Vec::new(),
        });
        self.note_runs(name, &facts);
        facts.commands = self.records.get(name).commands;
        facts
    }

    /// The learner's containers as `docker run` commands the server saw: started (0) and, once exited, with
    /// their exit code (a non-zero one is the last error).
    fn note_runs(&self, name: &str, facts: &Facts) {
        let mut noted = self.noted.lock().unwrap_or_else(|e| e.into_inner());
        let mine = noted.entry(name.to_string()).or_default();
        let mut runs = Vec::new();
        for c in &facts.containers {
            let exited = c.status == ContainerStatus::Exited;
            match mine.get(&c.id) {
                Some(true) => continue,
                Some(false) if !exited => continue,
                None if !exited => runs.push((c.image.clone(), 0, None)),
                _ => {
                    let code = c.exit_code.unwrap_or(0);
                    let error = (code != 0).then(|| format!("the container exited with code {code}"));
                    runs.push((c.image.clone(), code, error));
                }
            }
            mine.insert(c.id.clone(), exited);
        }
        let live: HashSet<&String> = facts.containers.iter().map(|c| &c.id).collect();
        mine.retain(|id, _| live.contains(id));
        drop(noted);
        if runs.is_empty() {
            return;
        }
        self.records.update(name, |r| {
            for (image, code, error) in runs {
                r.saw(&format!("docker run {image}"), code, now(), error);
            }
            (true, ())
        });
    }

    /// The dashboard's row of `member`.
    fn row(&self, member: &Member, token: &str, facts: &Facts, record: &LearnerRecord) -> LearnerRow {
        let last_seen = self
            .last_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&member.name)
            .copied();
        let lessons = self
            .lessons
            .iter()
            .map(|(id, lesson)| {
                let vouched: Vec<bool> = lesson
                    .steps
                    .iter()
                    .map(|s| s.check.as_ref().is_some_and(vouchable))
                    .collect();
                record.progress(id, &vouched)
            })
            .collect();
        let (memory_bytes, cpu_percent) = self.usage(token);
        LearnerRow {
            name: member.name.clone(),
            online: last_seen.is_some_and(|at| now().saturating_sub(at) < ONLINE_SECONDS),
            last_seen,
            lessons,
            last_error: record.last_error.clone(),
            running_containers: facts
                .containers
                .iter()
                .filter(|c| c.status == ContainerStatus::Running)
                .count(),
            memory_bytes,
            cpu_percent,
            disk_bytes: facts.disk_bytes,
        }
    }

    /// Memory now and CPU since the last pass of the learner's cgroup (`token`'s owner cgroup), when it exists.
    fn usage(&self, token: &str) -> (Option<u64>, Option<f64>) {
        let Some(runner) = &self.runner else {
            return (None, None);
        };
        let owner = runner.owners.name_of(crate::runner::cgroups::owner_key(token));
        let dirs: Vec<_> = runner
            .owners
            .present()
            .into_iter()
            .filter(|d| d.file_name().is_some_and(|n| n.to_string_lossy() == owner))
            .collect();
        let read = |file: &str| {
            dirs.iter()
                .find_map(|d| std::fs::read_to_string(d.join(file)).ok())
        };
        let memory = read("memory.current")
            .or_else(|| read("memory.usage_in_bytes"))
            .and_then(|t| t.trim().parse().ok());
        let cpu_ns = read("cpuacct.usage")
            .and_then(|t| t.trim().parse::<u64>().ok())
            .or_else(|| {
                let stat = read("cpu.stat")?;
                let usec = stat.lines().find_map(|l| l.strip_prefix("usage_usec "))?;
                usec.trim().parse::<u64>().ok().map(|u| u * 1000)
            });
        let Some(cpu_ns) = cpu_ns else {
            return (memory, None);
        };
        let mut cpu = self.cpu.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let percent = cpu.insert(owner, (cpu_ns, now)).map(|(before, then)| {
            let wall = now.duration_since(then).as_nanos().max(1) as f64;
            (cpu_ns.saturating_sub(before) as f64 / wall * 1000.0).round() / 10.0
        });
        (memory, percent)
    }
}

/// A learner's request, in docker's words, when it is one the server vouches for: `(command, success only)`
/// (`success only`: a success is counted elsewhere, the periodic pass, and only a failure is noted here).
fn command_of(method: &Method, path: &str, basic: bool) -> Option<(String, bool)> {
    if *method == Method::POST && path == paths::CONTAINERS {
        return Some(("docker run".into(), true));
    }
    if basic && *method == Method::GET && (path == TOKEN_PATH || path == "/v2/") {
        return Some(("docker login".into(), false));
    }
    let rest = path.strip_prefix("/v2/")?;
    if crate::registry::local::is_reserved(rest.split('/').next().unwrap_or_default()) {
        return None;
    }
    if *method == Method::PUT {
        if let Some((name, tag)) = rest.split_once("/manifests/") {
            return Some((format!("docker push {name}:{tag}"), false));
        }
    }
    if matches!(*method, Method::POST | Method::PATCH | Method::PUT) {
        let name = rest.split("/blobs/").next().unwrap_or(rest);
        return Some((format!("docker push {name}"), true));
    }
    None
}

/// The user name of `Authorization: Basic ...`.
fn basic_user(request: &Request) -> Option<String> {
    use base64::Engine;
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.0.to_string())
}

/// Every request: a learner's is noted as seen (online), and the commands the server vouches for are noted
/// with their outcome (a failure's message becomes the learner's last error).
pub async fn observe(State(state): State<ClassState>, request: Request, next: Next) -> Response {
    let Some(tracker) = state.progress.clone() else {
        return next.run(request).await;
    };
    let user = basic_user(&request);
    let name = match state.principal(request.headers()) {
        Principal::Learner(name) => Some(name),
        _ => None,
    };
    let command = command_of(request.method(), request.uri().path(), user.is_some());
    let response = next.run(request).await;
    let status = response.status();
    // A login without the session header: the name it proved (only a success names anyone for sure).
    let login = command.as_ref().is_some_and(|(c, _)| c == "docker login") && status.is_success();
    let learner = name.or_else(|| user.filter(|_| login)).filter(|n| {
        tracker
            .classroom
            .roster()
            .by_name(n)
            .is_some_and(|m| m.role == Role::Learner)
    });
    let Some(learner) = learner else {
        return response;
    };
    tracker.seen(&learner);
    let Some((command, failures_only)) = command else {
        return response;
    };
    // A registry's 401 is its challenge (the client comes back with a token), not a failed push.
    let challenge = status == axum::http::StatusCode::UNAUTHORIZED && command.starts_with("docker push");
    if status.is_success() || challenge {
        if !failures_only && !challenge {
            tracker.records.update(&learner, |r| {
                r.saw(&command, 0, now(), None);
                (true, ())
            });
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, ERROR_LIMIT).await.unwrap_or_default();
    let message = error_message(&bytes, status.as_u16());
    tracker.records.update(&learner, |r| {
        r.saw(&command, 1, now(), Some(message));
        (true, ())
    });
    Response::from_parts(parts, Body::from(bytes))
}

/// The message of an error answer: the companion's [`ErrorBody`], the registry's `errors[0].message`, or its
/// status.
fn error_message(body: &[u8], status: u16) -> String {
    let registry = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["errors"][0]["message"].as_str().map(str::to_string));
    let message = registry.unwrap_or_else(|| ErrorBody::message_of(body));
    if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_the_docker_commands_the_server_vouches_for() {
        let of = |m: Method, p: &str, basic: bool| command_of(&m, p, basic);
        assert_eq!(
            of(Method::GET, paths::IMAGES, false),
            None,
            "the page lists images by itself too"
        );
        assert_eq!(
            of(Method::GET, TOKEN_PATH, true),
            Some(("docker login".into(), false))
        );
        assert_eq!(of(Method::GET, TOKEN_PATH, false), None);
        assert_eq!(
            of(Method::PUT, "/v2/learner1/app/manifests/v1", false),
            Some(("docker push learner1/app:v1".into(), false))
        );
        assert_eq!(
            of(Method::POST, "/v2/learner1/app/blobs/uploads/", false),
            Some(("docker push learner1/app".into(), true))
        );
        // The session's local store is the build's and the page's, not a push.
        assert_eq!(
            of(
                Method::PUT,
                "/v2/slipway-local/k/learner1/app/manifests/v1",
                false
            ),
            None
        );
        assert_eq!(of(Method::GET, "/v2/learner1/app/tags/list", false), None);
    }

    #[test]
    fn error_messages_come_from_either_error_shape() {
        let registry = br#"{"errors":[{"code":"DENIED","message":"push to learner2 denied"}]}"#;
        assert_eq!(error_message(registry, 403), "HTTP 403: push to learner2 denied");
        assert_eq!(
            error_message(br#"{"message":"no such image"}"#, 404),
            "HTTP 404: no such image"
        );
        assert_eq!(error_message(b"", 500), "HTTP 500");
    }
}
