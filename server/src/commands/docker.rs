//! `slipway docker [--host URL] ARGS...`: the page's docker-command interpreter on the command line, against a
//! running companion, with logins kept in a file (docker's `config.json` shape).

use std::cell::RefCell;
use std::future::Future;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::pin::Pin;

use slipway::cli::context::{CommandContext, Prompter, Stream};
use slipway::cli::credentials::CredentialStore;
use slipway::cli::interpret::{plan_words, run_command};
use slipway::cli::outcome::{Outcome, Step};
use slipway::cli::spec::Flag;

use super::class_login::ClassLogin;
use slipway::api::SessionTransport;

use super::session_file::{default_auth_file, live_session, write_private, SessionFile};
use crate::registry::upstream::ReqwestTransport;

#[derive(Debug, clap::Args)]
pub struct DockerArgs {
    /// The Slipway companion to talk to.
    #[arg(long, env = "SLIPWAY_HOST", default_value = "http://127.0.0.1:8080")]
    pub host: String,
    /// Where `docker login` keeps credentials (default: ~/.config/slipway/auth.json).
    #[arg(long, env = "SLIPWAY_AUTH_FILE")]
    pub auth_file: Option<PathBuf>,
    /// The docker command line, e.g. `images` or `pull busybox`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Run one docker command line; returns its exit code.
pub fn docker(args: DockerArgs) -> anyhow::Result<i32> {
    let base = args.host.trim_end_matches('/').to_string();
    let registry_host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_string();
    let auth_file = args.auth_file.clone().unwrap_or_else(default_auth_file);
    let stored = std::fs::read_to_string(&auth_file).unwrap_or_default();
    let credentials = RefCell::new(CredentialStore::from_json(&stored)?);
    let mut words = vec!["docker".to_string()];
    words.extend(args.args);
    let stdin = if words.iter().any(|w| w == "--password-stdin") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Some(text)
    } else {
        None
    };
    let sessions = SessionFile::beside(Some(&auth_file));
    let keep_login =
        |host: &str, login: &slipway::registry::Credentials| credentials.borrow_mut().set(host, login);
    let class = ClassLogin {
        base: &base,
        registry_host: &registry_host,
        sessions: &sessions,
        keep_login: &keep_login,
    };
    let prompter = std::io::stdin()
        .is_terminal()
        .then_some(&TtyPrompter as &dyn Prompter);
    let ask = prompter.map(|_| &ask_join_code as &dyn Fn() -> Option<String>);
    let signed_in = match class.login(&words, stdin.as_deref(), ask)? {
        Some(Ok(said)) => Some(Outcome::success(said)),
        Some(Err(said)) => Some(Outcome::failure(said, 1)),
        None if matches!(plan_words(&words), Step::Done(_)) => None,
        None => class.before_command()?.map(|why| Outcome::failure(why, 1)),
    };
    let outcome = match signed_in.map_or_else(|| plan_words(&words), Step::Done) {
        Step::Done(outcome) => outcome,
        Step::Build(inv) => build(&base, inv, &sessions)?,
        Step::Compose(inv) => compose_here(&base, &registry_host, &inv, &sessions, &credentials)?,
        // The attach WebSocket needs a terminal of its own; the page's terminal is that terminal.
        Step::Attach(inv) => Outcome::failure(
            format!(
                "slipway: 'docker {}' attaches to the container: attached sessions (docker run -i/-t, docker \
                 exec) run in the Slipway page's terminal only; here, run it detached (-d) and read its output \
                 with 'docker logs'",
                inv.typed.join(" ")
            ),
            1,
        ),
        Step::Companion(inv) => on_the_companion(&base, &sessions, |transport, runtime, session| {
            let screen = TerminalLines::default();
            let print = |stream: Stream, line: &str| screen.print(stream, None, line);
            let redraw = |stream: Stream, key: &str, line: &str| screen.print(stream, Some(key), line);
            // Like docker, bars only on a terminal (both streams, which share its lines); else final lines only.
            let on_terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let project = super::project_dir::WorkingDir(std::env::current_dir()?);
            let platform = runtime.block_on(companion_platform(transport, &base));
            let ctx = CommandContext {
                transport,
                base: &base,
                registry_host: &registry_host,
                session: Some(&session),
                credentials: &credentials,
                stdin: stdin.as_deref(),
                now,
                progress: Some(&print),
                status: on_terminal.then_some(&redraw as &dyn Fn(Stream, &str, &str)),
                // A terminal's Ctrl-C ends this process; the container stays, as with docker's `--sig-proxy=false`.
                foreground: None,
                // Natively there is no CORS to get around: other registries are reached as docker reaches them.
                via_proxy: false,
                // Docker asks for missing credentials only when stdin is a terminal.
                prompter,
                suggested_user: None,
                // `docker cp`: the working directory is the project.
                files: Some(&project),
                // Ctrl-C ends the process: no command here catches it.
                interrupt: None,
                // The companion's, as docker pulls for its daemon's (`--host` may name another machine).
                platform: platform.as_ref(),
            };
            Ok(runtime.block_on(run_command(&ctx, &inv)))
        })?,
    };
    finish(outcome, &credentials, &stored, &auth_file)
}

