//! The editor for compose files (wasm): YAML highlighting, Compose's diagnostics as you type (underline, gutter
//! marker, a list with line and column) and an outline of the services, both jumping to the line. The checks are
//! the core's (`slipway::compose`), wrapped in `compose_model` (tested natively).

use std::rc::Rc;

use yew::prelude::*;

use super::compose_model::{ComposeEditorAction, ComposeEditorState, EXPLANATION};
use super::editor::{problems_list, CodeMirror, Problem};

impl Reducible for ComposeEditorState {
    type Action = ComposeEditorAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new(ComposeEditorState::reduce(&self, action))
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
    let state = use_reducer(move || ComposeEditorState::new(&name, &initial));
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
            { problems_list(state.check.diagnostics.iter().map(|d| Problem {
                line: d.line,
                column: d.column,
                class: "diag-error",
                severity: "error".to_string(),
                rule: "compose",
                message: d.message.clone(),
                explanation: EXPLANATION,
            }), &jump) }
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
