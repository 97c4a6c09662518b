//! The terminal pane: xterm.js draws it, the reducer in `terminal_state` decides what it shows, and the shared
//! interpreter runs the commands. Attached to a container (`run -it`, `exec -it`), xterm's bytes go straight to
//! the container's TTY and back.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use futures_util::future::{AbortHandle, Abortable};
use wasm_bindgen::closure::Closure;
use yew::prelude::*;

use super::attach::{AttachEvent, AttachSocket};
use super::files::ProjectHandle;
use super::interrupts::Interrupts;
use super::offline::companion_online;
use super::pending_answer::PendingAnswer;
use super::session::PageSession;
use super::store::IMAGE_STORE;
use super::terminal_state::{Effect, TerminalAction, TerminalState, INTERRUPTED};
use super::xterm::{self, XtermHandle};
use crate::fetch::CommandAbort;
use slipway::builder::LocalStore;
use slipway::cli::attach::AttachTarget;
use slipway::cli::complete::complete;
use slipway::cli::context::{Prompter, Stream};
use slipway::cli::interpret::run_command;
use slipway::cli::outcome::{Outcome, Step};
use slipway::cli::parse::Invocation;
use slipway::cli::spec::{CommandId, Flag};

#[derive(Properties, PartialEq, Clone)]
pub struct TerminalProps {
    /// History restored from the saved workspace (↑ reaches it).
    #[prop_or_default]
    pub initial_history: Vec<String>,
    /// Told the whole history after each command (the workspace saves it; lesson checks read it).
    #[prop_or_default]
    pub on_history: Callback<Vec<String>>,
    /// Told each command that finishes, with its exit code.
    #[prop_or_default]
    pub on_finished: Callback<(String, i32)>,
    /// A command put on the input line from outside (a lesson's "Type it" button); the number makes a repeat
    /// of the same command count as new.
    #[prop_or_default]
    pub prefill: Option<(u32, String)>,
    /// Called after each companion command: images or the registry may have changed.
    #[prop_or_default]
    pub on_command_done: Callback<()>,
    /// The page's font size (its font-size control), in CSS pixels.
    #[prop_or(14)]
    pub font_px: u8,
    /// The page's theme: `dark` or `light`.
    #[prop_or_else(|| "dark".to_string())]
    pub theme: String,
    /// The user name `docker login` offers at its `Username` prompt (the lesson's user name field).
    #[prop_or_default]
    pub login_user: String,
}

/// The running terminal: its state, the xterm.js it draws into, and what the command in flight holds.
/// Shared by xterm's handlers and the commands' tasks; no borrow is held across a call out.
struct Console {
    state: RefCell<TerminalState>,
    term: XtermHandle,
    /// The attach WebSocket of the running `docker run -it` / `docker exec`, while there is one.
    socket: RefCell<Option<AttachSocket>>,
    /// Aborts the command in flight (Ctrl-C).
    abort: RefCell<Option<AbortHandle>>,
    /// Closes the command's HTTP requests on Ctrl-C (dropping its future does not).
    requests: RefCell<Option<CommandAbort>>,
    /// The container a foreground `docker run` waits for, and whether it was `--rm`.
    foreground: RefCell<Option<(String, bool)>>,
    /// A foreground `docker run` has not said its container yet: Ctrl-C waits for it (`cancel_pending`), or
    /// the container it is starting would be left running.
    run_starting: Cell<bool>,
    cancel_pending: Cell<bool>,
    /// The answer to the question the running command asked (`docker login`'s prompts), once typed.
    answer: PendingAnswer,
    /// Ctrl-C for a command that catches it (attached `docker compose up`) instead of being dropped.
    interrupts: Interrupts,
    /// The latest props (their callbacks) and the project (build context, Tab completion of paths).
    props: RefCell<TerminalProps>,
    project: RefCell<Option<ProjectHandle>>,
    /// The "Terminal output" transcript and a re-render for the attach hint.
    transcript: NodeRef,
    rerender: Callback<()>,
    _handlers: RefCell<Vec<Box<dyn std::any::Any>>>,
}

/// The page terminal's side of [`Prompter`]: the reducer shows the question and gathers the typed answer;
/// Ctrl-C drops the waiting command, as it does any command.
struct TerminalPrompter<'c>(&'c Rc<Console>);

