//! The class's members with their join codes, and the data-directory file that keeps what the server made for
//! them (`DATA/classroom.json`, 0600): the join codes it gave to members the classroom file names without one,
//! and the key every member's session token derives from ([`Roster::session_token`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use slipway::api::{normalize_join_code, Role};

use super::config::{ClassroomConfig, GivenSecret};

/// Why the classroom cannot start (or a new file is refused).
#[derive(Debug, thiserror::Error)]
pub enum ClassroomError {
    #[error(transparent)]
    Config(#[from] super::config::ConfigError),
    #[error("cannot keep the classroom's codes in {path}: {source}")]
    State { path: String, source: std::io::Error },
    #[error("the classroom's codes file {path} is unreadable ({why}): move it away to make new codes")]
    Unreadable { path: String, why: String },
}

/// `DATA/classroom.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Stored {
    version: u32,
    /// 32 random bytes, hex: the key member session tokens are derived with.
    key: String,
    /// The codes the server made, by member name (kept when a member leaves the file: back, they have it).
    codes: BTreeMap<String, String>,
}

const STORED_VERSION: u32 = 1;

/// Crockford's base32: no I, L, O or U.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 10 characters: 50 bits.
const CODE_LENGTH: usize = 10;

/// A new join code from the OS CSPRNG (normalized: no dash).
fn new_code() -> String {
    let mut bytes = [0u8; CODE_LENGTH];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b % 32)] as char)
        .collect()
}

/// `ABCDEFGHJK` → `ABCDE-FGHJK`, as cards show codes.
pub fn shown_code(code: &str) -> String {
    if code.len() == CODE_LENGTH {
        format!("{}-{}", &code[..5], &code[5..])
    } else {
        code.to_string()
    }
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// Equal in time whatever differs.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How a member proves who they are.
#[derive(Debug, Clone)]
pub enum Secret {
    /// `sha256` of the normalized join code; the code itself, for the cards.
    Code { digest: [u8; 32], code: String },
    /// A teacher's argon2 hash.
    PasswordHash(String),
}

#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub role: Role,
    pub secret: Secret,
}

impl Member {
    /// Whether `typed` is this member's code or password. A code check costs the same for every guess; a
    /// password is an argon2 check (blocking: call it off the async workers).
    pub fn proves(&self, typed: &str) -> bool {
        match &self.secret {
            Secret::Code { digest, .. } => same(digest, &sha256(&normalize_join_code(typed))),
            Secret::PasswordHash(phc) => crate::registry::auth::verify_password(phc, typed),
        }
    }

    /// The join code, for the cards (`None`: a teacher with a password).
    pub fn code(&self) -> Option<String> {
        match &self.secret {
            Secret::Code { code, .. } => Some(shown_code(code)),
            Secret::PasswordHash(_) => None,
        }
    }
}

/// The members of one version of the classroom file.
#[derive(Debug)]
pub struct Roster {
    pub config: ClassroomConfig,
    members: Vec<Member>,
    by_code: HashMap<[u8; 32], usize>,
    by_name: HashMap<String, usize>,
    /// `sha256(session token)` → member.
    by_session: HashMap<String, usize>,
}

