//! Classroom mode (`slipway serve --classroom FILE`, issue 15): the teachers and learners of one class sign in
//! with a join code ([`paths::CLASSROOM_JOIN`]) instead of getting an anonymous session; each learner is one
//! identity across browsers (their session is derived from who they are: [`roster::session_token`]); their
//! registry namespace is their name (the registry accepts their name and code at `docker login`); SIGHUP
//! re-reads the file ([`Classroom::reload`]). `docs/classroom.md` is the teacher's guide.

pub mod capacity;
pub mod cards;
pub mod config;
pub mod dashboard;
pub mod dashboard_csv;
pub mod lifetimes;
pub mod notices;
pub mod progress;
pub mod progress_judge;
pub mod progress_watch;
pub mod roster;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use slipway::api::{paths, ClassroomInfo, ErrorBody, JoinRequest, Role, SignedIn};

pub use config::{ClassroomConfig, ClassroomLimits};
pub use roster::{ClassroomError, Member, Roster};

use crate::connections::ClientAddress;
use crate::sessions::{SessionError, Sessions};

/// Who is asking: the answer to "who is this" for routes that care (the teacher's page, later the dashboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No live session of a class member (also every client outside classroom mode).
    Anonymous,
    Learner(String),
    Teacher(String),
}

/// The class: its file, the data-directory file of codes and key, and the roster now in force.
pub struct Classroom {
    file: PathBuf,
    stored_file: PathBuf,
    key: Vec<u8>,
    roster: RwLock<Arc<Roster>>,
    /// What members' pages are told ([`notices`]).
    pub notices: notices::NoticeBoard,
    /// The end a teacher moved the class to ([`lifetimes::extend`]), Unix seconds: later than the file's.
    extended_to: std::sync::Mutex<Option<i64>>,
    /// The operator's `--max-containers`, which wins over the class's need ([`capacity`]).
    pub operator_max_containers: Option<usize>,
}

// By hand: the key and the codes never go to a log.
impl std::fmt::Debug for Classroom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classroom")
            .field("file", &self.file)
            .field("members", &self.roster().members().len())
            .finish()
    }
}

/// What a reload changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reloaded {
    pub members: usize,
    /// Names no longer in the file, with their session hashes (those sessions end).
    pub removed: Vec<(String, String)>,
}

impl Classroom {
    /// Read `file` and the codes kept in `data` (making codes for members without one, kept there 0600).
    pub fn open(file: &Path, data: &Path) -> Result<Classroom, ClassroomError> {
        let config = ClassroomConfig::read(file)?;
        let stored_file = roster::stored_path(data);
        std::fs::create_dir_all(data).map_err(|source| ClassroomError::State {
            path: data.display().to_string(),
            source,
        })?;
        let mut stored = roster::Stored::load(&stored_file)?;
        let roster = Roster::new(config, &mut stored);
        stored.save(&stored_file)?;
        Ok(Classroom {
            file: file.to_path_buf(),
            stored_file,
            key: stored.key_bytes(),
            roster: RwLock::new(Arc::new(roster)),
            notices: notices::NoticeBoard::default(),
            extended_to: std::sync::Mutex::default(),
            operator_max_containers: None,
        })
    }

    /// Read the file again (SIGHUP). A file that does not parse changes nothing; otherwise the new roster
    /// holds from now on, and the sessions of members it no longer names are returned to be ended. Blocking.
    pub fn reload(&self) -> Result<Reloaded, ClassroomError> {
        let config = ClassroomConfig::read(&self.file)?;
        let mut stored = roster::Stored::load(&self.stored_file)?;
        let newer = Roster::new(config, &mut stored);
        stored.save(&self.stored_file)?;
        let mut held = self.roster.write().unwrap_or_else(|e| e.into_inner());
        let removed = held.hashes_gone_from(&newer);
        let members = newer.members().len();
        *held = Arc::new(newer);
        Ok(Reloaded { members, removed })
    }

    /// The data directory the class keeps its state in (codes, progress).
    pub fn data_dir(&self) -> &Path {
        self.stored_file.parent().unwrap_or(Path::new("."))
    }