/// Keep changed credentials (as `stored` was read from `auth_file`), print the outcome: its exit code.
fn finish(
    mut outcome: Outcome,
    credentials: &RefCell<CredentialStore>,
    stored: &str,
    auth_file: &std::path::Path,
) -> anyhow::Result<i32> {
    let credentials = credentials.borrow();
    if credentials.to_json() != CredentialStore::from_json(stored)?.to_json() {
        if let Some(dir) = auth_file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        write_private(auth_file, &credentials.to_json())?;
        if outcome.stdout.ends_with("Login Succeeded\n") {
            // What docker says when no credential helper is configured: the file holds the password.
            outcome.stderr.push_str(&format!(
                "\nWARNING! Your credentials are stored unencrypted in '{}'.\n",
                auth_file.display()
            ));
        }
    }
    print_outcome(&outcome)?;
    Ok(outcome.exit_code)
}

/// `docker build` natively: the context directory read into a tree, `-f` relative to it, the image into the
/// session's local store of the companion at `base`, the step cache in slipway's cache directory.
fn build(
    base: &str,
    inv: slipway::cli::parse::Invocation,
    sessions: &SessionFile,
) -> anyhow::Result<Outcome> {
    on_the_companion(base, sessions, |transport, runtime, session| {
        let platform = runtime.block_on(companion_platform(transport, base));
        runtime.block_on(build_with(transport, base, &session, platform.as_ref(), inv))
    })
}

/// Run `command` against the companion at `base`: with the transport that adds the session `sessions` keeps for
/// it (the session header for the companion only: other registries, reached directly, never see the token), a
/// runtime to drive it, and that session, renewed first when it expired.
fn on_the_companion<R>(
    base: &str,
    sessions: &SessionFile,
    command: impl FnOnce(
        &SessionTransport<'_, ReqwestTransport>,
        &tokio::runtime::Runtime,
        String,
    ) -> anyhow::Result<R>,
) -> anyhow::Result<R> {
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()?;
    let reqwest = ReqwestTransport::new(http);
    let transport = sessions.transport(&reqwest, base);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let session = runtime.block_on(live_session(&transport, base));
    command(&transport, &runtime, session)
}

/// The platform the companion's containers run on (its `/api/info`), as the page asks it: docker pulls and
/// builds for its daemon's platform, and `--host` may name a companion on another machine. `None` (this
/// machine's) when the companion names none.
async fn companion_platform<T: slipway::registry::Transport>(
    transport: &T,
    base: &str,
) -> Option<slipway::builder::Platform> {
    let info = slipway::api::Companion::new(transport, base).info().await.ok()?;
    Some(slipway::cli::context::pull_platform(&info.platform?))
}

/// [`build`] on a transport, session and the companion's platform already there (`docker compose build` runs it
/// once per service).
async fn build_with<T: slipway::registry::Transport>(
    transport: &T,
    base: &str,
    session: &str,
    platform: Option<&slipway::builder::Platform>,
    mut inv: slipway::cli::parse::Invocation,
) -> anyhow::Result<Outcome> {
    let context_dir = PathBuf::from(inv.args.first().cloned().unwrap_or_else(|| ".".into()));
    let tree = super::build::read_context(&context_dir)?;
    if let Some(file) = inv.flags.value(Flag::FILE).map(PathBuf::from) {
        // The builder reads `-f` from the context tree: a Dockerfile outside the context is not in it.
        let Ok(inside) = file.strip_prefix(&context_dir) else {
            return Ok(Outcome::failure(
                format!(
                    "ERROR: slipway docker build reads -f from the context: {} is not under {} (use `slipway build -f`)\n",
                    file.display(),
                    context_dir.display()
                ),
                1,
            ));
        };
        inv.flags.set(Flag::FILE, inside.to_string_lossy().into_owned());
    }
    inv.args = vec![".".into()];
    let cache = slipway::builder::DirCache::new(super::build::default_cache_dir());
    let started = std::time::Instant::now();
    let clock = move || started.elapsed().as_millis() as u64;
    let streamed = RefCell::new(String::new());
    let stream = |chunk: &str| {
        eprint!("{chunk}");
        streamed.borrow_mut().push_str(chunk);
    };
    let env = slipway::cli::build::BuildEnv {
        transport,
        base,
        session: Some(session),
        cache: &cache,
        packer: &slipway::builder::InlinePacker,
        clock: &clock,
        stream: &stream,
        now: super::build::unix_now(),
        source_date_epoch: slipway::builder::BuildOptions::source_date_epoch(),
        events: &|_| {},
        platform,
    };
    let mut outcome = slipway::cli::build::build(&env, &inv, &tree).await;
    // The progress was streamed as it came: print only what follows it.
    if let Some(rest) = outcome.stderr.strip_prefix(streamed.borrow().as_str()) {
        outcome.stderr = rest.to_string();
    }
    Ok(outcome)
}

