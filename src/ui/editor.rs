//! The Dockerfile editor (wasm): highlighted text with line numbers, diagnostics as you type (wavy underline,
//! gutter marker, hover text, a list that jumps to the line) and an outline of stages and instructions.
//! All logic lives in `editor_model` (tested natively); this file only renders it.

use std::rc::Rc;

use web_sys::HtmlTextAreaElement;
use yew::prelude::*;

use super::editor_model::{EditorAction, EditorState, Segment};
use crate::dockerfile::lint::Severity;

impl Reducible for EditorState {
    type Action = EditorAction;

    /// Also times the parse + check with the page's clock (`data-check-ms` on the editor shows it).
    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        let perf = web_sys::window().and_then(|w| w.performance());
        let start = perf.as_ref().map(|p| p.now());
        let timed = matches!(action, EditorAction::Edit(_));
        let mut next = (*self).clone().reduce(action);
        if let (true, Some(p), Some(start)) = (timed, perf, start) {
            next.check_ms = Some(p.now() - start);
        }
        Rc::new(next)
    }
}

#[derive(Properties, PartialEq)]
pub struct EditorProps {
    /// The text the editor starts with.
    pub initial: AttrValue,
    /// Told every edit (the project keeps the file's text).
    #[prop_or_default]
    pub onchange: Callback<String>,
    #[prop_or_default]
    pub readonly: bool,
    /// The accessible name of the text field.
    #[prop_or(AttrValue::from("Dockerfile editor"))]
    pub label: AttrValue,
}

fn severity_class(s: Severity) -> &'static str {
    match s {
        Severity::Error => "diag-error",
        Severity::Warning => "diag-warning",
        Severity::Info => "diag-info",
    }
}

fn render_line(segments: &[Segment]) -> Html {
    html! {
        <>{ for segments.iter().map(|s| {
            let class = classes!(s.tok.class(), s.severity.map(severity_class), s.severity.map(|_| "underline"));
            html! { <span {class} title={s.message.clone()}>{ s.text.clone() }</span> }
        }) }</>
    }
}

#[function_component(DockerfileEditor)]
pub fn dockerfile_editor(props: &EditorProps) -> Html {
    let initial = props.initial.clone();
    let state = use_reducer(move || EditorState::new(&initial));
    let textarea = use_node_ref();
    {
        let textarea = textarea.clone();
        let jump = state.jump_to;
        let offset = jump.map(|l| state.line_offset_utf16(l));
        use_effect_with(jump, move |_| {
            if let (Some(off), Some(t)) = (offset, textarea.cast::<HtmlTextAreaElement>()) {
                let _ = t.focus();
                let _ = t.set_selection_range(off, off);
            }
        });
    }
    let oninput = {
        let state = state.clone();
        let onchange = props.onchange.clone();
        Callback::from(move |e: InputEvent| {
            let t: HtmlTextAreaElement = e.target_unchecked_into();
            state.dispatch(EditorAction::Edit(t.value()));
            onchange.emit(t.value());
        })
    };
    let jump = |line: usize| {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.dispatch(EditorAction::JumpTo(line)))
    };
    let lines = state.lines();
    let count = state.line_count();
    let mut highlighted: Vec<Html> = Vec::with_capacity(lines.len() * 2 + 1);
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            highlighted.push(html! { "\n" });
        }
        highlighted.push(render_line(l));
    }
    highlighted.push(html! { " " });
    let problems = state.diagnostics.len();
    html! {
        <div class="dockerfile-editor" data-check-ms={state.check_ms.map(|ms| format!("{ms:.3}"))}>
            <div class="editor-body">
                <div class="editor-gutter" aria-hidden="true">
                    { for (1..=count).map(|l| {
                        let marker = state.marker(l);
                        let title = marker.map(|_| state.hover(l));
                        html! {
                            <div class={classes!("gutter-line", marker.map(severity_class))}
                                 data-line={l.to_string()} {title}>{ l }</div>
                        }
                    }) }
                </div>
                <div class="editor-code">
                    <pre class="editor-highlight" aria-hidden="true">{ for highlighted }</pre>
                    <textarea ref={textarea} class="editor-input" aria-label={props.label.clone()} readonly={props.readonly}
                              spellcheck="false" autocomplete="off" wrap="off" rows={count.to_string()}
                              value={state.text.clone()} {oninput} />
                </div>
            </div>
            <section class="editor-problems" aria-label="Problems">
                <h3>{ if problems == 0 { "No problems".to_string() } else { format!("Problems ({problems})") } }</h3>
                <ul class="editor-diagnostics">
                    { for state.diagnostics.iter().map(|d| html! {
                        <li data-line={d.line.to_string()} data-rule={d.rule}>
                            <button type="button" class={classes!("diagnostic", severity_class(d.severity))}
                                    onclick={jump(d.line)} title={d.explanation}>
                                <span class="diag-pos">{ format!("{}:{}", d.line, d.column) }</span>
                                <span class="diag-severity">{ d.severity.to_string() }</span>
                                <span class="diag-rule">{ d.rule }</span>
                                <span class="diag-message">{ d.message.clone() }</span>
                            </button>
                        </li>
                    }) }
                </ul>
            </section>
            <nav class="editor-outline" aria-label="Outline">
                <h3>{ "Outline" }</h3>
                <ul>
                    { for state.outline.iter().map(|o| html! {
                        <li data-line={o.line.to_string()}>
                            <button type="button" onclick={jump(o.line)}
                                    class={classes!("outline-item", if o.depth == 0 { "outline-stage" } else { "outline-instruction" })}>
                                <span class="outline-line">{ o.line }</span>{ " " }{ o.label.clone() }
                            </button>
                        </li>
                    }) }
                </ul>
            </nav>
        </div>
    }
}

/// A plain text editor for files that are not Dockerfiles (no highlighting, no checks).
#[function_component(PlainEditor)]
pub fn plain_editor(props: &EditorProps) -> Html {
    let oninput = {
        let onchange = props.onchange.clone();
        Callback::from(move |e: InputEvent| {
            let t: HtmlTextAreaElement = e.target_unchecked_into();
            onchange.emit(t.value());
        })
    };
    html! {
        <textarea class="plain-editor" aria-label={props.label.clone()} spellcheck="false" autocomplete="off"
                  wrap="off" readonly={props.readonly} value={props.initial.clone()} {oninput} />
    }
}