    pub fn roster(&self) -> Arc<Roster> {
        self.roster.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The session token of `member` (the same at every sign-in: see [`roster::session_token`]).
    pub fn session_token(&self, member: &Member) -> String {
        roster::session_token(&self.key, member)
    }

    /// The limits in the file now in force.
    pub fn limits(&self) -> ClassroomLimits {
        self.roster().config.limits
    }

    /// What `/api/info` says about the class.
    pub fn info(&self) -> ClassroomInfo {
        let roster = self.roster();
        ClassroomInfo {
            name: roster.config.name.clone(),
            ends_at: self.ends_unix().map(lifetimes::rfc3339),
            lessons: roster.config.lessons.clone(),
        }
    }

    /// Whether the registry login `name` / `password` is a member's: `None` when `name` is no member.
    /// Blocking for a teacher's password (argon2).
    pub fn check_login(&self, name: &str, password: &str) -> Option<bool> {
        self.roster().by_name(name).map(|member| member.proves(password))
    }

    /// Who sent a request with session `token` (a live one of [`Sessions`]).
    pub fn principal(&self, token: Option<&str>, sessions: &Sessions) -> Principal {
        let Some(token) = token.filter(|t| sessions.is_live(t)) else {
            return Principal::Anonymous;
        };
        match self.roster().by_session_hash(&crate::sessions::token_hash(token)) {
            Some(member) if member.role == Role::Teacher => Principal::Teacher(member.name.clone()),
            Some(member) => Principal::Learner(member.name.clone()),
            None => Principal::Anonymous,
        }
    }

    /// When the class ends (Unix seconds): the file's end, or the later one a teacher moved it to.
    pub fn ends_unix(&self) -> Option<i64> {
        let moved = *self.extended_to.lock().unwrap_or_else(|e| e.into_inner());
        self.roster().config.ends_unix.max(moved)
    }

    /// Move the class's end to `to` (Unix seconds).
    fn extend_to(&self, to: i64) {
        *self.extended_to.lock().unwrap_or_else(|e| e.into_inner()) = Some(to);
    }

    /// When the class ended (RFC 3339), if it has.
    fn ended(&self) -> Option<String> {
        let ends = self.ends_unix()?;
        (lifetimes::unix_now() >= ends).then(|| lifetimes::rfc3339(ends))
    }
}

/// What the classroom's routes and guard read.
#[derive(Debug, Clone)]
pub struct ClassState {
    pub classroom: Option<Arc<Classroom>>,
    pub sessions: Arc<Sessions>,
    /// The class's progress (classroom mode, once started: [`progress_watch::Tracker::start`]).
    pub progress: Option<Arc<progress_watch::Tracker>>,
}

impl ClassState {
    /// Who sent `headers` ([`Principal::Anonymous`] outside classroom mode).
    pub fn principal(&self, headers: &HeaderMap) -> Principal {
        match &self.classroom {
            Some(classroom) => classroom.principal(
                crate::registry::local::session_token(headers).as_deref(),
                &self.sessions,
            ),
            None => Principal::Anonymous,
        }
    }
}

/// Why a sign-in is refused.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("that join code is not one of this class's: check your card and type it again")]
    Wrong,
    #[error("the class ended at {0}: ask your teacher")]
    Ended(String),
    #[error(
        "this server runs a class: sign in with your join code ({})",
        paths::CLASSROOM_JOIN
    )]
    SignInFirst,
    #[error(transparent)]
    Session(#[from] SessionError),
}

impl IntoResponse for JoinError {
    fn into_response(self) -> Response {
        let status = match &self {
            JoinError::Wrong => StatusCode::UNAUTHORIZED,
            JoinError::Ended(_) | JoinError::SignInFirst => StatusCode::FORBIDDEN,
            JoinError::Session(e) => return e.clone().into_response(),
        };
        (status, Json(ErrorBody::new(self.to_string()))).into_response()
    }
}