impl Roster {
    /// The members of `config`, with the codes `stored` holds, and new ones (added to `stored`) for the rest.
    pub(super) fn new(config: ClassroomConfig, stored: &mut Stored) -> Roster {
        let key = stored.key_bytes();
        let mut taken: std::collections::HashSet<String> = config
            .members
            .iter()
            .filter_map(|m| match &m.secret {
                GivenSecret::Code(code) => Some(code.clone()),
                _ => None,
            })
            .collect();
        let mut members = Vec::new();
        for text in &config.members {
            let secret = match &text.secret {
                GivenSecret::PasswordHash(phc) => Secret::PasswordHash(phc.clone()),
                GivenSecret::Code(code) => code_secret(code),
                GivenSecret::None => {
                    let kept = stored
                        .codes
                        .get(&text.name)
                        .filter(|c| !taken.contains(*c))
                        .cloned();
                    let code = kept.unwrap_or_else(|| loop {
                        let code = new_code();
                        if !taken.contains(&code) {
                            break code;
                        }
                    });
                    taken.insert(code.clone());
                    stored.codes.insert(text.name.clone(), code.clone());
                    code_secret(&code)
                }
            };
            let role = if text.teacher {
                Role::Teacher
            } else {
                Role::Learner
            };
            members.push(Member {
                name: text.name.clone(),
                role,
                secret,
            });
        }
        let mut roster = Roster {
            config,
            members,
            by_code: HashMap::new(),
            by_name: HashMap::new(),
            by_session: HashMap::new(),
        };
        for (index, member) in roster.members.iter().enumerate() {
            if let Secret::Code { digest, .. } = &member.secret {
                roster.by_code.insert(*digest, index);
            }
            roster.by_name.insert(member.name.clone(), index);
            let token = session_token(&key, member);
            roster
                .by_session
                .insert(crate::sessions::token_hash(&token), index);
        }
        roster
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member whose join code is `typed` (looked up by its hash: a wrong code costs what a right one does).
    pub fn by_code(&self, typed: &str) -> Option<&Member> {
        self.by_code
            .get(&sha256(&normalize_join_code(typed)))
            .map(|&i| &self.members[i])
    }

    pub fn by_name(&self, name: &str) -> Option<&Member> {
        self.by_name.get(name).map(|&i| &self.members[i])
    }

    /// The member whose session has hash `hash` (`crate::sessions::token_hash`).
    pub fn by_session_hash(&self, hash: &str) -> Option<&Member> {
        self.by_session.get(hash).map(|&i| &self.members[i])
    }

    /// The session hashes of the members not in `newer` (their sessions end).
    pub fn hashes_gone_from(&self, newer: &Roster) -> Vec<(String, String)> {
        self.by_session
            .iter()
            .filter(|(hash, _)| !newer.by_session.contains_key(*hash))
            .map(|(hash, &i)| (self.members[i].name.clone(), hash.clone()))
            .collect()
    }
}

fn code_secret(code: &str) -> Secret {
    Secret::Code {
        digest: sha256(code),
        code: code.to_string(),
    }
}

/// The session token of `member`: `HMAC-SHA256(key, role NUL name)` in hex. Every sign-in of a member gets this
/// same token, so the runner's session and the local store key (both taken from the token) are the member's,
/// not one browser's: a learner signing in on another device finds their images and containers.
pub(super) fn session_token(key: &[u8], member: &Member) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    let role = match member.role {
        Role::Learner => "learner",
        Role::Teacher => "teacher",
    };
    mac.update(format!("slipway classroom session\0{role}\0{}", member.name).as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Stored {
    /// The file at `path`, or a new one (with a new key) when there is none.
    pub(super) fn load(path: &Path) -> Result<Stored, ClassroomError> {
        let shown = || path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => {
                let stored: Stored =
                    serde_json::from_slice(&bytes).map_err(|e| ClassroomError::Unreadable {
                        path: shown(),
                        why: e.to_string(),
                    })?;
                let key_ok = stored.key.len() == 64 && stored.key.bytes().all(|b| b.is_ascii_hexdigit());
                if stored.version != STORED_VERSION || !key_ok {
                    return Err(ClassroomError::Unreadable {
                        path: shown(),
                        why: format!("version {} or its key is not this server's", stored.version),
                    });
                }
                Ok(stored)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                OsRng.fill_bytes(&mut key);
                Ok(Stored {
                    version: STORED_VERSION,
                    key: key.iter().map(|b| format!("{b:02x}")).collect(),
                    codes: BTreeMap::new(),
                })
            }
            Err(source) => Err(ClassroomError::State {
                path: shown(),
                source,
            }),
        }
    }

    pub(super) fn key_bytes(&self) -> Vec<u8> {
        (0..self.key.len() / 2)
            .filter_map(|i| u8::from_str_radix(&self.key[2 * i..2 * i + 2], 16).ok())
            .collect()
    }

    /// Write it readable by the owner only (temp file, rename).
    pub(super) fn save(&self, path: &Path) -> Result<(), ClassroomError> {
        let json = serde_json::to_vec_pretty(self).expect("the codes serialize");
        crate::sessions::write_private_atomically(path, &json).map_err(|source| ClassroomError::State {
            path: path.display().to_string(),
            source,
        })
    }
}

/// `DATA/classroom.json`.
pub fn stored_path(data: &Path) -> PathBuf {
    data.join("classroom.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(text: &str, stored: &mut Stored) -> Roster {
        Roster::new(ClassroomConfig::parse("c.toml", text).unwrap(), stored)
    }

    #[test]
    fn codes_are_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = stored_path(dir.path());
        let mut stored = Stored::load(&path).unwrap();
        let first = roster("[learners]\ncount = 3\n", &mut stored);
        stored.save(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let codes: Vec<String> = first.members().iter().map(|m| m.code().unwrap()).collect();
        assert_eq!(codes.len(), 3);
        assert!(
            codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'),
            "{codes:?}"
        );
        assert_ne!(codes[0], codes[1]);
        let mut again = Stored::load(&path).unwrap();
        let second = roster("[learners]\ncount = 4\n", &mut again);
        let kept: Vec<String> = second.members()[..3].iter().map(|m| m.code().unwrap()).collect();
        assert_eq!(kept, codes, "a restart keeps the codes");
        let learner1 = second.by_code(&codes[0].to_lowercase()).unwrap();
        assert_eq!(learner1.name, "learner1");
        assert!(second.by_code("WRONG-CODE0").is_none());
        assert!(learner1.proves(&codes[0]) && !learner1.proves("nope"));
        // Same key, same member: the same session, whichever roster it came from.
        let key = again.key_bytes();
        assert_eq!(
            session_token(&key, learner1),
            session_token(&key, &first.members()[0])
        );
        let hash = crate::sessions::token_hash(&session_token(&key, learner1));
        assert_eq!(second.by_session_hash(&hash).unwrap().name, "learner1");
        assert!(second.hashes_gone_from(&second).is_empty());
        let smaller = roster("[learners]\ncount = 2\n", &mut again);
        let mut gone: Vec<String> = second
            .hashes_gone_from(&smaller)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        gone.sort();
        assert_eq!(gone, ["learner3", "learner4"]);
    }

    #[test]
    fn a_learner_and_a_teacher_of_one_name_never_share_a_session() {
        let key = [7u8; 32];
        let member = |role| Member {
            name: "ada".into(),
            role,
            secret: code_secret("ABCDEFGHJK"),
        };
        let token = session_token(&key, &member(Role::Learner));
        assert_eq!(token.len(), 64);
        assert_ne!(token, session_token(&key, &member(Role::Teacher)));
        assert_ne!(token, session_token(&[8u8; 32], &member(Role::Learner)));
    }
}
