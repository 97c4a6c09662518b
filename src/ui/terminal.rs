//! The terminal pane: a prompt that runs docker commands through the shared interpreter.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::attach::{AttachEvent, AttachSocket};
use super::files::ProjectHandle;
use super::session::PageSession;
use super::terminal_state::{key_input, TermLine, TerminalAction, TerminalState, PROMPT};
use crate::build::MemoryCache;
use crate::cli::build::BuildEnv;
use crate::cli::complete::complete;
use crate::cli::context::{run_command, Stream};
use crate::cli::interpret::{plan_line, Outcome, Step};

/// The attach WebSocket of the running `docker run -it`, while there is one.
type SocketSlot = Rc<RefCell<Option<AttachSocket>>>;

thread_local! {
    /// The build cache of this page (IndexedDB-backed persistence is still to come): a rebuild in the same
    /// page reuses every unchanged step.
    static BUILD_CACHE: Rc<MemoryCache> = Rc::new(MemoryCache::default());
}

impl Reducible for TerminalState {
    type Action = TerminalAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

#[derive(Properties, PartialEq)]
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
}

#[function_component(Terminal)]
pub fn terminal(props: &TerminalProps) -> Html {
    let initial_history = props.initial_history.clone();
    let state = use_reducer(move || TerminalState::with_history(initial_history));
    let input_ref = use_node_ref();
    let screen_ref = use_node_ref();
    let socket: SocketSlot = use_mut_ref(|| None);
    // The page-load benchmark reads this mark: the prompt is in the page with its key handlers attached.
    use_effect_with((), |_| {
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("slipway-prompt-ready");
        }
    });
    {
        let on_history = props.on_history.clone();
        use_effect_with(state.history.clone(), move |history| {
            on_history.emit(history.clone())
        });
    }
    {
        let (on_finished, last) = (props.on_finished.clone(), state.finished.last().cloned());
        use_effect_with(state.finished.len(), move |_| {
            if let Some(done) = last {
                on_finished.emit(done);
            }
        });
    }
    {
        let (state, input_ref) = (state.clone(), input_ref.clone());
        use_effect_with(props.prefill.clone(), move |prefill| {
            if let Some((_, line)) = prefill {
                state.dispatch(TerminalAction::Edit(line.clone()));
                if let Some(input) = input_ref.cast::<HtmlInputElement>() {
                    let _ = input.focus();
                }
            }
        });
    }
    let oninput = {
        let (state, socket) = (state.clone(), socket.clone());
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(attached) = socket.borrow().as_ref() {
                // Pasted text goes to the container as typed; the field stays empty.
                attached.send(input.value().as_bytes());
                input.set_value("");
                return;
            }
            state.dispatch(TerminalAction::Edit(input.value()));
        })
    };
    let project = use_context::<ProjectHandle>();
    let onkeydown = {
        let (state, socket, screen_ref) = (state.clone(), socket.clone(), screen_ref.clone());
        let on_command_done = props.on_command_done.clone();
        Callback::from(move |e: KeyboardEvent| {
            if let Some(attached) = socket.borrow().as_ref() {
                // Attached: every key is the container's (its TTY echoes what it wants shown).
                if let Some(bytes) = key_input(&e.key(), e.ctrl_key()) {
                    e.prevent_default();
                    attached.send(&bytes);
                }
                return;
            }
            let action = match e.key().as_str() {
                "Enter" if state.busy => return,
                "Enter" => {
                    // Read the field itself: the last keystrokes may not have been rendered into `state` yet.
                    let line = e.target_unchecked_into::<HtmlInputElement>().value();
                    state.dispatch(TerminalAction::Edit(line.clone()));
                    match plan_line(&line) {
                        Step::Build(inv) => {
                            // The project's files are the build context, as the directory is for docker.
                            let tree = project
                                .as_ref()
                                .map(|p| p.project.context_tree())
                                .unwrap_or_default();
                            let (state, on_command_done) = (state.clone(), on_command_done.clone());
                            wasm_bindgen_futures::spawn_local(async move {
                                let outcome = build_in_page(&state, &inv, &tree).await;
                                state.dispatch(TerminalAction::Finished(outcome));
                                on_command_done.emit(());
                            });
                        }
                        Step::Companion(inv) => {
                            let (state, on_command_done) = (state.clone(), on_command_done.clone());
                            wasm_bindgen_futures::spawn_local(async move {
                                let session = PageSession::new();
                                let progress_state = state.clone();
                                let progress = move |stream: Stream, line: &str| {
                                    progress_state
                                        .dispatch(TerminalAction::Progress(stream, line.to_string()))
                                };
                                let status = status_sink(state.clone());
                                let mut ctx = session.context(Some(&progress));
                                ctx.status = Some(&status);
                                let outcome = run_command(&ctx, &inv).await;
                                session.save_credentials();
                                state.dispatch(TerminalAction::Finished(outcome));
                                on_command_done.emit(());
                            });
                        }
                        Step::Attach(inv) => {
                            let size = screen_size(&screen_ref);
                            let (state, socket) = (state.clone(), socket.clone());
                            let on_command_done = on_command_done.clone();
                            wasm_bindgen_futures::spawn_local(async move {
                                attach_in_page(state, socket, inv, size, on_command_done).await
                            });
                        }
                        Step::Done(_) => {}
                    }
                    TerminalAction::Submit
                }
                // Shift+Tab, and Tab on an empty line, move the focus as usual (no keyboard trap).
                "Tab" if state.busy || e.shift_key() => return,
                "Tab" => {
                    let line = e.target_unchecked_into::<HtmlInputElement>().value();
                    if line.trim().is_empty() {
                        return;
                    }
                    let paths: Vec<String> = project
                        .as_ref()
                        .map(|p| p.project.files.keys().cloned().collect())
                        .unwrap_or_default();
                    let done = complete(&line, &super::session::known_images(), &paths);
                    if !done.choices.is_empty() {
                        state.dispatch(TerminalAction::Progress(Stream::Stdout, done.choices.join("  ")));
                    }
                    TerminalAction::Edit(done.line)
                }
                "ArrowUp" => TerminalAction::HistoryPrevious,
                "ArrowDown" => TerminalAction::HistoryNext,
                _ => return,
            };
            e.prevent_default();
            state.dispatch(action);
        })
    };
    let lines = state.lines.iter().map(|line| match line {
        TermLine::Command(c) => html! { <div class="term-command">{ format!("{PROMPT}{c}") }</div> },
        TermLine::Stdout(t) => html! { <div class="term-stdout">{ t }</div> },
        TermLine::Stderr(t) => html! { <div class="term-stderr">{ t }</div> },
    });
    let tty_lines = state.attached.iter().flat_map(|a| a.screen.lines()).map(|line| {
        html! { <div class="term-stdout">{ line }</div> }
    });
    let hint = state.attached.as_ref().map(|a| {
        html! {
            <div class="terminal-hint" role="status">
                { format!("attached to {} (Ctrl-D or exit to leave)", a.container) }
            </div>
        }
    });
    html! {
        <div class="terminal-box">
            <div ref={screen_ref} class="terminal-screen" role="log" aria-live="polite" aria-label="Terminal output">
                { for lines }
                { for tty_lines }
            </div>
            { hint }
            <div class="terminal-prompt">
                <span aria-hidden="true">{ if state.attached.is_some() { "" } else { PROMPT } }</span>
                <input ref={input_ref} type="text" aria-label="Terminal input" spellcheck="false" autocomplete="off"
                       aria-busy={if state.busy { "true" } else { "false" }}
                       value={state.input.clone()} {oninput} {onkeydown} />
            </div>
        </div>
    }
}