/// `POST /api/classroom/join`: every attempt, right or wrong, spends one of the address's session issuances;
/// a right code gets the member's session (the same at every sign-in), written to disk before the answer.
pub async fn join(
    State(state): State<ClassState>,
    ClientAddress(address): ClientAddress,
    Json(request): Json<JoinRequest>,
) -> Result<Json<SignedIn>, JoinError> {
    let classroom = state.classroom.clone().ok_or(JoinError::Wrong)?;
    state.sessions.spend(address)?;
    let member = find_member(&classroom, request).await.ok_or(JoinError::Wrong)?;
    if let Some(at) = classroom.ended().filter(|_| member.role == Role::Learner) {
        return Err(JoinError::Ended(at));
    }
    let token = classroom.session_token(&member);
    state.sessions.admit_member(&token)?;
    state.sessions.persist_issued().await;
    tracing::info!(name = %member.name, role = ?member.role, client = ?address.map(|a| a.to_string()), "signed in");
    let limits = state.sessions.limits();
    Ok(Json(SignedIn {
        token,
        name: member.name,
        role: member.role,
        idle_seconds: limits.idle.as_secs(),
        max_age_seconds: limits.max_age.as_secs(),
    }))
}

/// The member a sign-in names: by code, or by name and code or password (argon2, off the async workers).
async fn find_member(classroom: &Classroom, request: JoinRequest) -> Option<Member> {
    let roster = classroom.roster();
    match request.name {
        None => roster.by_code(&request.code).cloned(),
        Some(name) => {
            let member = roster.by_name(&name)?.clone();
            let checked = member.clone();
            let right = tokio::task::spawn_blocking(move || checked.proves(&request.code))
                .await
                .unwrap_or(false);
            right.then_some(member)
        }
    }
}

/// `POST /api/sessions` in classroom mode: refused (learners sign in).
pub async fn refuse_anonymous_sessions() -> JoinError {
    JoinError::SignInFirst
}

/// Every request: the teacher's page ([`paths::TEACHER`] and below) answers 403 to a request carrying a
/// session that is not a teacher's (a learner's page). A browser opening the page sends no session: it gets the
/// app, whose dashboard asks a teacher to sign in; the class's data is behind the teacher's API
/// (`dashboard.rs`), which answers 403 to anyone but a teacher.
pub async fn teacher_only(State(state): State<ClassState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let teachers = path == paths::TEACHER || path.starts_with(&format!("{}/", paths::TEACHER));
    let with_session = crate::registry::local::session_token(request.headers()).is_some();
    if teachers && with_session && !matches!(state.principal(request.headers()), Principal::Teacher(_)) {
        let message = "the teacher's page is for the class's teachers: sign in with a teacher's code";
        return (StatusCode::FORBIDDEN, Json(ErrorBody::new(message))).into_response();
    }
    next.run(request).await
}

/// The routes of classroom mode: the sign-in, the refusal of anonymous sessions, the notices, and the teacher's
/// API (progress, actions, broadcast and extend-time).
pub fn router(state: ClassState) -> axum::Router {
    axum::Router::new()
        .route(paths::CLASSROOM_JOIN, axum::routing::post(join))
        .route(paths::SESSIONS, axum::routing::post(refuse_anonymous_sessions))
        .route(paths::CLASSROOM_NOTICES, axum::routing::get(notices::notices))
        .route(
            paths::CLASSROOM_BROADCAST,
            axum::routing::post(notices::broadcast),
        )
        .route(paths::CLASSROOM_EXTEND, axum::routing::post(lifetimes::extend))
        .with_state(state.clone())
        .merge(dashboard::router(state))
}

