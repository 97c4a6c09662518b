//! The boundary between the page and its engine (docs/architecture.md, "The engine"): the page's wasm keeps the
//! UI and the reducers, the `engine` module (www/src/bin/engine.rs, loaded right after the prompt) runs the
//! terminal's commands, `docker save`'s archives and the editors' checks. Everything crossing it is one of these
//! types as JSON; the JavaScript names of the engine's exports and of the page's callbacks are here too, so both
//! sides spell them once.

use serde::{Deserialize, Serialize};

use super::project::{Project, ProjectFile};

/// The engine's script and wasm (Trunk builds `engine` as it builds the embed runner: unhashed names).
pub const ENGINE_SCRIPT: &str = "/engine.js";
pub const ENGINE_WASM: &str = "/engine_bg.wasm";
/// The engine's start script (www/engine-start.js): it instantiates the wasm.
pub const ENGINE_START: &str = "/engine-start.js";
/// Where the start script leaves the promise of the engine's exports, and the exports once they are there.
pub const ENGINE_GLOBAL: &str = "slipwayEngine";
pub const ENGINE_READY: &str = "slipwayEngineReady";

/// The engine's exports (www/src/bin/engine.rs).
pub mod export {
    /// `run(request: RunRequest JSON, callbacks) -> Promise<RunResponse JSON>`.
    pub const RUN: &str = "run";
    /// `abort() -> Promise`: Ctrl-C of the command in flight; resolves once its foreground container is stopped.
    pub const ABORT: &str = "abort";
    /// `lint(text) -> DockerfileCheck JSON`.
    pub const LINT: &str = "lint";
    /// `compose_check(name, text) -> ComposeCheck JSON`.
    pub const COMPOSE_CHECK: &str = "compose_check";
    /// `download_image(name, file) -> Promise` (rejects with the reason): the Images panel's Download.
    pub const DOWNLOAD_IMAGE: &str = "download_image";
    /// `on_layer_progress(fn(done, total, active))`: the layer pass's bar.
    pub const ON_LAYER_PROGRESS: &str = "on_layer_progress";
}

/// The callbacks a command calls on the page (properties of the object passed to `run`).
pub mod callback {
    /// `progress(stream, line)`: a line of progress, as it happens.
    pub const PROGRESS: &str = "progress";
    /// `status(stream, key, line)`: a status line redrawn in place (progress bars).
    pub const STATUS: &str = "status";
    /// `foreground(id)`: the container a foreground `docker run` waits for.
    pub const FOREGROUND: &str = "foreground";
    /// `ask(text, echo) -> Promise<string>`: a question typed at the terminal (`docker login`, the prunes).
    pub const ASK: &str = "ask";
    /// `interrupt() -> Promise`: resolves at the next Ctrl-C (attached `docker compose up` catches it).
    pub const INTERRUPT: &str = "interrupt";
    /// `build(view JSON)`: the Build panel's view after each of a build's events.
    pub const BUILD: &str = "build";
}

/// Which output a progress line belongs to.
pub fn stream_name(stdout: bool) -> &'static str {
    if stdout {
        "stdout"
    } else {
        "stderr"
    }
}

/// One command typed at the terminal, with what the page holds that the command needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRequest {
    /// The line as submitted (the engine plans it again: the page's reducer only decided it runs).
    pub line: String,
    /// The page's session token and `docker login` credentials (JSON): the engine uses them and gives back
    /// what it renewed ([`RunResponse::token`]).
    pub token: String,
    pub credentials: String,
    /// The user name `docker login` offers (the lesson's user name field).
    pub login_user: String,
    /// The terminal's `[rows, cols]` (a `-t` container's TTY starts with it).
    pub size: [u16; 2],
    /// The learner's project: the build context, binds, `docker compose`'s files, `docker cp`'s source.
    pub project: Option<Project>,
}

/// How a command ended, as `cli::outcome::Outcome`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ended {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

/// A process to hand the terminal to (`docker run -it`, `docker exec`): `cli::attach::AttachTarget`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachTo {
    pub container: String,
    pub path: String,
    /// It has a TTY (else the terminal turns `\n` into `\r\n`).
    pub tty: bool,
    /// The detach keys end it without a word, exit 0 (`docker run -it`), not with `read escape sequence`.
    pub quiet_detach: bool,
}

/// A change a command made to the project (`docker cp` out of a container, `docker save -o`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectWrite {
    NewFolder(String),
    Upload {
        folder: String,
        files: Vec<(String, ProjectFile)>,
    },
}

/// What the engine answers to a [`RunRequest`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunResponse {
    /// How the command ended; `None` when it hands the terminal to a process ([`RunResponse::attach`]).
    pub ended: Option<Ended>,
    pub attach: Option<AttachTo>,
    /// The session token and credentials after the command (renewed, logged in or out).
    pub token: String,
    pub credentials: String,
    pub writes: Vec<ProjectWrite>,
}
