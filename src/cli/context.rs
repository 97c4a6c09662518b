//! What a command run against the companion needs: the transport, the session (whose local image store it
//! uses), the learner's registry logins, and where progress lines go while it runs. One context serves the page
//! and `slipway docker`; [`super::interpret::run_command`] dispatches
//! every companion command.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use super::credentials::CredentialStore;
use super::outcome::Outcome;
use crate::builder::Platform;
use crate::image::local_store;
use crate::image::Reference;
use crate::registry::{Client, Transport};

/// Which stream a progress line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Where progress lines go while a command runs.
pub type ProgressSink<'a> = &'a dyn Fn(Stream, &str);

/// The learner's Ctrl-C, for a command that stops its own work when pressed (attached `docker compose up`):
/// each call gives a future that resolves at the next Ctrl-C. A command that never calls it is ended by Ctrl-C
/// as before (the page drops it, a native process dies of SIGINT).
pub type InterruptSource<'a> = &'a dyn Fn() -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Where a layer's status line goes when the screen can redraw it (the page, a TTY): `(stream, key, line)`,
/// the line replacing the earlier one with the same key (docker's per-layer progress bars).
pub type StatusSink<'a> = &'a dyn Fn(Stream, &str, &str);

pub struct CommandContext<'a, T: Transport> {
    /// Sends every request with the session's `X-Slipway-Session` header (see [`crate::api::SessionTransport`]).
    pub transport: &'a T,
    /// The companion's base URL: `""` for the page's own origin, `http://127.0.0.1:8080` natively.
    pub base: &'a str,
    /// The embedded registry's name, as `docker login` and image names spell it (`127.0.0.1:8080`).
    pub registry_host: &'a str,
    /// The session token the transport sends; its key names the local image store.
    pub session: Option<&'a str>,
    pub credentials: &'a RefCell<CredentialStore>,
    /// What `--password-stdin` reads.
    pub stdin: Option<&'a str>,
    /// The caller's clock, Unix seconds.
    pub now: u64,
    /// Lines shown while a command runs (pull and push progress); without it they join the outcome.
    pub progress: Option<ProgressSink<'a>>,
    /// Per-layer lines redrawn in place; with it, pushes and pulls also show progress bars (docker shows them
    /// only on a terminal). Without it, only each layer's final status is printed, through `progress`.
    pub status: Option<StatusSink<'a>>,
    /// Told the id of the container a foreground `docker run` (no `-d`, no `-it`) waits for: the page's Ctrl-C
    /// stops it.
    pub foreground: Option<&'a dyn Fn(&str)>,
    /// Reach registries other than the companion's through its `/api/registry-proxy/` (the page: a browser
    /// needs CORS headers most registries do not send). Natively they are reached directly, as docker does.
    pub via_proxy: bool,
    /// Where commands ask the learner for a line (a terminal); `None` when stdin is no terminal.
    pub prompter: Option<&'a dyn Prompter>,
    /// The user name `docker login` offers when no login is stored (the lesson's user name field).
    pub suggested_user: Option<&'a str>,
    /// The project's files (`docker cp`): the page's file tree, natively the working directory.
    pub files: Option<&'a dyn super::project_files::ProjectFiles>,
    /// The learner's Ctrl-C ([`InterruptSource`]); `None` where it cannot be caught.
    pub interrupt: Option<InterruptSource<'a>>,
    /// The platform the companion's containers run on, as its `/api/info` reports it (the page asks it once);
    /// `None`: this machine's own ([`Platform::default`]: the host's natively, `linux/amd64` in the page).
    pub platform: Option<&'a Platform>,
}

/// The platform pulls and builds take from an index for a host of platform `info`: its OS and architecture,
/// without the CPU variant an amd64 or arm64 host reports (index entries rarely name one; arm64's `v8` is
/// implied), with 32-bit arm's (`arm/v7`).
pub fn pull_platform(info: &crate::api::PlatformInfo) -> Platform {
    let info = info.normalized();
    Platform {
        variant: info.variant.filter(|_| info.architecture == "arm"),
        os: info.os,
        architecture: info.architecture,
    }
}

/// A line typed at the terminal in answer to a command's question (`docker login`'s `Username: ` and
/// `Password: `). The page's terminal and a native TTY answer; without one (stdin is a pipe) there is no prompt.
pub trait Prompter {
    /// Show `text`, then read one line, echoed as typed or (`echo: false`) hidden, as a password is; the cursor
    /// ends on a fresh row. `None`: the learner pressed Ctrl-C (the command ends with exit code 130).
    fn ask<'p>(&'p self, text: &'p str, echo: bool) -> Pin<Box<dyn Future<Output = Option<String>> + 'p>>;
}

/// A registry an image name points at, as reached from here.
pub struct RegistryTarget {
    /// The registry API base: the companion itself, or its proxy for other hosts.
    pub base: String,
    /// The host the learner's login is stored under.
    pub host: String,
    /// The embedded registry (blobs can be mounted from the local store).
    pub embedded: bool,
}