impl Prompter for TerminalPrompter<'_> {
    fn ask<'p>(&'p self, text: &'p str, echo: bool) -> Pin<Box<dyn Future<Output = Option<String>> + 'p>> {
        let console = self.0;
        Box::pin(async move {
            console.answer.reset();
            console.dispatch(TerminalAction::Ask {
                text: text.to_string(),
                echo,
            });
            Some(console.answer.wait().await)
        })
    }
}

impl Console {
    fn dispatch(self: &Rc<Self>, action: TerminalAction) {
        let (effects, output, history, finished, attached_changed, busy) = {
            let mut state = self.state.borrow_mut();
            let (history_len, finished_len) = (state.editor.history.len(), state.finished.len());
            let attached = state.attached.is_some();
            let effects = state.reduce(action);
            let history = (state.editor.history.len() != history_len).then(|| state.editor.history.clone());
            let finished = (state.finished.len() != finished_len)
                .then(|| state.finished.last().cloned())
                .flatten();
            let attached_changed = state.attached.is_some() != attached;
            (
                effects,
                state.take_output(),
                history,
                finished,
                attached_changed,
                state.busy,
            )
        };
        if !output.is_empty() {
            self.term.write_text(&output);
        }
        if busy {
            // Busy shows at once; idle only once the transcript has the output (see `sync_transcript`).
            self.set_busy(true);
        }
        let props = self.props.borrow().clone();
        if let Some(history) = history {
            props.on_history.emit(history);
        }
        if let Some(done) = finished {
            props.on_finished.emit(done);
        }
        if attached_changed {
            self.rerender.emit(());
        }
        for effect in effects {
            self.start(effect);
        }
    }

    fn abort(&self) {
        let abort = self.abort.borrow_mut().take();
        if let Some(abort) = abort {
            abort.abort();
        }
        let requests = self.requests.borrow_mut().take();
        if let Some(requests) = requests {
            requests.abort();
        }
    }

    /// Images, containers or the registry may have changed (the panels refresh).
    fn command_done(&self) {
        let on_command_done = self.props.borrow().on_command_done.clone();
        on_command_done.emit(());
    }

    fn set_busy(&self, busy: bool) {
        if let Some(textarea) = self.term.textarea() {
            let _ = textarea.set_attribute("aria-busy", if busy { "true" } else { "false" });
        }
    }

    /// After xterm parsed what was written: the transcript gets the buffer's text, then aria-busy follows the
    /// state, so a reader that waits for idle finds the command's output already there.
    fn sync_transcript(&self) {
        if let Some(transcript) = self.transcript.cast::<web_sys::Element>() {
            let (shown, text) = (transcript.text_content().unwrap_or_default(), self.term.text());
            match text.strip_prefix(shown.as_str()) {
                // Only what is new is added, so a screen reader announces the new output, not all of it.
                Some(added) if !shown.is_empty() => {
                    if !added.is_empty() {
                        let _ = transcript.append_with_str_1(added);
                    }
                }
                _ => transcript.set_text_content(Some(&text)),
            }
        }
        self.set_busy(self.state.borrow().busy);
    }

