//! `docker login` for the registry: Docker's token flow. A request without a good token gets
//! `401` + `WWW-Authenticate: Bearer realm=".../token",service=...,scope=...`; the client trades Basic
//! credentials (or none, for anonymous pull) at `/token` for a short-lived token scoped to repositories and
//! actions. Users come from a file of `name:<argon2 PHC hash>` lines; a user pushes only to its own namespace.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::login_limit::{LoginLimiter, LoginLimits, TooManyLogins};

pub const SERVICE: &str = "slipway";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read users file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("users file {path}, line {line}: {why}")]
    Parse { path: String, line: usize, why: String },
    #[error("cannot hash password: {0}")]
    Hash(String),
}

/// Hash a password as an argon2id PHC string (`$argon2id$v=19$...`), with a random salt.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Why a login is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefused {
    #[error("{0}")]
    Wrong(String),
    #[error(transparent)]
    TooMany(#[from] TooManyLogins),
}

/// argon2 block buffers kept between checks, at most one per parallel check. A check needs ~19 MiB of blocks;
/// allocated per check, that memory stayed behind in the malloc arena of every blocking thread that ever ran one
/// (a login storm grew the server by hundreds of MiB). Kept here, all checks together hold at most
/// `PARALLEL_PASSWORD_CHECKS` buffers.
static BLOCK_BUFFERS: std::sync::Mutex<Vec<Vec<Block>>> = std::sync::Mutex::new(Vec::new());

/// Whether `password` matches the argon2 PHC string `phc`: what `Argon2::verify_password` decides (the
/// algorithm, version, parameters and salt the string names; a constant-time comparison of the output), with the
/// block memory taken from [`BLOCK_BUFFERS`] instead of allocated.
pub(crate) fn verify_password(phc: &str, password: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (Params::try_from(&hash), Algorithm::try_from(hash.algorithm)) else {
        return false;
    };
    let Ok(version) = hash.version.map(Version::try_from).transpose() else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let mut blocks = lock_buffers().pop().unwrap_or_default();
    blocks.resize(params.block_count(), Block::new());
    let hashed = Argon2::new(algorithm, version.unwrap_or_default(), params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out,
        &mut blocks,
    );
    let mut kept = lock_buffers();
    if kept.len() < PARALLEL_PASSWORD_CHECKS {
        kept.push(blocks);
    }
    drop(kept);
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|computed| computed == expected)
}

fn lock_buffers() -> std::sync::MutexGuard<'static, Vec<Vec<Block>>> {
    BLOCK_BUFFERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a token or a credential allows on one repository (or `*` for the catalog).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Access {
    /// `repository:learner1/app:pull,push` → Access; `None` for what cannot be parsed.
    pub fn parse_scope(scope: &str) -> Option<Access> {
        let (kind, rest) = scope.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        Some(Access {
            kind: kind.to_string(),
            name: name.to_string(),
            actions: actions.split(',').map(str::to_string).collect(),
        })
    }

    pub fn scope(&self) -> String {
        format!("{}:{}:{}", self.kind, self.name, self.actions.join(","))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    /// The user, or `None` for an anonymous token.
    sub: Option<String>,
    access: Vec<Access>,
    exp: u64,
}

/// Users besides the users file's (classroom members, `crate::classroom`): `Some(right)` when `name` is one.
pub type MemberCheck = Box<dyn Fn(&str, &str) -> Option<bool> + Send + Sync>;

/// Who is asking, once credentials are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    User(String),
}

/// The registry's auth settings: users, whether anonymous pull is allowed, and the token signing key.
pub struct Auth {
    users: HashMap<String, String>,
    pub anonymous_pull: bool,
    secret: Vec<u8>,
    pub token_seconds: u64,
    /// Turns for argon2 checks: each takes tens of milliseconds and ~19 MiB, so a flood of logins queues here
    /// instead of taking every blocking thread and the memory with it.
    password_checks: tokio::sync::Semaphore,
    /// Failed logins per user name and client address: past the limit, 429 without a check.
    logins: LoginLimiter,
    /// An argon2 hash of a random password, checked for user names that do not exist: a wrong name takes the
    /// same work as a wrong password, so answers do not tell which names exist.
    unknown_user_hash: String,
    /// argon2 verifications run so far (known and unknown users alike).
    password_verifications: AtomicU64,
    /// Classroom members, who log in with their name and join code ([`Auth::with_members`]).
    members: std::sync::OnceLock<MemberCheck>,
}