impl<'a, T: Transport> CommandContext<'a, T> {
    /// A context without a session, stdin, progress sinks, foreground hook or prompter, at time 0, reaching
    /// other registries directly (as a native client does): callers set what they
    /// have with struct-update syntax (`CommandContext { now, ..CommandContext::new(...) }`).
    pub fn new(
        transport: &'a T,
        base: &'a str,
        registry_host: &'a str,
        credentials: &'a RefCell<CredentialStore>,
    ) -> Self {
        CommandContext {
            transport,
            base,
            registry_host,
            session: None,
            credentials,
            stdin: None,
            now: 0,
            progress: None,
            status: None,
            foreground: None,
            via_proxy: false,
            prompter: None,
            suggested_user: None,
            files: None,
            interrupt: None,
            platform: None,
        }
    }

    /// The platform pulls and builds pick from an index when none is asked for ([`Self::platform`]).
    pub fn host_platform(&self) -> Platform {
        self.platform.cloned().unwrap_or_default()
    }

    pub fn session_key(&self) -> String {
        local_store::session_key(self.session)
    }

    pub fn local_repository(&self, reference: &Reference) -> String {
        local_store::local_repository(&self.session_key(), reference)
    }

    /// Docker Hub names and the companion's own host are the embedded registry; other hosts go through
    /// `/api/registry-proxy/HOST` in the page (registries without CORS, and one origin), directly natively.
    pub fn target(&self, registry: &str) -> RegistryTarget {
        if registry == crate::image::reference::DOCKER_HUB || registry == self.registry_host {
            return RegistryTarget {
                base: self.base.to_string(),
                host: self.registry_host.to_string(),
                embedded: true,
            };
        }
        let base = if self.via_proxy {
            format!("{}{}/{registry}", self.base, crate::api::paths::REGISTRY_PROXY)
        } else {
            direct_base(registry)
        };
        RegistryTarget {
            base,
            host: registry.to_string(),
            embedded: false,
        }
    }

    /// A client for a registry with the learner's stored login for it.
    pub fn client(&self, target: &RegistryTarget) -> Client<&'a T> {
        let credentials = self.credentials.borrow().get(&target.host);
        Client::new(self.transport, target.base.clone(), credentials)
    }

    /// A client for the session's local store (the embedded registry).
    pub fn local_client(&self) -> Client<&'a T> {
        self.client(&self.target(self.registry_host))
    }

    /// The URL docker shows for a registry in errors (`Get "http://127.0.0.1:8080/v2/": ...`).
    pub fn display_url(&self, target: &RegistryTarget) -> String {
        if target.embedded {
            if self.base.is_empty() {
                format!("http://{}", self.registry_host)
            } else {
                self.base.to_string()
            }
        } else {
            direct_base(&target.host)
        }
    }
}

/// The API base docker uses for a registry host: plain HTTP for loopback hosts (its insecure registries), else
/// HTTPS.
fn direct_base(host: &str) -> String {
    Reference::parse(&format!("{host}/x"))
        .map(|r| crate::registry::api_base(&r))
        .unwrap_or_else(|_| format!("https://{host}"))
}

/// Collects a command's output, sending progress lines to the context's sink as they happen.
pub struct Printer<'p> {
    progress: Option<ProgressSink<'p>>,
    status: Option<StatusSink<'p>>,
    quiet: bool,
    pub outcome: Outcome,
}

impl<'p> Printer<'p> {
    pub fn new<T: Transport>(ctx: &CommandContext<'p, T>) -> Self {
        Printer {
            progress: ctx.progress,
            status: ctx.status,
            quiet: false,
            outcome: Outcome::default(),
        }
    }

    /// `--quiet`: progress lines are dropped, only the final output remains.
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// A line shown as it happens (pull/push progress).
    pub fn progress(&mut self, stream: Stream, line: &str) {
        if self.quiet && stream == Stream::Stdout {
            return;
        }
        match self.progress {
            Some(sink) => sink(stream, line),
            None => self.line(stream, line),
        }
    }

    /// Whether progress bars can be drawn: a status sink redraws lines in place, and `--quiet` hides them.
    pub fn shows_bars(&self) -> bool {
        self.status.is_some() && !self.quiet
    }

    /// A layer's status line, keyed by the layer's short id: redrawn in place when a status sink is there,
    /// else printed as a progress line.
    pub fn status(&mut self, stream: Stream, key: &str, line: &str) {
        if self.quiet && stream == Stream::Stdout {
            return;
        }
        match self.status {
            Some(sink) => sink(stream, key, line),
            None => self.progress(stream, line),
        }
    }

    /// A line of the final output.
    pub fn line(&mut self, stream: Stream, line: &str) {
        let text = match stream {
            Stream::Stdout => &mut self.outcome.stdout,
            Stream::Stderr => &mut self.outcome.stderr,
        };
        text.push_str(line);
        text.push('\n');
    }

    pub fn fail(mut self, message: &str, exit_code: i32) -> Outcome {
        self.line(Stream::Stderr, message);
        self.outcome.exit_code = exit_code;
        self.outcome
    }

    pub fn done(self) -> Outcome {
        self.outcome
    }
}