    fn start(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::Run(Step::Build(inv)) => {
                let tree = self
                    .project
                    .borrow()
                    .as_ref()
                    .map(|p| p.project.context_tree())
                    .unwrap_or_default();
                let console = self.clone();
                self.run_abortable(async move { build_in_page(&console, &inv, &tree).await });
            }
            Effect::Run(Step::Companion(inv)) => {
                let foreground_run =
                    inv.command.id == CommandId::ContainerRun && !inv.flags.is_set(Flag::DETACH);
                self.run_starting.set(foreground_run);
                let console = self.clone();
                self.run_abortable(async move { console.companion_command(&inv).await });
            }
            Effect::Run(Step::Compose(inv)) => {
                let project = self.project.borrow().as_ref().map(|p| p.project.clone());
                let console = self.clone();
                self.run_abortable(async move { console.compose(&inv, project).await });
            }
            Effect::Run(Step::Attach(inv)) => {
                let console = self.clone();
                self.run_abortable(async move { console.attach(inv).await });
            }
            Effect::Run(Step::Done(_)) => {}
            Effect::Complete(before) => {
                let paths: Vec<String> = self
                    .project
                    .borrow()
                    .as_ref()
                    .map(|p| p.project.files.keys().cloned().collect())
                    .unwrap_or_default();
                let done = complete(&before, &super::session::known_images(), &paths);
                let choices = if done.choices.len() > 1 {
                    done.choices
                } else {
                    Vec::new()
                };
                self.dispatch(TerminalAction::Completed {
                    before: done.line,
                    choices,
                });
            }
            Effect::Answer(answer) => self.answer.give(answer),
            Effect::Cancel if self.interrupts.caught() => self.interrupts.press(),
            Effect::Cancel if self.run_starting.get() => self.cancel_pending.set(true),
            Effect::Cancel => self.abort(),
            Effect::Save(save) => {
                let files = self.project.borrow().clone().map(super::project_files::PageFiles);
                self.run_abortable(async move {
                    Some(match save {
                        Err(outcome) => outcome,
                        Ok(save) => super::offline::save_into(&save.image, &save.path, files.as_ref()).await,
                    })
                })
            }
            Effect::ToContainer(data) => {
                if let Some(socket) = self.socket.borrow().as_ref() {
                    socket.send(data.as_bytes());
                }
            }
        }
    }

    /// Run a command's future until it ends or Ctrl-C aborts it; then the prompt comes back. An aborted
    /// foreground `docker run` has its container stopped first, so nothing is left running.
    fn run_abortable(self: &Rc<Self>, command: impl std::future::Future<Output = Option<Outcome>> + 'static) {
        let (handle, registration) = AbortHandle::new_pair();
        *self.abort.borrow_mut() = Some(handle);
        *self.requests.borrow_mut() = Some(CommandAbort::begin());
        self.foreground.borrow_mut().take();
        self.cancel_pending.set(false);
        self.interrupts.reset();
        let console = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let ended = Abortable::new(command, registration).await;
            console.abort.borrow_mut().take();
            console.requests.borrow_mut().take();
            console.run_starting.set(false);
            let outcome = match ended {
                Ok(Some(outcome)) => outcome,
                // Attached: the container's exit gives the prompt back (`Detached`).
                Ok(None) => return,
                Err(_aborted) => {
                    let foreground = console.foreground.borrow_mut().take();
                    if let Some((id, remove)) = foreground {
                        let session = PageSession::new();
                        slipway::cli::containers::interrupt(session.transport(), "", &id, remove).await;
                    }
                    Outcome::failure(String::new(), INTERRUPTED)
                }
            };
            console.dispatch(TerminalAction::Finished(outcome));
            console.command_done();
        });
    }

    /// Where a running command's progress lines go: the terminal, as they happen.
    fn progress_sink(self: &Rc<Self>) -> impl Fn(Stream, &str) + '_ {
        move |stream, line| self.dispatch(TerminalAction::Progress(stream, line.to_string()))
    }

    /// Where a layer's status line goes: redrawn in place in the terminal (docker's progress bars).
    fn status_sink(self: &Rc<Self>) -> impl Fn(Stream, &str, &str) + '_ {
        move |stream, key, line| {
            self.dispatch(TerminalAction::Status {
                stream,
                key: key.to_string(),
                line: line.to_string(),
            })
        }
    }

    async fn companion_command(self: &Rc<Self>, inv: &Invocation) -> Option<Outcome> {
        if !companion_online().await {
            // Offline: `docker images` from the page's own store, the rest say why not.
            let now = (js_sys::Date::now() / 1000.0) as u64;
            let store = LocalStore { kv: &IMAGE_STORE };
            return Some(slipway::cli::offline::run_offline(&store, inv, now).await);
        }
        let session = PageSession::for_command().await;
        let (progress, status) = (self.progress_sink(), self.status_sink());
        let remove = inv.flags.is_set(Flag::RM);
        let foreground = |id: &str| {
            *self.foreground.borrow_mut() = Some((id.to_string(), remove));
            self.run_starting.set(false);
            if self.cancel_pending.get() {
                self.abort();
            }
        };
        let prompter = TerminalPrompter(self);
        let login_user = self.props.borrow().login_user.clone();
        let mut ctx = session.context(Some(&progress));
        ctx.status = Some(&status);
        ctx.foreground = Some(&foreground);
        ctx.prompter = Some(&prompter);
        ctx.suggested_user = Some(login_user.as_str()).filter(|user| !user.trim().is_empty());
        // `docker cp`: the project's files, and the file tree shows what lands there.
        let files = self.project.borrow().clone().map(super::project_files::PageFiles);
        ctx.files = files
            .as_ref()
            .map(|f| f as &dyn slipway::cli::project_files::ProjectFiles);
        let outcome = run_command(&ctx, inv).await;
        session.save_credentials();
        Some(outcome)
    }

    /// `docker compose` on the page's project: `config` in the page, `up`/`down`/`ps` on the companion.
    async fn compose(self: &Rc<Self>, inv: &Invocation, project: Option<super::project::Project>) -> Option<Outcome> {
        let Some(project) = project else {
            return Some(Outcome::failure("no configuration file provided: not found\n".into(), 1));
        };
        if !slipway::cli::compose::needs_companion(inv) {
            return Some(super::compose_model::run_in_page(inv, &project));
        }
        if !companion_online().await {
            return Some(slipway::cli::offline::needs_companion(inv));
        }
        let session = PageSession::for_command().await;
        let (progress, status) = (self.progress_sink(), self.status_sink());
        // Attached `up` stops its containers at Ctrl-C and prints what it does.
        let first_ask = || self.dispatch(TerminalAction::CatchesInterrupt);
        let next = || Box::pin(self.interrupts.next(&first_ask)) as Pin<Box<dyn Future<Output = ()> + '_>>;
        let mut ctx = session.context(Some(&progress));
        // A terminal: `logs` and attached `up` colour each container's prefix.
        ctx.status = Some(&status);
        ctx.interrupt = Some(&next);
        // Binds of the project's files (`- .:/code`) are packed from the file tree.
        let files = self.project.borrow().clone().map(super::project_files::PageFiles);
        ctx.files = files
            .as_ref()
            .map(|f| f as &dyn slipway::cli::project_files::ProjectFiles);
        if !slipway::cli::compose::attaches(inv) {
            let builder = PageBuilder {
                console: self.clone(),
                tree: project.context_tree(),
            };
            return Some(
                super::compose_model::run_on_companion(&ctx, inv, &project, Some(&builder)).await,
            );
        }
        // `docker compose exec`: the terminal attaches to the process, as for `docker exec -it`.
        let started = super::compose_model::attach_on_companion(&ctx, inv, &project).await;
        self.command_done();
        match started {
            Ok(target) => self.open_attach(target, slipway::cli::compose::attach_tty(inv)),
            Err(outcome) => Some(outcome),
        }
    }

    /// `docker run -it` or `docker exec` in the page: start the process (a run pulls first, like `docker
    /// run`), then hand the terminal to it over the attach WebSocket until it exits.
    async fn attach(self: &Rc<Self>, inv: Invocation) -> Option<Outcome> {
        if !companion_online().await {
            return Some(slipway::cli::offline::needs_companion(&inv));
        }
        let session = PageSession::for_command().await;
        let started = {
            let (progress, status) = (self.progress_sink(), self.status_sink());
            let mut ctx = session.context(Some(&progress));
            ctx.status = Some(&status);
            // `docker run -it -v ./src:/app`: binds are packed from the file tree.
            let files = self.project.borrow().clone().map(super::project_files::PageFiles);
            ctx.files = files
                .as_ref()
                .map(|f| f as &dyn slipway::cli::project_files::ProjectFiles);
            let size = [self.term.rows(), self.term.cols()];
            slipway::cli::attach::start(&ctx, &inv, Some(size)).await
        };
        self.command_done();
        match started {
            Ok(target) => self.open_attach(target, inv.flags.is_set(Flag::TTY)),
            Err(outcome) => Some(outcome),
        }
    }

    /// Hand the terminal to a started process (`tty`: it has one) over the attach WebSocket until it exits.
    fn open_attach(self: &Rc<Self>, target: AttachTarget, tty: bool) -> Option<Outcome> {
        // Without a TTY nothing turns the process's `\n` into `\r\n` (the TTY's onlcr): the terminal must.
        let on_event: Rc<dyn Fn(AttachEvent)> = {
            let console = self.clone();
            Rc::new(move |event| match event {
                AttachEvent::Output(bytes) if tty => console.term.write_bytes(bytes),
                AttachEvent::Output(bytes) => console.term.write_bytes(crlf(&bytes)),
                AttachEvent::Ended(outcome) => {
                    console.dispatch(TerminalAction::Detached(outcome));
                    console.command_done();
                    // Freed after this handler returns: the socket owns the handler running now.
                    let console = console.clone();
                    wasm_bindgen_futures::spawn_local(
                        async move { drop(console.socket.borrow_mut().take()) },
                    );
                }
            })
        };
        match AttachSocket::open(&target.path, self.term.cols(), self.term.rows(), on_event) {
            Ok(opened) => {
                *self.socket.borrow_mut() = Some(opened);
                self.dispatch(TerminalAction::Attached(target.container));
                None
            }
            Err(e) => Some(Outcome::failure(format!("docker: {e}"), 125)),
        }
    }
}