/// How many password checks run at once.
const PARALLEL_PASSWORD_CHECKS: usize = 2;

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("users", &self.users.len())
            .field("anonymous_pull", &self.anonymous_pull)
            .finish()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Auth {
    /// Read `name:<argon2 hash>` lines (blank lines and `#` comments allowed).
    pub fn from_users_file(path: &Path, anonymous_pull: bool) -> Result<Auth, AuthError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AuthError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut users = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parse_error = |why: &str| AuthError::Parse {
                path: shown.clone(),
                line: index + 1,
                why: why.to_string(),
            };
            let (name, hash) = line
                .split_once(':')
                .ok_or_else(|| parse_error("expected name:hash"))?;
            if PasswordHash::new(hash).is_err() {
                return Err(parse_error(
                    "the hash is not a PHC string: make one with `slipway hash-password`",
                ));
            }
            if super::names::RepoName::parse(name).is_err() || name.contains('/') {
                return Err(parse_error(
                    "a user name must be a valid repository name component (lowercase)",
                ));
            }
            users.insert(name.to_string(), hash.to_string());
        }
        Auth::with_users(users, anonymous_pull)
    }

    /// No users but the members [`Auth::with_members`] adds (a class without `--users`).
    pub fn without_users(anonymous_pull: bool) -> Result<Auth, AuthError> {
        Auth::with_users(HashMap::new(), anonymous_pull)
    }

    fn with_users(users: HashMap<String, String>, anonymous_pull: bool) -> Result<Auth, AuthError> {
        let secret = uuid::Uuid::new_v4()
            .as_bytes()
            .iter()
            .chain(uuid::Uuid::new_v4().as_bytes())
            .copied()
            .collect();
        Ok(Auth {
            users,
            anonymous_pull,
            secret,
            token_seconds: 300,
            password_checks: tokio::sync::Semaphore::new(PARALLEL_PASSWORD_CHECKS),
            logins: LoginLimiter::new(LoginLimits::default()),
            unknown_user_hash: hash_password(&uuid::Uuid::new_v4().to_string())?,
            password_verifications: AtomicU64::new(0),
            members: std::sync::OnceLock::new(),
        })
    }

    /// Also accept the users `check` knows (classroom members, their join code as password); they win over a
    /// users-file line of the same name. Set once.
    pub fn with_members(self, check: MemberCheck) -> Auth {
        let _ = self.members.set(check);
        self
    }

    /// Limit failed logins as `limits` say (instead of [`LoginLimits::default`]).
    pub fn with_login_limits(mut self, limits: LoginLimits) -> Auth {
        self.logins = LoginLimiter::new(limits);
        self
    }

    /// How many argon2 verifications have run.
    pub fn password_verifications(&self) -> u64 {
        self.password_verifications.load(Ordering::Relaxed)
    }

    /// Check `Authorization: Basic ...`; `Err` carries why it is refused.
    pub fn check_basic(&self, header: &str) -> Result<Identity, String> {
        let (user, password) = basic_credentials(header)?;
        if let Some(right) = self.members.get().and_then(|check| check(&user, &password)) {
            // A join code is checked by its hash in no time: the stand-in argon2 check keeps a member's answer as
            // slow as a user's, so timing tells no names.
            self.password_verifications.fetch_add(1, Ordering::Relaxed);
            let _ = verify_password(&self.unknown_user_hash, &password);
            return if right {
                Ok(Identity::User(user))
            } else {
                Err(format!("wrong user name or password for {user:?}"))
            };
        }
        let known = self.users.get(&user);
        self.password_verifications.fetch_add(1, Ordering::Relaxed);
        let right = verify_password(known.unwrap_or(&self.unknown_user_hash), &password);
        if right && known.is_some() {
            Ok(Identity::User(user))
        } else {
            Err(format!("wrong user name or password for {user:?}"))
        }
    }

    /// The actions `identity` may have on `access`: pull for users (and anonymous when allowed), push and
    /// delete only in the user's own namespace.
    pub fn grant(&self, identity: &Identity, requested: &Access) -> Access {
        let may_pull = matches!(identity, Identity::User(_)) || self.anonymous_pull;
        let owns = match identity {
            Identity::User(user) => {
                requested.kind == "repository" && requested.name.split('/').next() == Some(user.as_str())
            }
            Identity::Anonymous => false,
        };
        let actions = requested
            .actions
            .iter()
            .filter(|action| match action.as_str() {
                "pull" => may_pull,
                "push" | "delete" => owns,
                "*" => requested.kind == "registry" && may_pull,
                _ => false,
            })
            .cloned()
            .collect();
        Access {
            kind: requested.kind.clone(),
            name: requested.name.clone(),
            actions,
        }
    }

    /// Sign a token for `identity` with the granted access.
    pub fn issue(&self, identity: &Identity, access: Vec<Access>) -> (String, u64) {
        let claims = Claims {
            sub: match identity {
                Identity::User(user) => Some(user.clone()),
                Identity::Anonymous => None,
            },
            access,
            exp: now() + self.token_seconds,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialize"));
        let signature = URL_SAFE_NO_PAD.encode(self.sign(payload.as_bytes()));
        (format!("{payload}.{signature}"), self.token_seconds)
    }

    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }

    /// Verify a bearer token; `Err` says why it is refused.
    fn verify_token(&self, token: &str) -> Result<Claims, String> {
        let (payload, signature) = token.split_once('.').ok_or("malformed token")?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| "malformed token")?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| "token not issued by this registry (or it restarted)")?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or("malformed token")?;
        if claims.exp < now() {
            return Err("token expired".into());
        }
        Ok(claims)
    }

    /// [`Auth::check_basic`] for async callers, from the client at `client` (when it came through a socket):
    /// past the login limits the answer is [`LoginRefused::TooMany`] without a check; otherwise the slow argon2
    /// check runs on the blocking pool, never on an async worker, and at most [`PARALLEL_PASSWORD_CHECKS`] at
    /// once.
    pub async fn check_basic_off_workers(
        self: &Arc<Self>,
        header: &str,
        client: Option<IpAddr>,
    ) -> Result<Identity, LoginRefused> {
        let (user, _) = basic_credentials(header).map_err(LoginRefused::Wrong)?;
        // Taken before queueing for a check: a burst of guesses is refused while the first ones still wait.
        let attempt = self.logins.attempt(&user, client)?;
        let _turn = self
            .password_checks
            .acquire()
            .await
            .map_err(|_| LoginRefused::Wrong("the server is shutting down".to_string()))?;
        let (auth, header) = (self.clone(), header.to_string());
        let checked = tokio::task::spawn_blocking(move || auth.check_basic(&header))
            .await
            .map_err(|e| LoginRefused::Wrong(format!("password check failed: {e}")))?;
        if checked.is_ok() {
            self.logins.succeeded(attempt);
        }
        checked.map_err(LoginRefused::Wrong)
    }

    /// [`Auth::authorize`] for async callers: Basic credentials are checked as [`Auth::check_basic_off_workers`]
    /// does; a Bearer token (an HMAC) is checked inline.
    pub async fn authorize_off_workers(
        self: &Arc<Self>,
        authorization: Option<&str>,
        needed: Option<&Access>,
        client: Option<IpAddr>,
    ) -> Decision {
        match authorization {
            Some(header) if header.starts_with("Basic ") => {
                match self.check_basic_off_workers(header, client).await {
                    Ok(identity) => {
                        let granted = needed.map(|n| vec![self.grant(&identity, n)]).unwrap_or_default();
                        self.decide(identity, granted, needed)
                    }
                    Err(LoginRefused::Wrong(why)) => Decision::Unauthenticated(why),
                    Err(LoginRefused::TooMany(refused)) => Decision::TooManyLogins(refused),
                }
            }
            _ => self.authorize(authorization, needed),
        }
    }

    /// Decide a registry request: `needed` is `None` for the base endpoint (any valid credential will do).
    pub fn authorize(&self, authorization: Option<&str>, needed: Option<&Access>) -> Decision {
        let (identity, granted): (Identity, Vec<Access>) = match authorization {
            Some(header) if header.starts_with("Bearer ") => {
                match self.verify_token(header["Bearer ".len()..].trim()) {
                    Ok(claims) => {
                        let identity = claims.sub.map(Identity::User).unwrap_or(Identity::Anonymous);
                        (identity, claims.access)
                    }
                    Err(why) => return Decision::Unauthenticated(why),
                }
            }
            Some(header) if header.starts_with("Basic ") => match self.check_basic(header) {
                Ok(identity) => {
                    let granted = needed.map(|n| vec![self.grant(&identity, n)]).unwrap_or_default();
                    (identity, granted)
                }
                Err(why) => return Decision::Unauthenticated(why),
            },
            _ => return Decision::Unauthenticated("authentication required".into()),
        };
        self.decide(identity, granted, needed)
    }

    /// Whether `identity`, holding `granted`, may do what `needed` asks.
    fn decide(&self, identity: Identity, granted: Vec<Access>, needed: Option<&Access>) -> Decision {
        let Some(needed) = needed else {
            return Decision::Allowed;
        };
        let has = |action: &String| {
            granted
                .iter()
                .any(|g| g.kind == needed.kind && g.name == needed.name && g.actions.contains(action))
        };
        if needed.actions.iter().all(has) {
            return Decision::Allowed;
        }
        let who = match &identity {
            Identity::User(user) => format!("user {user:?}"),
            Identity::Anonymous => "an anonymous client".to_string(),
        };
        let missing: Vec<&str> = needed
            .actions
            .iter()
            .filter(|a| !has(a))
            .map(String::as_str)
            .collect();
        let why = match &identity {
            Identity::User(user) if missing.contains(&"push") || missing.contains(&"delete") => format!(
                "{who} may not {} {}: a user pushes only to its own namespace ({user}/...)",
                missing.join(","),
                needed.name
            ),
            _ => format!("{who} may not {} {}", missing.join(","), needed.name),
        };
        match identity {
            Identity::Anonymous => Decision::Unauthenticated(why),
            Identity::User(_) => Decision::Denied(why),
        }
    }
}