/// The progress lines printed so far, keyed where a layer's line is: a keyed line printed again is redrawn where
/// it is (cursor up, clear the line, print, back down), as docker's `jsonmessage` does on a terminal.
#[derive(Default)]
struct TerminalLines {
    keys: RefCell<Vec<Option<String>>>,
}

impl TerminalLines {
    fn print(&self, stream: Stream, key: Option<&str>, line: &str) {
        let mut keys = self.keys.borrow_mut();
        let at = key.and_then(|key| keys.iter().position(|k| k.as_deref() == Some(key)));
        let text = match at {
            Some(at) => {
                let up = keys.len() - at;
                format!("\x1b[{up}A\r\x1b[2K{line}\r\x1b[{up}B")
            }
            None => {
                keys.push(key.map(str::to_string));
                format!("{line}\n")
            }
        };
        let written = match stream {
            Stream::Stdout => std::io::stdout().write_all(text.as_bytes()),
            Stream::Stderr => std::io::stderr().write_all(text.as_bytes()),
        };
        // A closed terminal loses the progress, not the command.
        let _ = written.and_then(|()| std::io::stdout().flush());
    }
}

/// `docker login`'s questions on the terminal this runs in: the question on stdout, the answer from stdin, the
/// echo off for a password (and back on however the prompt ends); Ctrl-C ends the prompt, as docker's does.
struct TtyPrompter;

impl Prompter for TtyPrompter {
    fn ask<'p>(&'p self, text: &'p str, echo: bool) -> Pin<Box<dyn Future<Output = Option<String>> + 'p>> {
        Box::pin(async move {
            print!("{text}");
            let _ = std::io::stdout().flush();
            let hidden = if echo { None } else { EchoOff::begin() };
            // A thread of its own: a read of stdin cannot be cancelled, and Ctrl-C must not wait for it.
            let (answer_tx, answer_rx) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = std::io::stdin()
                    .read_line(&mut line)
                    .map(|_| answer_tx.send(line));
            });
            let answer = tokio::select! {
                // End of input answers nothing, as an empty line.
                line = answer_rx => Some(line.unwrap_or_default()),
                _ = tokio::signal::ctrl_c() => None,
            };
            drop(hidden);
            // The Enter of a hidden answer was not echoed; after ^C docker ends the line too.
            if !echo || answer.is_none() {
                println!();
            }
            answer.map(|line| line.trim_end_matches(['\n', '\r']).to_string())
        })
    }
}

/// The join code of a class sign-in, asked on the terminal (not echoed, as a password).
fn ask_join_code() -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(TtyPrompter.ask("Join code: ", false))
}

/// The terminal's echo turned off until dropped (docker's `DisableEcho`).
struct EchoOff {
    saved: rustix::termios::Termios,
}

impl EchoOff {
    fn begin() -> Option<EchoOff> {
        use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(&stdin, OptionalActions::Now, &quiet).ok()?;
        Some(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let restored = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
        if let Err(e) = restored {
            eprintln!("Error: failed to restore terminal state to echo input: {e}");
        }
    }
}

fn print_outcome(outcome: &Outcome) -> anyhow::Result<()> {
    std::io::stdout().write_all(outcome.stdout.as_bytes())?;
    std::io::stdout().flush()?;
    std::io::stderr().write_all(outcome.stderr.as_bytes())?;
    if !outcome.stderr.is_empty() && !outcome.stderr.ends_with('\n') {
        eprintln!();
    }
    Ok(())
}

/// The current directory as a Compose project's files.
struct DirFiles(PathBuf);

impl slipway::compose::ProjectFiles for DirFiles {
    fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.0.join(path)).ok()
    }
}

