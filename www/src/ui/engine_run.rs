//! The engine's side of the boundary (`ui::engine_api`): the terminal's commands run here, in the `engine`
//! module (www/src/bin/engine.rs) the page loads after its prompt, with the page's session, its project and
//! callbacks into its terminal. What the page's wasm no longer carries: the interpreter, the builder, compose,
//! the page's image store and build cache, the layer-worker pool, `docker save`'s archives.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use futures_util::future::{AbortHandle, Abortable};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::build_view::{BuildView, BuildViewAction};
use super::engine_api::{callback, stream_name, AttachTo, Ended, RunRequest, RunResponse};
use super::offline::companion_online;
use super::project::Project;
use super::project_files::PageFiles;
use super::session::PageSession;
use super::store::IMAGE_STORE;
use crate::fetch::CommandAbort;
use slipway::builder::{Event, LocalStore};
use slipway::cli::context::{Prompter, Stream};
use slipway::cli::interpret::{plan_line, run_command};
use slipway::cli::outcome::{Outcome, Step, INTERRUPTED};
use slipway::cli::parse::Invocation;
use slipway::cli::project_files::ProjectFiles;
use slipway::cli::spec::Flag;

/// The command in flight (the terminal runs one at a time): what Ctrl-C stops.
#[derive(Default)]
struct Current {
    abort: Option<AbortHandle>,
    /// Closes the command's HTTP requests (dropping its future does not).
    requests: Option<CommandAbort>,
    /// The container a foreground `docker run` waits for, and whether it was `--rm`.
    foreground: Option<(String, bool)>,
    /// Which command this is (a command that ends after Ctrl-C leaves the next one's alone).
    number: u64,
}

thread_local! {
    static CURRENT: RefCell<Current> = RefCell::new(Current::default());
}

/// The page's callbacks for one command (the object passed to `run`, names in `engine_api::callback`).
pub struct Host(JsValue);

impl Host {
    pub fn new(callbacks: JsValue) -> Self {
        Host(callbacks)
    }

    fn call(&self, name: &str, args: &[JsValue]) -> JsValue {
        let Some(f) = Reflect::get(&self.0, &name.into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
        else {
            return JsValue::UNDEFINED;
        };
        let args: js_sys::Array = args.iter().collect();
        f.apply(&JsValue::NULL, &args).unwrap_or(JsValue::UNDEFINED)
    }

    fn progress(&self, stream: Stream, line: &str) {
        let stream = stream_name(stream == Stream::Stdout);
        self.call(callback::PROGRESS, &[stream.into(), line.into()]);
    }

    fn status(&self, stream: Stream, key: &str, line: &str) {
        let stream = stream_name(stream == Stream::Stdout);
        self.call(callback::STATUS, &[stream.into(), key.into(), line.into()]);
    }

    async fn promised(&self, name: &str, args: &[JsValue]) -> Option<JsValue> {
        let promise = self.call(name, args).dyn_into::<Promise>().ok()?;
        JsFuture::from(promise).await.ok()
    }

    fn build_view(&self, view: &BuildView) {
        if let Ok(json) = serde_json::to_string(view) {
            self.call(callback::BUILD, &[json.into()]);
        }
    }
}

impl Prompter for Host {
    fn ask<'p>(&'p self, text: &'p str, echo: bool) -> Pin<Box<dyn Future<Output = Option<String>> + 'p>> {
        Box::pin(async move {
            let answer = self.promised(callback::ASK, &[text.into(), echo.into()]).await?;
            answer.as_string()
        })
    }
}

/// Run one command of the terminal to its end (or to Ctrl-C: [`abort`]).
pub async fn run(request: RunRequest, host: Host) -> RunResponse {
    super::session::adopt(&request.token, &request.credentials);
    let (handle, registration) = AbortHandle::new_pair();
    let number = CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        let number = current.number + 1;
        *current = Current {
            abort: Some(handle),
            requests: Some(CommandAbort::begin()),
            foreground: None,
            number,
        };
        number
    });
    let files = request.project.clone().map(PageFiles::new);
    let ended = Abortable::new(command(&request, &host, files.as_ref()), registration).await;
    let (ended, attach) = match ended {
        Ok(Ok(outcome)) => (Some(outcome), None),
        Ok(Err(attach)) => (None, Some(attach)),
        Err(_aborted) => (Some(Outcome::failure(String::new(), INTERRUPTED)), None),
    };
    // Ended: nothing left to stop (aborted: `abort` took it already).
    CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        if current.number == number {
            *current = Current {
                number,
                ..Current::default()
            };
        }
    });
    RunResponse {
        ended: ended.map(|o| Ended {
            stdout: o.stdout,
            stderr: o.stderr,
            exit_code: o.exit_code,
        }),
        attach,
        token: super::session::page_session(),
        credentials: super::session::credentials_json(),
        writes: files.map(|f| f.take_writes()).unwrap_or_default(),
    }
}

