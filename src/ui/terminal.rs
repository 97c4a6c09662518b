//! The terminal pane: a prompt that runs docker commands through the shared interpreter.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::api::page_session;
use super::terminal_state::{TermLine, TerminalAction, TerminalState, PROMPT};
use crate::cli::containers::SessionTransport;
use crate::cli::interpret::{plan_line, run_on_companion, Step};
use crate::registry::fetch::Fetch;

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
    let onkeydown = {
        let state = state.clone();
        Callback::from(move |e: KeyboardEvent| {
            let action = match e.key().as_str() {
                "Enter" if state.busy => return,
                "Enter" => {
                    // Read the field itself: the last keystrokes may not have been rendered into `state` yet.
                    let line = e.target_unchecked_into::<HtmlInputElement>().value();
                    state.dispatch(TerminalAction::Edit(line.clone()));
                    if let Step::Companion(inv) = plan_line(&line) {
                        let state = state.clone();
                        wasm_bindgen_futures::spawn_local(async move {
                            let now = (js_sys::Date::now() / 1000.0) as u64;
                            let transport = SessionTransport {
                                inner: &Fetch,
                                session: page_session(),
                            };
                            let outcome = run_on_companion(&transport, "", &inv, now).await;
                            state.dispatch(TerminalAction::Finished(outcome));
                        });
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
