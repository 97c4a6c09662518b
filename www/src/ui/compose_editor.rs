//! The editor for compose files (wasm): YAML highlighting, Compose's diagnostics as you type (underline, gutter
//! marker, a list with line and column) and an outline of the services, both jumping to the line. The checks are
//! the core's (`slipway::compose`), wrapped in `compose_model` (tested natively), run by the page's engine.

use std::rc::Rc;

use yew::prelude::*;

use super::compose_model::{ComposeCheck, ComposeEditorAction, ComposeEditorState, EXPLANATION};
use super::editor::{problems_list, recheck_when_loaded, CodeMirror};
use super::editor_model::Listed;
use super::engine_api::export;

/// The engine's check of a compose file, once it has loaded.
fn engine_check(name: &str, text: &str) -> Option<ComposeCheck> {
    let json = super::engine::check(export::COMPOSE_CHECK, &[name, text])?;
    serde_json::from_str(&json).ok()
}

impl Reducible for ComposeEditorState {
    type Action = ComposeEditorAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        let text = match action {
            ComposeEditorAction::JumpTo(line) => return Rc::new(self.jumped(line)),
            ComposeEditorAction::Recheck if self.checked => return self,
            ComposeEditorAction::Recheck => self.text.clone(),
            ComposeEditorAction::Edit(text) => text,
        };
        let check = engine_check(&self.name, &text);
        Rc::new(ComposeEditorState {
            jump_to: self.jump_to,
            ..ComposeEditorState::with_check(&self.name, &text, check)
        })
    }
}

#[derive(Properties, PartialEq)]
pub struct ComposeEditorProps {
    pub initial: AttrValue,
    /// The file's path in the project (named in diagnostics).
    pub name: String,
    #[prop_or_default]
    pub onchange: Callback<String>,
    #[prop_or_default]
    pub readonly: bool,
    pub label: AttrValue,
}

#[function_component(ComposeEditor)]
pub fn compose_editor(props: &ComposeEditorProps) -> Html {
    let (name, initial) = (props.name.clone(), props.initial.clone());
    let state = use_reducer(move || ComposeEditorState::with_check(&name, &initial, engine_check(&name, &initial)));
    {
        let (checked, state) = (state.checked, state.clone());
        use_effect_with((), move |_| {
            recheck_when_loaded(checked, Callback::from(move |()| state.dispatch(ComposeEditorAction::Recheck)))
        });
    }
    let onchange = {
        let (state, onchange) = (state.clone(), props.onchange.clone());
        Callback::from(move |text: String| {
            state.dispatch(ComposeEditorAction::Edit(text.clone()));
            onchange.emit(text);
        })
    };
    let jump = |line: usize| {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.dispatch(ComposeEditorAction::JumpTo(line)))
    };
    html! {
        // Laid out and styled as the Dockerfile editor (www/styles.css `.dockerfile-editor`).
        <div class={classes!("dockerfile-editor", "compose-editor")}>
            <CodeMirror initial={props.initial.clone()} label={props.label.clone()} language="compose"
                        readonly={props.readonly} {onchange} marks={state.marks.clone()} jump={state.jump_to} />
            { problems_list(state.check.diagnostics.iter().map(|d| Listed {
                line: d.line,
                column: d.column,
                severity: "error".to_string(),
                rule: "compose".to_string(),
                message: d.message.clone(),
                explanation: EXPLANATION.to_string(),
            }), state.checked, &jump) }
            <nav class="editor-outline" aria-label="Outline">
                <h3>{ "Services" }</h3>
                <ul>
                    { for state.check.outline.iter().map(|(service, line)| html! {
                        <li data-line={line.to_string()}>
                            <button type="button" onclick={jump(*line)} class={classes!("outline-item", "outline-stage")}>
                                <span class="outline-line">{ *line }</span>{ " " }{ service.clone() }
                            </button>
                        </li>
                    }) }
                </ul>
            </nav>
        </div>
    }
}
