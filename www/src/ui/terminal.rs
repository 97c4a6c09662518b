//! The terminal pane: xterm.js draws it, the reducer in `terminal_state` decides what it shows, and the page's
//! engine (`ui::engine`, loaded after the prompt) runs the commands. Attached to a container (`run -it`, `exec -it`), xterm's bytes go straight to
//! the container's TTY and back.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures_util::future::{AbortHandle, Abortable};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use yew::prelude::*;

use super::attach::{AttachEvent, AttachSocket};
use super::engine_api::{callback, AttachTo, ProjectWrite, RunRequest, RunResponse};
use super::files::ProjectHandle;
use super::interrupts::Interrupts;
use super::pending_answer::PendingAnswer;
use super::terminal_state::{Effect, TerminalAction, TerminalState, INTERRUPTED};
use super::workspace::ProjectAction;
use super::xterm::{self, XtermHandle};
use slipway::cli::complete::complete;
use slipway::cli::context::Stream;
use slipway::cli::outcome::{Outcome, Step};
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
    /// Aborts the command in flight (Ctrl-C): the page's wait for it, then the engine's command.
    abort: RefCell<Option<AbortHandle>>,
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
            Effect::Run(Step::Companion(inv)) => {
                let foreground_run =
                    inv.command.id == CommandId::ContainerRun && !inv.flags.is_set(Flag::DETACH);
                self.run_starting.set(foreground_run);
                let console = self.clone();
                self.run_abortable(async move { console.in_engine().await });
            }
            Effect::Run(Step::Build(_) | Step::Compose(_) | Step::Attach(_)) | Effect::Save(_) => {
                let console = self.clone();
                self.run_abortable(async move { console.in_engine().await });
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
        self.cancel_pending.set(false);
        self.interrupts.reset();
        let console = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let ended = Abortable::new(command, registration).await;
            console.abort.borrow_mut().take();
            console.run_starting.set(false);
            let outcome = match ended {
                Ok(Some(outcome)) => outcome,
                // Attached: the container's exit gives the prompt back (`Detached`).
                Ok(None) => return,
                Err(_aborted) => {
                    // The engine drops its command and stops a foreground `docker run`'s container.
                    super::engine::abort().await;
                    // What the engine renewed before Ctrl-C (the panels' next requests use it).
                    super::session::latest();
                    Outcome::failure(String::new(), INTERRUPTED)
                }
            };
            console.dispatch(TerminalAction::Finished(outcome));
            console.command_done();
        });
    }

    /// Run the submitted line in the engine, with the page's session, project and terminal.
    async fn in_engine(self: &Rc<Self>) -> Option<Outcome> {
        let line = self.state.borrow().running().unwrap_or_default().to_string();
        let (token, credentials) = super::session::latest();
        let request = RunRequest {
            line,
            token,
            credentials,
            login_user: self.props.borrow().login_user.clone(),
            size: [self.term.rows(), self.term.cols()],
            project: self.project.borrow().as_ref().map(|p| p.project.clone()),
        };
        let callbacks = Callbacks::new(self);
        let answer = super::engine::run(&request, &callbacks.object).await;
        drop(callbacks);
        let response: RunResponse = match answer {
            Ok(response) => response,
            Err(why) => return Some(Outcome::failure(format!("slipway: {why}\n"), 1)),
        };
        super::session::adopt(&response.token, &response.credentials);
        self.apply_writes(response.writes);
        match (response.ended, response.attach) {
            (_, Some(to)) => {
                self.command_done();
                self.open_attach(to)
            }
            (ended, None) => {
                let ended = ended.unwrap_or_default();
                Some(Outcome {
                    stdout: ended.stdout,
                    stderr: ended.stderr,
                    exit_code: ended.exit_code,
                })
            }
        }
    }

    /// What the command wrote into the project (`docker cp` out of a container, `docker save -o`): the file tree
    /// shows it, the workspace saves it.
    fn apply_writes(&self, writes: Vec<ProjectWrite>) {
        let Some(project) = self.project.borrow().clone() else { return };
        for write in writes {
            project.dispatch(match write {
                ProjectWrite::NewFolder(path) => ProjectAction::NewFolder(path),
                ProjectWrite::Upload { folder, files } => ProjectAction::Upload {
                    folder,
                    files: files.into_iter().map(|(path, file)| (path, file.data)).collect(),
                },
            });
        }
    }

    /// Hand the terminal to a started process (`tty`: it has one) over the attach WebSocket until it exits.
    fn open_attach(self: &Rc<Self>, target: AttachTo) -> Option<Outcome> {
        let tty = target.tty;
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
        match AttachSocket::open(&target, self.term.cols(), self.term.rows(), on_event) {
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
            super::web::mark("slipway-prompt-ready");
            // The commands' engine, now the prompt is up: not awaited (a command typed before it arrives waits).
            super::engine::prefetch();
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

/// The page's side of a command running in the engine (`engine_api::callback`): its progress into the terminal,
/// its questions to the reducer, Ctrl-C to a command that catches it, its build to the Build panel. Alive while
/// the command runs; dropped, the engine's calls find nothing (and are ignored).
struct Callbacks {
    object: JsValue,
    _closures: Vec<Box<dyn std::any::Any>>,
}

fn stream_of(name: &str) -> Stream {
    if name == "stdout" {
        Stream::Stdout
    } else {
        Stream::Stderr
    }
}

impl Callbacks {
    fn new(console: &Rc<Console>) -> Self {
        let object = js_sys::Object::new();
        let mut closures: Vec<Box<dyn std::any::Any>> = Vec::new();
        let mut add = |name: &str, f: JsValue, keep: Box<dyn std::any::Any>| {
            let _ = js_sys::Reflect::set(&object, &name.into(), &f);
            closures.push(keep);
        };
        let c = console.clone();
        let progress = Closure::<dyn Fn(String, String)>::new(move |stream: String, line: String| {
            c.dispatch(TerminalAction::Progress(stream_of(&stream), line))
        });
        add(callback::PROGRESS, progress.as_ref().clone(), Box::new(progress));
        let c = console.clone();
        let status = Closure::<dyn Fn(String, String, String)>::new(move |stream: String, key, line| {
            c.dispatch(TerminalAction::Status {
                stream: stream_of(&stream),
                key,
                line,
            })
        });
        add(callback::STATUS, status.as_ref().clone(), Box::new(status));
        let c = console.clone();
        let foreground = Closure::<dyn Fn(String)>::new(move |_id: String| {
            c.run_starting.set(false);
            if c.cancel_pending.get() {
                c.abort();
            }
        });
        add(callback::FOREGROUND, foreground.as_ref().clone(), Box::new(foreground));
        let c = console.clone();
        let ask = Closure::<dyn Fn(String, bool) -> js_sys::Promise>::new(move |text: String, echo: bool| {
            let c = c.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                c.answer.reset();
                c.dispatch(TerminalAction::Ask { text, echo });
                Ok(JsValue::from(c.answer.wait().await))
            })
        });
        add(callback::ASK, ask.as_ref().clone(), Box::new(ask));
        let c = console.clone();
        let interrupt = Closure::<dyn Fn() -> js_sys::Promise>::new(move || {
            let c = c.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                let first_ask = || c.dispatch(TerminalAction::CatchesInterrupt);
                c.interrupts.next(&first_ask).await;
                Ok(JsValue::UNDEFINED)
            })
        });
        add(callback::INTERRUPT, interrupt.as_ref().clone(), Box::new(interrupt));
        let build = Closure::<dyn Fn(String)>::new(move |view: String| {
            if let Ok(view) = serde_json::from_str(&view) {
                super::build_panel::show(view);
            }
        });
        add(callback::BUILD, build.as_ref().clone(), Box::new(build));
        Callbacks {
            object: object.into(),
            _closures: closures,
        }
    }
}
