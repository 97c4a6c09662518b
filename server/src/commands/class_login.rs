//! `slipway docker` against a class (issue 15): a companion in classroom mode issues no anonymous session, so
//! the command line signs in with the learner's join code, as the page does. `slipway docker --host URL login`
//! (no registry named, or the companion's own) asks for the code (or takes `-p CODE`, `--password-stdin`, or
//! `$SLIPWAY_JOIN_CODE`); a teacher with a password gives `-u NAME` too. The session is kept in `sessions.json`
//! like any other, and the name and code as the registry login, so `docker push learner1/app:v1` just works.
//! With `$SLIPWAY_JOIN_CODE` set, any command signs in first when the kept session is gone (scripts); without
//! it, a class's companion's commands say how to sign in.

use slipway::api::{Companion, CompanionError, JoinRequest, SessionTransport, SignedIn};
use slipway::registry::Credentials;

use super::session_file::SessionFile;
use crate::registry::upstream::ReqwestTransport;

/// The environment variable holding a join code for commands run without a terminal.
pub const JOIN_CODE_ENV: &str = "SLIPWAY_JOIN_CODE";

/// Where the command line's class sign-in keeps what it gets.
pub struct ClassLogin<'a> {
    /// The companion (`http://host:port`).
    pub base: &'a str,
    /// Its registry host (`host:port`), where the registry login is kept.
    pub registry_host: &'a str,
    pub sessions: &'a SessionFile,
    /// Keeps a registry login (`docker login`'s credentials store) for a registry host.
    pub keep_login: &'a dyn Fn(&str, &Credentials),
}

/// What a class sign-in printed: `Ok(stdout)`, or `Err(stderr)` (exit code 1).
pub type Said = Result<String, String>;

/// `docker login`'s words: the user, the password (or code) and the server, when given.
#[derive(Debug, Default, PartialEq, Eq)]
struct LoginWords {
    user: Option<String>,
    password: Option<String>,
    password_stdin: bool,
    server: Option<String>,
}

/// The words of `docker login [-u NAME] [-p CODE | --password-stdin] [SERVER]`, or None for another command.
fn login_words(words: &[String]) -> Option<LoginWords> {
    if words.get(1).map(String::as_str) != Some("login") {
        return None;
    }
    let mut found = LoginWords::default();
    let mut rest = words[2..].iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-u" | "--username" => found.user = rest.next().cloned(),
            "-p" | "--password" => found.password = rest.next().cloned(),
            "--password-stdin" => found.password_stdin = true,
            other if other.starts_with("--username=") => found.user = Some(other[11..].to_string()),
            other if other.starts_with("--password=") => found.password = Some(other[11..].to_string()),
            other if other.starts_with('-') => return None,
            other => found.server = Some(other.to_string()),
        }
    }
    Some(found)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn http() -> anyhow::Result<ReqwestTransport> {
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()?;
    Ok(ReqwestTransport::new(client))
}