#[function_component(Terminal)]
pub fn terminal(props: &TerminalProps) -> Html {
    let screen_ref = use_node_ref();
    let transcript_ref = use_node_ref();
    let console: Rc<RefCell<Option<Rc<Console>>>> = use_mut_ref(|| None);
    let rerender = use_force_update();
    let project = use_context::<ProjectHandle>();
    if let Some(console) = console.borrow().as_ref() {
        *console.props.borrow_mut() = props.clone();
        *console.project.borrow_mut() = project.clone();
    }
    {
        let (console, screen_ref, transcript_ref) =
            (console.clone(), screen_ref.clone(), transcript_ref.clone());
        let (props, project) = (props.clone(), project.clone());
        use_effect_with((), move |_| {
            if let Some(screen) = screen_ref.cast::<web_sys::Element>() {
                let term = xterm::open(&screen, props.font_px, &props.theme);
                let opened = open_console(term, props, project, transcript_ref, rerender);
                *console.borrow_mut() = Some(opened);
            }
            // The page-load benchmark reads this mark: the prompt is drawn and takes keys.
            if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
                let _ = performance.mark("slipway-prompt-ready");
            }
            move || {
                if let Some(console) = console.borrow_mut().take() {
                    console.socket.borrow_mut().take();
                    console.term.dispose();
                }
            }
        });
    }
    {
        let console = console.clone();
        use_effect_with(props.prefill.clone(), move |prefill| {
            let console = console.borrow().clone();
            if let (Some((_, line)), Some(console)) = (prefill, console) {
                console.dispatch(TerminalAction::Prefill(line.clone()));
                console.term.focus();
            }
        });
    }
    {
        let console = console.clone();
        use_effect_with((props.font_px, props.theme.clone()), move |(font_px, theme)| {
            if let Some(console) = console.borrow().as_ref() {
                console.term.set_font_size(*font_px);
                console.term.set_theme(theme);
            }
        });
    }
    let attached = console
        .borrow()
        .as_ref()
        .and_then(|c| c.state.borrow().attached.clone());
    let hint = attached.map(|container| format!("attached to {container} (Ctrl-D or exit to leave)"));
    html! {
        <div class="terminal-box">
            <div ref={screen_ref} class="terminal-screen"></div>
            // What the terminal shows, scrollback included, as text: for screen readers (xterm.js draws rows
            // of spans) and for reading the terminal back in tests.
            <pre ref={transcript_ref} class="terminal-transcript" role="log" aria-label="Terminal output"></pre>
            // Always there (empty when not attached): the children keep their places, so Yew never re-creates
            // the element xterm.js draws into.
            <div class="terminal-hint" role="status">{ hint }</div>
        </div>
    }
}

