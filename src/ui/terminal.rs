//! The terminal pane: a prompt that runs docker commands through the shared interpreter.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::terminal_state::{TermLine, TerminalAction, TerminalState, PROMPT};

impl Reducible for TerminalState {
    type Action = TerminalAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

#[function_component(Terminal)]
pub fn terminal() -> Html {
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
        Callback::from(move |e: KeyboardEvent| {
            let action = match e.key().as_str() {
                "Enter" => TerminalAction::Submit,
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
                       value={state.input.clone()} {oninput} {onkeydown} />
            </div>
        </div>
    }
}