impl ClassLogin<'_> {
    /// `docker login` to a class's companion: what the class sign-in said; None when `words` are no login to
    /// this companion or it runs no class (docker's own login then runs). `ask` asks for the code on a
    /// terminal (None without one).
    pub fn login(
        &self,
        words: &[String],
        stdin: Option<&str>,
        ask: Option<&dyn Fn() -> Option<String>>,
    ) -> anyhow::Result<Option<Said>> {
        let Some(login) = login_words(words) else {
            return Ok(None);
        };
        let server = login.server.as_deref().map(|s| s.trim_end_matches('/'));
        if server.is_some_and(|s| s != self.registry_host && s != self.base) {
            return Ok(None);
        }
        let (runtime, http) = (runtime()?, http()?);
        let class = runtime.block_on(Companion::new(&http, self.base).info());
        let Some(class) = class.ok().and_then(|info| info.classroom) else {
            return Ok(None);
        };
        let typed = match (login.password, login.password_stdin) {
            (Some(code), _) => Some(code),
            (None, true) => stdin.map(|text| text.trim().to_string()),
            (None, false) => match std::env::var(JOIN_CODE_ENV).ok().filter(|c| !c.is_empty()) {
                Some(code) => Some(code),
                None => ask.and_then(|ask| ask()),
            },
        };
        let Some(code) = typed.filter(|c| !c.trim().is_empty()) else {
            let why = format!(
                "Error: {} runs a class: sign in with your join code (`login -p CODE`, or ${JOIN_CODE_ENV})",
                self.base
            );
            return Ok(Some(Err(why)));
        };
        let signed = runtime.block_on(self.sign_in(&http, login.user, code));
        Ok(Some(match signed {
            Ok(signed) => {
                let class = class.name.map(|n| format!(" {n}")).unwrap_or_default();
                Ok(format!(
                    "Welcome, {}! Signed in to the class{class}.\nLogin Succeeded\n",
                    signed.name
                ))
            }
            Err(CompanionError::Refused { message, .. }) => {
                Err(format!("Error response from daemon: {message}"))
            }
            Err(e) => Err(format!("Error: {e}")),
        }))
    }

    /// Sign in with `code` (and `name`, a teacher's password login): keep the session and the registry login.
    async fn sign_in(
        &self,
        http: &ReqwestTransport,
        name: Option<String>,
        code: String,
    ) -> Result<SignedIn, CompanionError> {
        let request = JoinRequest {
            code: code.clone(),
            name,
        };
        let signed = Companion::new(http, self.base).join(&request).await?;
        if let Err(e) = self.sessions.set(self.base, &signed.token) {
            eprintln!("slipway: cannot keep the session: {e}");
        }
        let login = Credentials {
            username: signed.name.clone(),
            password: code,
        };
        (self.keep_login)(self.registry_host, &login);
        Ok(signed)
    }

    /// Before a command, when the kept session is gone or refused: with `$SLIPWAY_JOIN_CODE` set, sign in; without
    /// it, a class's companion gets the command refused with how to sign in (another companion issues a session
    /// as usual). Nothing to do with `$SLIPWAY_SESSION` set, or a companion out of reach (the command says so).
    /// Why the command cannot run, if it cannot.
    pub fn before_command(&self) -> anyhow::Result<Option<String>> {
        if std::env::var("SLIPWAY_SESSION").is_ok_and(|t| !t.is_empty()) {
            return Ok(None);
        }
        let (runtime, http) = (runtime()?, http()?);
        let kept = SessionTransport::new(&http, self.sessions.get(self.base), self.base);
        let live = runtime.block_on(Companion::new(&kept, self.base).containers(false));
        if !matches!(live, Err(CompanionError::Refused { status: 401, .. })) {
            return Ok(None);
        }
        match std::env::var(JOIN_CODE_ENV).ok().filter(|c| !c.is_empty()) {
            Some(code) => Ok(match runtime.block_on(self.sign_in(&http, None, code)) {
                Ok(_) => None,
                Err(e) => Some(format!("Error: signing in with ${JOIN_CODE_ENV}: {e}")),
            }),
            None => {
                let info = runtime.block_on(Companion::new(&http, self.base).info());
                let class = info.ok().and_then(|i| i.classroom).is_some();
                Ok(class.then(|| {
                    format!(
                        "Error: {} runs a class: sign in with your join code first (`slipway docker --host {} \
                         login`, or ${JOIN_CODE_ENV})",
                        self.base, self.base
                    )
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn login_words_are_read_as_docker_reads_them() {
        assert_eq!(login_words(&words("docker images")), None);
        assert_eq!(login_words(&words("docker login")), Some(LoginWords::default()));
        let given = login_words(&words("docker login -u ada --password=chalk 127.0.0.1:8080")).unwrap();
        assert_eq!(
            given,
            LoginWords {
                user: Some("ada".into()),
                password: Some("chalk".into()),
                password_stdin: false,
                server: Some("127.0.0.1:8080".into()),
            }
        );
        assert!(
            login_words(&words("docker login --password-stdin"))
                .unwrap()
                .password_stdin
        );
        assert_eq!(login_words(&words("docker login --weird")), None);
    }
}