/// Wire xterm's events to a new console and show the first prompt.
fn open_console(
    term: XtermHandle,
    props: TerminalProps,
    project: Option<ProjectHandle>,
    transcript: NodeRef,
    rerender: UseForceUpdateHandle,
) -> Rc<Console> {
    let mut state = TerminalState::with_history(props.initial_history.clone());
    state.reduce(TerminalAction::Resize {
        cols: term.cols(),
        rows: term.rows(),
    });
    if let Some(textarea) = term.textarea() {
        let _ = textarea.set_attribute("aria-label", "Terminal input");
    }
    let console = Rc::new(Console {
        state: RefCell::new(state),
        term,
        socket: RefCell::new(None),
        abort: RefCell::new(None),
        requests: RefCell::new(None),
        foreground: RefCell::new(None),
        run_starting: Cell::new(false),
        cancel_pending: Cell::new(false),
        answer: PendingAnswer::default(),
        interrupts: Interrupts::default(),
        props: RefCell::new(props),
        project: RefCell::new(project),
        transcript,
        rerender: Callback::from(move |_| rerender.force_update()),
        _handlers: RefCell::new(Vec::new()),
    });
    // The handlers hold the console weakly: it owns them.
    let weak = Rc::downgrade(&console);
    let on_data = Closure::<dyn FnMut(String)>::new({
        let weak = weak.clone();
        move |data: String| {
            if let Some(console) = weak.upgrade() {
                console.dispatch(TerminalAction::Input(data));
            }
        }
    });
    let on_resize = Closure::<dyn FnMut(u16, u16)>::new({
        let weak = weak.clone();
        move |cols: u16, rows: u16| {
            if let Some(console) = weak.upgrade() {
                console.dispatch(TerminalAction::Resize { cols, rows });
                if let Some(socket) = console.socket.borrow().as_ref() {
                    socket.resize(cols, rows);
                }
            }
        }
    });
    // Shift+Tab, and Tab on an empty prompt, move the focus as usual: the terminal is no keyboard trap.
    let key_filter = Closure::<dyn FnMut(web_sys::KeyboardEvent) -> bool>::new({
        let weak = weak.clone();
        move |e: web_sys::KeyboardEvent| {
            let Some(console) = weak.upgrade() else {
                return true;
            };
            let state = console.state.borrow();
            let leaves = e.key() == "Tab"
                && state.attached.is_none()
                && (e.shift_key() || state.busy || state.editor.line().trim().is_empty());
            !leaves
        }
    });
    let on_parsed = Closure::<dyn FnMut()>::new(move || {
        if let Some(console) = weak.upgrade() {
            console.sync_transcript();
        }
    });
    console.term.on_data(&on_data);
    console.term.on_resize(&on_resize);
    console.term.set_key_filter(&key_filter);
    console.term.on_write_parsed(&on_parsed);
    console._handlers.borrow_mut().extend([
        Box::new(on_data) as Box<dyn std::any::Any>,
        Box::new(on_resize),
        Box::new(key_filter),
        Box::new(on_parsed),
    ]);
    if let Some((name, role)) = super::session::member() {
        let greeting = super::sign_in_state::greeting(&name, role);
        console.term.write_text(&format!("{greeting}\r\n"));
        follow_notices(&console);
    }
    let first_prompt = console.state.borrow_mut().take_output();
    console.term.write_text(&first_prompt);
    console.set_busy(false);
    console
}