/// The outcome of [`Auth::authorize`].
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// 401 with a challenge: no, bad or insufficient anonymous credentials.
    Unauthenticated(String),
    /// 403: a known user asking for what it may not do.
    Denied(String),
    /// 429: too many failed logins for this user name or from this address; the password was not checked.
    TooManyLogins(TooManyLogins),
}

/// `Authorization: Basic base64(user:password)` → (user, password); `Err` says why it is malformed.
fn basic_credentials(header: &str) -> Result<(String, String), String> {
    let malformed = || "malformed Basic credentials".to_string();
    let encoded = header.strip_prefix("Basic ").ok_or("not Basic credentials")?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (user, password) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_buffers_decide_as_argon2_does_for_any_parameters_and_stay_bounded() {
        use argon2::PasswordVerifier;
        let small = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(64, 2, 1, Some(16)).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let hashes = [
            hash_password("secret").unwrap(),
            small.hash_password(b"secret", &salt).unwrap().to_string(),
        ];
        let checks: Vec<_> = (0..8)
            .map(|i| {
                let phc = hashes[i % 2].clone();
                std::thread::spawn(move || {
                    let password = if i % 3 == 0 { "wrong" } else { "secret" };
                    let theirs = PasswordHash::new(&phc)
                        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
                        .unwrap();
                    (verify_password(&phc, password), theirs, password == "secret")
                })
            })
            .collect();
        for check in checks {
            let (ours, theirs, right) = check.join().unwrap();
            assert_eq!((ours, theirs), (right, right));
        }
        assert!(!verify_password("not a phc string", "secret"));
        assert!(
            lock_buffers().len() <= PARALLEL_PASSWORD_CHECKS,
            "eight checks kept at most two buffers"
        );
    }

    fn auth(anonymous_pull: bool) -> Auth {
        let dir = std::env::temp_dir().join(format!("slipway-auth-{}-{anonymous_pull}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("users");
        std::fs::write(
            &file,
            format!("# users\nlearner1:{}\n", hash_password("secret").unwrap()),
        )
        .unwrap();
        Auth::from_users_file(&file, anonymous_pull).unwrap()
    }

    fn basic(user: &str, password: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
    }

    #[tokio::test]
    async fn password_checks_off_the_workers_decide_as_the_inline_check_does() {
        let auth = Arc::new(auth(false));
        let right = basic("learner1", "secret");
        let wrong = basic("learner1", "nope");
        let checks = (0..6).map(|i| {
            let (auth, header) = (
                auth.clone(),
                if i % 2 == 0 { right.clone() } else { wrong.clone() },
            );
            async move { auth.check_basic_off_workers(&header, None).await }
        });
        let results = futures_util::future::join_all(checks).await;
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.is_ok(), i % 2 == 0, "{i}: {result:?}");
        }
        let needed = Access::parse_scope("repository:learner1/app:push").unwrap();
        assert_eq!(
            auth.authorize_off_workers(Some(&right), Some(&needed), None)
                .await,
            Decision::Allowed
        );
        assert!(matches!(
            auth.authorize_off_workers(Some(&wrong), Some(&needed), None)
                .await,
            Decision::Unauthenticated(_)
        ));
    }

    #[test]
    fn an_unknown_user_name_costs_the_same_argon2_check_as_a_known_one() {
        let auth = auth(false);
        let before = auth.password_verifications();
        let known = auth.check_basic(&basic("learner1", "nope")).unwrap_err();
        assert_eq!(auth.password_verifications(), before + 1);
        let unknown = auth.check_basic(&basic("nobody", "nope")).unwrap_err();
        assert_eq!(
            auth.password_verifications(),
            before + 2,
            "the unknown name was checked too"
        );
        assert_eq!(
            known.replace("learner1", "nobody"),
            unknown,
            "the answers read alike"
        );
        // The stand-in hash costs what a user's does: same algorithm, memory, passes and lanes.
        let params = |phc: &str| {
            let hash = PasswordHash::new(phc).unwrap();
            (hash.algorithm.to_string(), hash.version, hash.params.to_string())
        };
        assert_eq!(params(&auth.unknown_user_hash), params(&auth.users["learner1"]));
    }

    #[tokio::test]
    async fn a_burst_of_wrong_passwords_is_refused_before_any_check_past_the_limit() {
        let auth = Arc::new(auth(false).with_login_limits(LoginLimits {
            per_user: 3,
            per_address: 100,
        }));
        let client = Some(IpAddr::from([192, 0, 2, 7]));
        let wrong = basic("learner1", "nope");
        let guesses = (0..8).map(|_| auth.check_basic_off_workers(&wrong, client));
        let answers = futures_util::future::join_all(guesses).await;
        let refused = answers
            .iter()
            .filter(|a| matches!(a, Err(LoginRefused::TooMany(_))))
            .count();
        assert_eq!(refused, 5, "{answers:?}");
        assert_eq!(
            auth.password_verifications(),
            3,
            "refused guesses cost no argon2 check"
        );
        let other = auth
            .authorize_off_workers(Some(&basic("learner1", "secret")), None, client)
            .await;
        assert!(matches!(other, Decision::TooManyLogins(_)), "{other:?}");
    }

    #[test]
    fn classroom_members_log_in_with_their_code_and_push_only_to_their_namespace() {
        let auth = Auth::without_users(true)
            .unwrap()
            .with_members(Box::new(|name, code| {
                (name == "learner1" || name == "learner2").then(|| code == format!("{name}-code"))
            }));
        let own = Access::parse_scope("repository:learner1/app:pull,push").unwrap();
        let other = Access::parse_scope("repository:learner2/app:pull,push").unwrap();
        let library = Access::parse_scope("repository:library/busybox:push").unwrap();
        let good = basic("learner1", "learner1-code");
        assert_eq!(auth.authorize(Some(&good), Some(&own)), Decision::Allowed);
        assert!(matches!(
            auth.authorize(Some(&good), Some(&other)),
            Decision::Denied(_)
        ));
        assert!(matches!(
            auth.authorize(Some(&good), Some(&library)),
            Decision::Denied(_)
        ));
        let before = auth.password_verifications();
        assert!(matches!(
            auth.authorize(Some(&basic("learner1", "learner2-code")), Some(&own)),
            Decision::Unauthenticated(_)
        ));
        assert_eq!(
            auth.password_verifications(),
            before + 1,
            "a wrong code costs an argon2 check too"
        );
    }

    #[test]
    fn users_push_only_to_their_namespace() {
        let auth = auth(true);
        let own = Access::parse_scope("repository:learner1/app:pull,push").unwrap();
        let other = Access::parse_scope("repository:learner2/app:pull,push").unwrap();
        let good = basic("learner1", "secret");
        assert_eq!(auth.authorize(Some(&good), Some(&own)), Decision::Allowed);
        assert!(
            matches!(auth.authorize(Some(&good), Some(&other)), Decision::Denied(why) if why.contains("own namespace"))
        );
        assert!(matches!(
            auth.authorize(Some(&basic("learner1", "wrong")), Some(&own)),
            Decision::Unauthenticated(_)
        ));
    }

    #[test]
    fn tokens_carry_granted_scopes_and_are_tamper_proof() {
        let auth = auth(false);
        let identity = Identity::User("learner1".into());
        let wanted = Access::parse_scope("repository:learner1/app:pull,push").unwrap();
        let (token, _) = auth.issue(&identity, vec![auth.grant(&identity, &wanted)]);
        let bearer = format!("Bearer {token}");
        assert_eq!(auth.authorize(Some(&bearer), Some(&wanted)), Decision::Allowed);
        let tampered = format!("Bearer x{token}");
        assert!(matches!(
            auth.authorize(Some(&tampered), Some(&wanted)),
            Decision::Unauthenticated(_)
        ));
        let pull = Access::parse_scope("repository:library/ubuntu:pull").unwrap();
        assert!(matches!(
            auth.authorize(None, Some(&pull)),
            Decision::Unauthenticated(_)
        ));
        let anonymous = auth.grant(&Identity::Anonymous, &pull);
        assert!(anonymous.actions.is_empty(), "anonymous pull is off");
    }
}