/// Ctrl-C: drop the command in flight, close its requests, then stop its foreground container (nothing is left
/// running); resolves once it is stopped.
pub async fn abort() {
    let current = CURRENT.with(|c| {
        let mut current = c.borrow_mut();
        let number = current.number;
        std::mem::replace(
            &mut *current,
            Current {
                number,
                ..Current::default()
            },
        )
    });
    if let Some(abort) = current.abort {
        abort.abort();
    }
    if let Some(requests) = current.requests {
        requests.abort();
    }
    if let Some((id, remove)) = current.foreground {
        let session = PageSession::new();
        slipway::cli::containers::interrupt(session.transport(), "", &id, remove).await;
    }
}

type Ran = Result<Outcome, AttachTo>;

async fn command(request: &RunRequest, host: &Host, files: Option<&PageFiles>) -> Ran {
    let files = files.map(|f| f as &dyn ProjectFiles);
    if let Some(save) = slipway::cli::offline::plan_save(&request.line) {
        return Ok(match save {
            Err(outcome) => outcome,
            Ok(save) => super::offline::save_into(&save.image, &save.path, files).await,
        });
    }
    match plan_line(&request.line) {
        Step::Done(outcome) => Ok(outcome),
        Step::Build(inv) => {
            let tree = request.project.as_ref().map(Project::context_tree).unwrap_or_default();
            Ok(build_in_page(host, &inv, &tree).await)
        }
        Step::Companion(inv) => Ok(companion_command(request, host, files, &inv).await),
        Step::Compose(inv) => compose(host, files, &inv, request.project.as_ref()).await,
        Step::Attach(inv) => attach(host, files, inv, request.size).await,
    }
}

async fn companion_command(
    request: &RunRequest,
    host: &Host,
    files: Option<&dyn ProjectFiles>,
    inv: &Invocation,
) -> Outcome {
    if !companion_online().await {
        // Offline: `docker images` from the page's own store, the rest say why not.
        let now = (js_sys::Date::now() / 1000.0) as u64;
        let store = LocalStore { kv: &IMAGE_STORE };
        return slipway::cli::offline::run_offline(&store, inv, now).await;
    }
    let session = PageSession::for_command().await;
    let (progress, status) = (
        |s: Stream, l: &str| host.progress(s, l),
        |s: Stream, k: &str, l: &str| host.status(s, k, l),
    );
    let remove = inv.flags.is_set(Flag::RM);
    let foreground = |id: &str| {
        CURRENT.with(|c| c.borrow_mut().foreground = Some((id.to_string(), remove)));
        host.call(callback::FOREGROUND, &[id.into()]);
    };
    let mut ctx = session.context(Some(&progress));
    ctx.status = Some(&status);
    ctx.foreground = Some(&foreground);
    ctx.prompter = Some(host);
    ctx.suggested_user = Some(request.login_user.as_str()).filter(|user| !user.trim().is_empty());
    // `docker cp`: the project's files; the page's file tree shows what lands there.
    ctx.files = files;
    let outcome = run_command(&ctx, inv).await;
    session.save_credentials();
    outcome
}

/// `docker compose` on the page's project: `config` here, `up`/`down`/`ps` on the companion.
async fn compose(host: &Host, files: Option<&dyn ProjectFiles>, inv: &Invocation, project: Option<&Project>) -> Ran {
    let Some(project) = project else {
        return Ok(Outcome::failure("no configuration file provided: not found\n".into(), 1));
    };
    if !slipway::cli::compose::needs_companion(inv) {
        return Ok(super::compose_model::run_in_page(inv, project));
    }
    if !companion_online().await {
        return Ok(slipway::cli::offline::needs_companion(inv));
    }
    let session = PageSession::for_command().await;
    let (progress, status) = (
        |s: Stream, l: &str| host.progress(s, l),
        |s: Stream, k: &str, l: &str| host.status(s, k, l),
    );
    // Attached `up` stops its containers at Ctrl-C and prints what it does.
    let next = || {
        Box::pin(async move {
            host.promised(callback::INTERRUPT, &[]).await;
        }) as Pin<Box<dyn Future<Output = ()> + '_>>
    };
    let mut ctx = session.context(Some(&progress));
    // A terminal: `logs` and attached `up` colour each container's prefix.
    ctx.status = Some(&status);
    ctx.interrupt = Some(&next);
    // Binds of the project's files (`- .:/code`) are packed from the file tree.
    ctx.files = files;
    let builder = PageBuilder {
        host,
        tree: project.context_tree(),
    };
    if !slipway::cli::compose::attaches(inv) {
        return Ok(super::compose_model::run_on_companion(&ctx, inv, project, Some(&builder)).await);
    }
    // `docker compose exec` and attached `run` (built first with `--build`): the terminal attaches to the
    // process, as for `docker exec -it`.
    let started = super::compose_model::attach_on_companion(&ctx, inv, project, Some(&builder)).await;
    let tty = slipway::cli::compose::attach_tty(inv);
    match started {
        Ok(target) => Err(attach_to(target, tty)),
        Err(outcome) => Ok(outcome),
    }
}

fn attach_to(target: slipway::cli::attach::AttachTarget, tty: bool) -> AttachTo {
    AttachTo {
        container: target.container,
        path: target.path,
        tty,
        quiet_detach: target.quiet_detach,
    }
}

