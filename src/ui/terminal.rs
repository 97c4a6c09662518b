//! The terminal pane: a prompt that runs docker commands through the shared interpreter.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::files::ProjectHandle;
use super::session::PageSession;
use super::terminal_state::{TermLine, TerminalAction, TerminalState, PROMPT};
use crate::build::MemoryCache;
use crate::cli::build::BuildEnv;
use crate::cli::context::{run_command, Stream};
use crate::cli::interpret::{plan_line, Step};

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
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            state.dispatch(TerminalAction::Edit(input.value()));
        })
    };
    let project = use_context::<ProjectHandle>();
    let onkeydown = {
        let state = state.clone();
        let on_command_done = props.on_command_done.clone();
        Callback::from(move |e: KeyboardEvent| {
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
                                let outcome = run_command(&session.context(Some(&progress)), &inv).await;
                                session.save_credentials();
                                state.dispatch(TerminalAction::Finished(outcome));
                                on_command_done.emit(());
                            });
                        }
                        Step::Done(_) => {}
                    }
                    TerminalAction::Submit
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
    html! {
        <div class="terminal-box">
            <div class="terminal-screen" role="log" aria-live="polite" aria-label="Terminal output">
                { for lines }
            </div>
            <div class="terminal-prompt">
                <span aria-hidden="true">{ PROMPT }</span>
                <input ref={input_ref} type="text" aria-label="Terminal input" spellcheck="false" autocomplete="off"
                       aria-busy={if state.busy { "true" } else { "false" }}
                       value={state.input.clone()} {oninput} {onkeydown} />
            </div>
        </div>
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