/// The TTY size the screen fits, in characters (the monospace cell is about 8.4×18 px here), at least 20×5.
fn screen_size(screen_ref: &NodeRef) -> (u16, u16) {
    let Some(screen) = screen_ref.cast::<web_sys::Element>() else {
        return (80, 24);
    };
    let cols = (f64::from(screen.client_width()) / 8.4) as u16;
    let rows = (f64::from(screen.client_height()) / 18.0) as u16;
    (cols.clamp(20, 250), rows.clamp(5, 100))
}

/// Where a layer's status line goes: redrawn in place in the terminal (docker's progress bars).
fn status_sink(state: UseReducerHandle<TerminalState>) -> impl Fn(Stream, &str, &str) {
    move |stream, key, line| {
        state.dispatch(TerminalAction::Status {
            stream,
            key: key.to_string(),
            line: line.to_string(),
        })
    }
}

/// `docker run -it` or `docker exec` in the page: start the process (a run pulls first, like `docker run`),
/// then hand the terminal to it over the attach WebSocket until it exits.
async fn attach_in_page(
    state: UseReducerHandle<TerminalState>,
    socket: SocketSlot,
    inv: crate::cli::parse::Invocation,
    (cols, rows): (u16, u16),
    on_command_done: Callback<()>,
) {
    let session = PageSession::new();
    let progress_state = state.clone();
    let progress = move |stream: Stream, line: &str| {
        progress_state.dispatch(TerminalAction::Progress(stream, line.to_string()))
    };
    let status = status_sink(state.clone());
    let mut ctx = session.context(Some(&progress));
    ctx.status = Some(&status);
    let started = crate::cli::attach::start(&ctx, &inv).await;
    on_command_done.emit(());
    let target = match started {
        Ok(target) => target,
        Err(outcome) => return state.dispatch(TerminalAction::Finished(outcome)),
    };
    let on_event: Rc<dyn Fn(AttachEvent)> = {
        let (state, socket) = (state.clone(), socket.clone());
        Rc::new(move |event| match event {
            AttachEvent::Output(bytes) => state.dispatch(TerminalAction::TtyOutput(bytes)),
            AttachEvent::Ended(outcome) => {
                state.dispatch(TerminalAction::Detached(outcome));
                on_command_done.emit(());
                // Freed after this handler returns: the socket owns the handler running now.
                let socket = socket.clone();
                wasm_bindgen_futures::spawn_local(async move { drop(socket.borrow_mut().take()) });
            }
        })
    };
    let path = target.path_for(&session.token());
    match AttachSocket::open(&path, cols, rows, on_event) {
        Ok(opened) => {
            *socket.borrow_mut() = Some(opened);
            state.dispatch(TerminalAction::Attached(target.container));
        }
        Err(e) => state.dispatch(TerminalAction::Finished(Outcome::failure(
            format!("docker: {e}"),
            125,
        ))),
    }
}