/// The next SIGINT (a terminal's Ctrl-C), caught: the command that asked for it decides what it ends.
fn next_ctrl_c<'a>() -> Pin<Box<dyn Future<Output = ()> + 'a>> {
    Box::pin(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// `docker compose` natively: the project is the current directory, variables come from the environment, the
/// containers run on the companion at `base`.
fn compose_here(
    base: &str,
    registry_host: &str,
    inv: &slipway::cli::parse::Invocation,
    sessions: &SessionFile,
    credentials: &RefCell<CredentialStore>,
) -> anyhow::Result<Outcome> {
    let dir = std::env::current_dir()?;
    let env = std::env::vars().collect();
    let shown = dir.to_string_lossy().into_owned();
    if !slipway::cli::compose::needs_companion(inv) {
        return Ok(slipway::cli::compose::run(inv, &DirFiles(dir), &env, &shown));
    }
    on_the_companion(base, sessions, |transport, runtime, session| {
        // `docker compose logs -f` prints each line as it comes; on a terminal `up` redraws its block in place as
        // Compose's TTY writer does (the screen then counts every row, to find a redrawn one).
        let on_terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let screen = TerminalLines::default();
        let print = |stream: Stream, line: &str| match (on_terminal, stream) {
            (true, _) => screen.print(stream, None, line),
            (false, Stream::Stdout) => println!("{line}"),
            (false, Stream::Stderr) => eprintln!("{line}"),
        };
        let redraw = |stream: Stream, key: &str, line: &str| screen.print(stream, Some(key), line);
        // Binds of the project's files (`- .:/code`) are packed from the working directory.
        let project = super::project_dir::WorkingDir(dir.clone());
        let platform = runtime.block_on(companion_platform(transport, base));
        let ctx = CommandContext {
            session: Some(&session),
            platform: platform.as_ref(),
            now: super::build::unix_now(),
            progress: Some(&print),
            status: on_terminal.then_some(&redraw as &dyn Fn(Stream, &str, &str)),
            // Attached `docker compose up` stops its containers on Ctrl-C (SIGINT), as Compose does.
            interrupt: Some(&next_ctrl_c),
            files: Some(&project),
            ..CommandContext::new(transport, base, registry_host, credentials)
        };
        let files = DirFiles(dir);
        let builder = NativeBuilder {
            transport,
            base,
            session: &session,
            platform: platform.as_ref(),
        };
        Ok(runtime.block_on(slipway::cli::compose::run_project_building(
            &ctx,
            inv,
            &files,
            (&env, &shown),
            Some(&builder),
        )))
    })
}

/// `docker compose`'s builds natively: each `docker build` line as `slipway docker build` runs it, from the
/// project directory (the current one).
struct NativeBuilder<'a, T> {
    transport: &'a T,
    base: &'a str,
    session: &'a str,
    /// The companion's, asked once for the whole line.
    platform: Option<&'a slipway::builder::Platform>,
}

impl<T: slipway::registry::Transport> slipway::cli::compose_build::ImageBuilder for NativeBuilder<'_, T> {
    fn build<'b>(
        &'b self,
        inv: &'b slipway::cli::parse::Invocation,
    ) -> Pin<Box<dyn Future<Output = Outcome> + 'b>> {
        Box::pin(async move {
            build_with(
                self.transport,
                self.base,
                self.session,
                self.platform,
                inv.clone(),
            )
            .await
            .unwrap_or_else(|e| Outcome::failure(format!("ERROR: {e:#}\n"), 1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway::api::{PlatformInfo, RegistryInfo, RuntimeInfo, ServerInfo};
    use slipway::registry::transport::{HttpRequest, HttpResponse, TransportError};

    /// A companion whose every answer is its `/api/info` naming `platform`.
    struct InfoOf(Option<PlatformInfo>);

    impl slipway::registry::Transport for InfoOf {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            assert!(
                request.url.ends_with(slipway::api::paths::INFO),
                "{}",
                request.url
            );
            let info = ServerInfo {
                name: "slipway".into(),
                version: "0".into(),
                runtime: RuntimeInfo::Unavailable {
                    reason: "a unit test".into(),
                },
                registry: RegistryInfo {
                    storage: String::new(),
                },
                preview: None,
                classroom: None,
                platform: self.0.clone(),
            };
            Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: serde_json::to_vec(&info).expect("ServerInfo serializes"),
            })
        }
    }

    #[tokio::test]
    async fn pulls_and_builds_take_the_companions_platform_not_this_machines() {
        let arm = InfoOf(PlatformInfo::parse("linux/arm64/v8"));
        let platform = companion_platform(&arm, "http://companion:8080").await.unwrap();
        assert_eq!(
            (platform.os.as_str(), platform.architecture.as_str()),
            ("linux", "arm64")
        );
        // A companion older than the field names none: this machine's platform, as before.
        assert_eq!(
            companion_platform(&InfoOf(None), "http://companion:8080").await,
            None
        );
    }
}