/// On SIGHUP: read the file again; end the sessions of members it dropped; apply changed limits to the running
/// learners ([`lifetimes::apply_limits`]); a file that does not parse is logged and the class goes on as it was.
pub fn spawn_reloader(
    classroom: Arc<Classroom>,
    sessions: Arc<Sessions>,
    runner: Option<Arc<crate::runner::Runner>>,
    mut hangup: tokio::signal::unix::Signal,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let reading = classroom.clone();
            let before = classroom.limits();
            match tokio::task::spawn_blocking(move || reading.reload()).await {
                Ok(Ok(reloaded)) => {
                    lifetimes::apply_limits(&classroom, runner.as_deref(), &before);
                    if let Some(runner) = runner.as_deref() {
                        capacity::resize(&classroom, runner);
                    }
                    let hashes: Vec<String> = reloaded.removed.iter().map(|(_, h)| h.clone()).collect();
                    sessions.end(&hashes);
                    let removed: Vec<&str> = reloaded.removed.iter().map(|(n, _)| n.as_str()).collect();
                    tracing::info!(
                        members = reloaded.members,
                        ?removed,
                        "SIGHUP: classroom file applied"
                    );
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "SIGHUP: classroom file refused, the class goes on as it was")
                }
                Err(e) => tracing::error!(error = %e, "SIGHUP: the reload panicked"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_teacher_with_a_password_signs_in_by_name_and_learners_not_after_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("classroom.toml");
        let hash = crate::registry::auth::hash_password("chalk and talk").unwrap();
        let text = format!(
            "[class]\nends = 2000-01-01T00:00:00Z\n[[teachers]]\nname = \"ada\"\npassword_hash = \"{hash}\"\n\
             [learners]\ncount = 1\n"
        );
        std::fs::write(&file, text).unwrap();
        let classroom = Classroom::open(&file, dir.path()).unwrap();
        let by_name = |name: &str, code: &str| JoinRequest {
            code: code.into(),
            name: Some(name.into()),
        };
        let ada = find_member(&classroom, by_name("ada", "chalk and talk"))
            .await
            .unwrap();
        assert_eq!((ada.name.as_str(), ada.role), ("ada", Role::Teacher));
        assert!(find_member(&classroom, by_name("ada", "wrong")).await.is_none());
        let password_alone = JoinRequest {
            code: "chalk and talk".into(),
            name: None,
        };
        assert!(find_member(&classroom, password_alone).await.is_none());
        assert_eq!(classroom.check_login("ada", "chalk and talk"), Some(true));
        // The class ended in 2000: a learner's sign-in is refused (a teacher's is not).
        assert_eq!(classroom.ended().as_deref(), Some("2000-01-01T00:00:00Z"));
    }

    #[test]
    fn principals_come_from_live_member_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("classroom.toml");
        std::fs::write(&file, "[[teachers]]\nname = \"ada\"\n[learners]\ncount = 2\n").unwrap();
        let classroom = Classroom::open(&file, dir.path()).unwrap();
        let sessions = Sessions::default();
        let roster = classroom.roster();
        let learner = roster.by_name("learner2").unwrap();
        let token = classroom.session_token(learner);
        assert_eq!(
            classroom.principal(Some(&token), &sessions),
            Principal::Anonymous,
            "not signed in"
        );
        sessions.admit_member(&token).unwrap();
        assert_eq!(
            classroom.principal(Some(&token), &sessions),
            Principal::Learner("learner2".into())
        );
        let teacher = classroom.session_token(roster.by_name("ada").unwrap());
        sessions.admit_member(&teacher).unwrap();
        assert_eq!(
            classroom.principal(Some(&teacher), &sessions),
            Principal::Teacher("ada".into())
        );
        let stranger = sessions.issue(None).unwrap();
        assert_eq!(
            classroom.principal(Some(&stranger), &sessions),
            Principal::Anonymous
        );
        assert_eq!(classroom.principal(None, &sessions), Principal::Anonymous);

        // learner2 leaves the file: the reload names their session; a broken file changes nothing.
        std::fs::write(&file, "[[teachers]]\nname = \"ada\"\n[learners]\ncount = 1\n").unwrap();
        let reloaded = classroom.reload().unwrap();
        assert_eq!(reloaded.members, 2);
        assert_eq!(
            reloaded.removed,
            vec![("learner2".to_string(), crate::sessions::token_hash(&token))]
        );
        std::fs::write(&file, "[learners\ncount = 1\n").unwrap();
        assert!(classroom.reload().is_err());
        assert!(classroom.roster().by_name("ada").is_some());
        assert_eq!(classroom.check_login("learner1", "wrong"), Some(false));
        let code = classroom.roster().by_name("learner1").unwrap().code().unwrap();
        assert_eq!(classroom.check_login("learner1", &code), Some(true));
        assert_eq!(classroom.check_login("nobody", &code), None);
    }
}