/// `docker build` in the page: the builder streams BuildKit's plain progress into the terminal line by line.
async fn build_in_page(
    state: &UseReducerHandle<TerminalState>,
    inv: &crate::cli::parse::Invocation,
    tree: &crate::layer::FileTree,
) -> crate::cli::interpret::Outcome {
    let session = PageSession::new();
    let cache = BUILD_CACHE.with(Rc::clone);
    let clock = || js_sys::Date::now() as u64;
    let pending = std::cell::RefCell::new(String::new());
    let streamed = std::cell::RefCell::new(String::new());
    let stream = |chunk: &str| {
        streamed.borrow_mut().push_str(chunk);
        // Whole lines only: a chunk may end mid-line.
        let mut pending = pending.borrow_mut();
        pending.push_str(chunk);
        while let Some(end) = pending.find('\n') {
            let line: String = pending.drain(..=end).collect();
            state.dispatch(TerminalAction::Progress(
                Stream::Stderr,
                line.trim_end_matches('\n').to_string(),
            ));
        }
    };
    let token = session.token();
    let env = BuildEnv {
        transport: session.transport(),
        base: "",
        session: Some(&token),
        cache: &*cache,
        packer: &super::layer_pool::WorkerPacker,
        clock: &clock,
        stream: &stream,
    };
    let mut outcome = crate::cli::build::build(&env, inv, tree).await;
    let rest = pending.borrow().clone();
    if !rest.is_empty() {
        state.dispatch(TerminalAction::Progress(Stream::Stderr, rest));
    }
    // What was streamed is already on the screen; keep only the ending (the error, or `-q`'s image ID).
    if let Some(ending) = outcome.stderr.strip_prefix(streamed.borrow().as_str()) {
        outcome.stderr = ending.to_string();
    }
    outcome
}
