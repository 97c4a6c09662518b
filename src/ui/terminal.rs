//! The terminal pane: a prompt that runs docker commands through the shared interpreter.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::session::PageSession;
use super::terminal_state::{TermLine, TerminalAction, TerminalState, PROMPT};
use crate::cli::context::{run_command, Stream};
use crate::cli::interpret::{plan_line, Step};

impl Reducible for TerminalState {
    type Action = TerminalAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

#[derive(Properties, PartialEq)]
pub struct TerminalProps {
    /// Called after each companion command: images or the registry may have changed.
    #[prop_or_default]
    pub on_command_done: Callback<()>,
}

#[function_component(Terminal)]
pub fn terminal(props: &TerminalProps) -> Html {
    let state = use_reducer(TerminalState::default);
    let oninput = {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            state.dispatch(TerminalAction::Edit(input.value()));
        })
    };
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
                    if let Step::Build(inv) = plan_line(&line) {
                        // The builder takes the project's files as its context; the terminal does not hold
                        // them yet (workspace issue), so say so instead of building an empty context.
                        let state = state.clone();
                        let outcome = crate::cli::interpret::Outcome::failure(
                            format!(
                                "slipway: 'docker {}' in the page needs the project files as its context: not wired yet",
                                inv.typed.join(" ")
                            ),
                            1,
                        );
                        // After Submit has marked the terminal busy.
                        wasm_bindgen_futures::spawn_local(async move {
                            state.dispatch(TerminalAction::Finished(outcome));
                        });
                    }
                    if let Step::Companion(inv) = plan_line(&line) {
                        let state = state.clone();
                        let on_command_done = on_command_done.clone();
                        wasm_bindgen_futures::spawn_local(async move {
                            let session = PageSession::new();
                            let progress_state = state.clone();
                            let progress = move |stream: Stream, line: &str| {
                                progress_state.dispatch(TerminalAction::Progress(stream, line.to_string()))
                            };
                            let outcome = run_command(&session.context(Some(&progress)), &inv).await;
                            session.save_credentials();
                            state.dispatch(TerminalAction::Finished(outcome));
                            on_command_done.emit(());
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
                <input type="text" aria-label="Terminal input" spellcheck="false" autocomplete="off"
                       aria-busy={if state.busy { "true" } else { "false" }}
                       value={state.input.clone()} {oninput} {onkeydown} />
            </div>
        </div>
    }
}