/// `docker run -it` or `docker exec`: start the process (a run pulls first, like `docker run`); the page then
/// hands its terminal to it over the attach WebSocket until it exits.
async fn attach(host: &Host, files: Option<&dyn ProjectFiles>, inv: Invocation, size: [u16; 2]) -> Ran {
    if !companion_online().await {
        return Ok(slipway::cli::offline::needs_companion(&inv));
    }
    let session = PageSession::for_command().await;
    let (progress, status) = (
        |s: Stream, l: &str| host.progress(s, l),
        |s: Stream, k: &str, l: &str| host.status(s, k, l),
    );
    let mut ctx = session.context(Some(&progress));
    ctx.status = Some(&status);
    // `docker run -it -v ./src:/app`: binds are packed from the file tree.
    ctx.files = files;
    let started = slipway::cli::attach::start(&ctx, &inv, Some(size)).await;
    let tty = inv.flags.is_set(Flag::TTY);
    match started {
        Ok(target) => Err(attach_to(target, tty)),
        Err(outcome) => Ok(outcome),
    }
}

/// `docker compose build` and `up --build`: each service's `docker build` line run as the terminal runs
/// `docker build`, on the project's files.
struct PageBuilder<'h> {
    host: &'h Host,
    tree: slipway::layer::FileTree,
}

impl slipway::cli::compose_build::ImageBuilder for PageBuilder<'_> {
    fn build<'b>(&'b self, inv: &'b Invocation) -> Pin<Box<dyn Future<Output = Outcome> + 'b>> {
        Box::pin(build_in_page(self.host, inv, &self.tree))
    }
}

/// `docker build` (through the companion, or without it for COPY-only builds): BuildKit's plain progress goes to
/// the terminal line by line, the events to the Build panel.
async fn build_in_page(host: &Host, inv: &Invocation, tree: &slipway::layer::FileTree) -> Outcome {
    let pending = RefCell::new(String::new());
    let stream = |chunk: &str| {
        // Whole lines only: a chunk may end mid-line.
        let mut pending = pending.borrow_mut();
        pending.push_str(chunk);
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            host.progress(Stream::Stderr, line.trim_end_matches('\n'));
        }
    };
    let view = RefCell::new(BuildView::default().reduce(BuildViewAction::Begin));
    host.build_view(&view.borrow());
    let event = |e: &Event| {
        let next = view.borrow().clone().reduce(BuildViewAction::Event(e.clone()));
        host.build_view(&next);
        *view.borrow_mut() = next;
    };
    let built = super::page_build::build(inv, tree, &stream, &event).await;
    let done = view.borrow().clone().reduce(BuildViewAction::finished(&built.outcome));
    host.build_view(&done);
    let rest = pending.borrow().clone();
    if !rest.is_empty() {
        host.progress(Stream::Stderr, &rest);
    }
    // What was streamed is already on the screen; keep only the ending.
    built.unstreamed()
}

/// `docker save` into a download named `file` (the Images panel's button).
pub async fn download_image(name: &str, file: &str) -> Result<(), String> {
    super::offline::download_image(name, file).await
}

/// The layer pass's progress, for the page's bar.
pub fn on_layer_progress(listener: Function) {
    super::layer_pool::set_listener(std::rc::Rc::new(move |done, total, active| {
        let _ = listener.call3(
            &JsValue::NULL,
            &(done as f64).into(),
            &(total as f64).into(),
            &active.into(),
        );
    }));
}

/// The Dockerfile editor's check of `text`, as JSON (`editor_model::DockerfileCheck`).
pub fn lint(text: &str) -> String {
    serde_json::to_string(&super::editor_model::DockerfileCheck::of(text)).unwrap_or_default()
}

/// The compose editor's check of the file `name`, as JSON (`compose_model::ComposeCheck`).
pub fn compose_check(name: &str, text: &str) -> String {
    serde_json::to_string(&super::compose_model::ComposeCheck::of(name, text)).unwrap_or_default()
}

/// Parse + check alone, timed precisely in the page: runs `dockerfile::lint::lint` `runs` times on `text` and
/// returns the mean in milliseconds (one `performance.now()` pair around the loop, so its 0.1 ms resolution
/// divides by `runs`). The editor's `data-check-ms` times its whole update once; this is for comparing with the
/// native bench. Called by the browser test as `window.slipwayEngineReady.slipway_lint_mean_ms(text, runs)`.
pub fn lint_mean_ms(text: &str, runs: u32) -> f64 {
    use slipway::dockerfile::lint::{lint, LintOptions};
    let Some(clock) = web_sys::window().and_then(|w| w.performance()) else {
        return f64::NAN;
    };
    let opts = LintOptions::default();
    let runs = runs.max(1);
    let start = clock.now();
    for _ in 0..runs {
        // The result is dropped inside the loop, as the editor drops the previous one.
        drop(std::hint::black_box(lint(std::hint::black_box(text), &opts)));
    }
    (clock.now() - start) / f64::from(runs)
}