/// A class member's terminal shows the class's notices while it is open.
fn follow_notices(console: &Rc<Console>) {
    let (weak, alive) = (Rc::downgrade(console), Rc::downgrade(console));
    let show = move |text: String| {
        if let Some(console) = weak.upgrade() {
            console.dispatch(TerminalAction::Notice(text));
        }
    };
    super::notices::follow(show, move || alive.strong_count() > 0);
}

/// Line feeds as a TTY with `onlcr` writes them.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// `docker compose build` and `up --build` in the page: each service's `docker build` line run as the
/// terminal runs `docker build`, on the project's files.
struct PageBuilder {
    console: Rc<Console>,
    tree: slipway::layer::FileTree,
}

impl slipway::cli::compose_build::ImageBuilder for PageBuilder {
    fn build<'b>(
        &'b self,
        inv: &'b Invocation,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + 'b>> {
        Box::pin(async move {
            build_in_page(&self.console, inv, &self.tree)
                .await
                .unwrap_or_default()
        })
    }
}

/// `docker build` in the page (through the companion, or without it for COPY-only builds): the builder streams
/// BuildKit's plain progress into the terminal line by line.
async fn build_in_page(
    console: &Rc<Console>,
    inv: &Invocation,
    tree: &slipway::layer::FileTree,
) -> Option<Outcome> {
    let pending = RefCell::new(String::new());
    let stream = |chunk: &str| {
        // Whole lines only: a chunk may end mid-line.
        let mut pending = pending.borrow_mut();
        pending.push_str(chunk);
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            console.dispatch(TerminalAction::Progress(
                Stream::Stderr,
                line.trim_end_matches('\n').to_string(),
            ));
        }
    };
    let live = super::build_panel::LiveBuild::begin();
    let built = super::page_build::build(inv, tree, &stream, &|e| live.event(e)).await;
    live.finish(&built.outcome);
    let rest = pending.borrow().clone();
    if !rest.is_empty() {
        console.dispatch(TerminalAction::Progress(Stream::Stderr, rest));
    }
    // What was streamed is already on the screen; keep only the ending.
    Some(built.unstreamed())
}
