//! The code editor (wasm): CodeMirror 6 through the thin `window.SlipwayEditor` wrapper (`www/js/editor.js`).
//! For Dockerfiles: highlighting, diagnostics as you type (underline, gutter marker, hover text), a list of them
//! and an outline that both jump to the line. Parsing and checking stay in Rust (`editor_model`, tested natively),
//! in the page's engine (`ui::engine`): an editor opened before it has loaded checks its text once it has.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use yew::prelude::*;

use super::editor_model::{CodeMark, DockerfileCheck, EditorAction, EditorState, Jump, Listed};
use super::engine_api::export;
use super::workspace::{Settings, Theme};

#[wasm_bindgen]
extern "C" {
    /// One CodeMirror view, as `www/js/editor.js` hands it out.
    type EditorHandle;

    #[wasm_bindgen(js_namespace = SlipwayEditor, js_name = create, catch)]
    fn create_editor(parent: &web_sys::Element, options: &JsValue) -> Result<EditorHandle, JsValue>;
    #[wasm_bindgen(method, js_name = onChange)]
    fn on_change(this: &EditorHandle, callback: &Closure<dyn FnMut(String)>);
    #[wasm_bindgen(method, js_name = setDiagnostics)]
    fn set_diagnostics(this: &EditorHandle, diagnostics: &JsValue);
    #[wasm_bindgen(method, js_name = gotoLine)]
    fn goto_line(this: &EditorHandle, line: u32);
    #[wasm_bindgen(method, js_name = setReadOnly)]
    fn set_read_only(this: &EditorHandle, on: bool);
    #[wasm_bindgen(method, js_name = setTheme)]
    fn set_theme(this: &EditorHandle, dark: bool);
    #[wasm_bindgen(method, js_name = setFontSize)]
    fn set_font_size(this: &EditorHandle, px: u32);
    #[wasm_bindgen(method)]
    fn dispose(this: &EditorHandle);
}

/// The options `SlipwayEditor.create` reads.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateOptions<'a> {
    doc: &'a str,
    label: &'a str,
    language: &'a str,
    read_only: bool,
    dark: bool,
    font_px: u8,
}

fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    let json = serde_json::to_string(value).expect("plain data serializes");
    js_sys::JSON::parse(&json).expect("serde_json writes valid JSON")
}

/// A live view and the closure it calls on every edit (dropped with it).
struct Live {
    handle: EditorHandle,
    _on_change: Closure<dyn FnMut(String)>,
}

#[derive(Properties, PartialEq)]
pub(super) struct CodeMirrorProps {
    pub initial: AttrValue,
    pub label: AttrValue,
    /// `"dockerfile"` and `"compose"` highlight and show `marks`; `"plain"` is text only.
    pub language: &'static str,
    pub readonly: bool,
    pub onchange: Callback<String>,
    #[prop_or_default]
    pub marks: Rc<Vec<CodeMark>>,
    #[prop_or_default]
    pub jump: Option<Jump>,
}

/// Mounts CodeMirror once (the parent remounts it, by key, for another file) and keeps it in step with props.
#[function_component(CodeMirror)]
pub(super) fn code_mirror(props: &CodeMirrorProps) -> Html {
    let host = use_node_ref();
    let live = use_mut_ref(|| None::<Live>);
    // The newest callback, so the closure handed to JavaScript once never calls a stale one.
    let onchange = use_mut_ref(Callback::<String>::noop);
    *onchange.borrow_mut() = props.onchange.clone();
    let settings = use_context::<Settings>().unwrap_or_default();
    let dark = settings.theme == Theme::Dark;
    // What the view must show once it exists: props can change while CodeMirror's bundle loads.
    let latest = use_mut_ref(Latest::default);
    *latest.borrow_mut() = Latest {
        marks: (props.language != "plain").then(|| props.marks.clone()),
        readonly: props.readonly,
        dark,
        font_px: settings.font_px,
    };
    {
        let (host, live, onchange) = (host.clone(), live.clone(), onchange.clone());
        let (doc, label, language, read_only) = (
            props.initial.clone(),
            props.label.clone(),
            props.language,
            props.readonly,
        );
        let font_px = settings.font_px;
        let latest = latest.clone();
        // Only the first render's text counts: later ones are the editor's own edits coming back.
        use_effect_with((), move |_| {
            let options = to_js(&CreateOptions {
                doc: &doc,
                label: &label,
                language,
                read_only,
                dark,
                font_px,
            });
            let gone = Rc::new(Cell::new(false));
            mount_when_loaded(host, live.clone(), options, onchange, latest, gone.clone());
            move || {
                gone.set(true);
                if let Some(l) = live.borrow_mut().take() {
                    l.handle.dispose();
                }
            }
        });
    }
    {
        let live = live.clone();
        // Plain files have no checks: leave CodeMirror's lint extension out of their editor altogether.
        let checked = props.language != "plain";
        use_effect_with(props.marks.clone(), move |marks| {
            if let (true, Some(l)) = (checked, live.borrow().as_ref()) {
                l.handle.set_diagnostics(&to_js(&**marks));
            }
        });
    }
    {
        let live = live.clone();
        use_effect_with(props.jump, move |jump| {
            if let (Some(j), Some(l)) = (jump, live.borrow().as_ref()) {
                l.handle.goto_line(u32::try_from(j.line).unwrap_or(u32::MAX));
            }
        });
    }
    {
        let live = live.clone();
        use_effect_with(
            (props.readonly, dark, settings.font_px),
            move |&(readonly, dark, font_px)| {
                if let Some(l) = live.borrow().as_ref() {
                    l.handle.set_read_only(readonly);
                    l.handle.set_theme(dark);
                    l.handle.set_font_size(u32::from(font_px));
                }
            },
        );
    }
    html! { <div class="code-editor" ref={host}></div> }
}

/// The props the view follows after it is created.
#[derive(Default)]
struct Latest {
    marks: Option<Rc<Vec<CodeMark>>>,
    readonly: bool,
    dark: bool,
    font_px: u8,
}

/// CodeMirror's bundle (`www/js/editor.js`, ~115 KiB gzipped): not in the page's first load, fetched when the
/// first editor mounts (the terminal's prompt never waits for it; docs/performance.md).
const EDITOR_SCRIPT: &str = "/vendor/editor.js";

thread_local! {
    /// The bundle's one load, shared by every editor of the page (None again after a failed load: retried).
    static EDITOR_SCRIPT_LOAD: RefCell<Option<js_sys::Promise>> = const { RefCell::new(None) };
}

fn editor_script_loaded() -> bool {
    web_sys::window().is_some_and(|w| js_sys::Reflect::has(&w, &"SlipwayEditor".into()).unwrap_or(false))
}

/// Resolves once `window.SlipwayEditor` exists: adds the bundle's `<script>` to the page the first time.
fn load_editor_script() -> js_sys::Promise {
    EDITOR_SCRIPT_LOAD.with(|slot| {
        slot.borrow_mut()
            .get_or_insert_with(|| super::web::load_script(EDITOR_SCRIPT))
            .clone()
    })
}

/// Create the view now if the bundle is there, else show that it loads, load it and create the view then
/// (unless the editor was closed meanwhile: `gone`), in step with the props of the moment.
fn mount_when_loaded(
    host: NodeRef,
    live: Rc<RefCell<Option<Live>>>,
    options: JsValue,
    onchange: Rc<RefCell<Callback<String>>>,
    latest: Rc<RefCell<Latest>>,
    gone: Rc<Cell<bool>>,
) {
    if editor_script_loaded() {
        return mount(&host, &live, options, onchange);
    }
    let Some(parent) = host.cast::<web_sys::Element>() else {
        return;
    };
    parent.set_attribute("aria-busy", "true").ok();
    parent.set_text_content(Some("Loading the editor…"));
    wasm_bindgen_futures::spawn_local(async move {
        let loaded = wasm_bindgen_futures::JsFuture::from(load_editor_script()).await;
        if gone.get() {
            return;
        }
        parent.remove_attribute("aria-busy").ok();
        parent.set_text_content(None);
        if loaded.is_err() {
            EDITOR_SCRIPT_LOAD.with(|slot| slot.borrow_mut().take());
            parent.set_text_content(Some("The code editor failed to load: reload the page to try again."));
            return;
        }
        mount(&host, &live, options, onchange);
        let latest = latest.borrow();
        if let Some(l) = live.borrow().as_ref() {
            if let Some(marks) = &latest.marks {
                l.handle.set_diagnostics(&to_js(&**marks));
            }
            l.handle.set_read_only(latest.readonly);
            l.handle.set_theme(latest.dark);
            l.handle.set_font_size(u32::from(latest.font_px));
        }
    });
}

fn mount(
    host: &NodeRef,
    live: &Rc<RefCell<Option<Live>>>,
    options: JsValue,
    onchange: Rc<RefCell<Callback<String>>>,
) {
    let Some(parent) = host.cast::<web_sys::Element>() else {
        return;
    };
    match create_editor(&parent, &options) {
        Ok(handle) => {
            let on_change = Closure::<dyn FnMut(String)>::new(move |text: String| {
                let callback = onchange.borrow().clone();
                callback.emit(text);
            });
            handle.on_change(&on_change);
            *live.borrow_mut() = Some(Live {
                handle,
                _on_change: on_change,
            });
        }
        // The bundle did not load (vendor/editor.js missing): say so where the editor would be.
        Err(why) => parent.set_text_content(Some(&format!(
            "The code editor failed to start: {}",
            why.as_string().unwrap_or_else(|| format!("{why:?}"))
        ))),
    }
}

/// The engine's check of a Dockerfile, once it has loaded.
fn engine_check(text: &str) -> Option<DockerfileCheck> {
    let json = super::engine::check(export::LINT, &[text])?;
    serde_json::from_str(&json).ok()
}

impl Reducible for EditorState {
    type Action = EditorAction;

    /// Also times the parse + check with the page's clock (`data-check-ms` on the editor shows it).
    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        let perf = web_sys::window().and_then(|w| w.performance());
        let start = perf.as_ref().map(|p| p.now());
        let text = match action {
            EditorAction::Edit(text) => text,
            EditorAction::Recheck if !self.checked => self.text.clone(),
            EditorAction::Recheck => return self,
            EditorAction::JumpTo(line) => return Rc::new((*self).clone().jumped(line)),
        };
        let check = engine_check(&text);
        let mut next = EditorState::with_check(text, check, self.jump_to);
        if let (Some(p), Some(start)) = (perf, start) {
            next.check_ms = Some(p.now() - start);
        }
        Rc::new(next)
    }
}

/// Check again once the engine has loaded, when the editor opened before it.
pub(super) fn recheck_when_loaded(checked: bool, recheck: Callback<()>) {
    if !checked {
        wasm_bindgen_futures::spawn_local(async move {
            if super::engine::ready().await {
                recheck.emit(());
            }
        });
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

/// The list of problems under an editor, each jumping to its line (the Dockerfile and compose editors share it).
/// Until the text is `checked` (the engine loads), the list says so rather than "No problems".
pub(super) fn problems_list(
    problems: impl Iterator<Item = Listed>,
    checked: bool,
    jump: &dyn Fn(usize) -> Callback<MouseEvent>,
) -> Html {
    let problems: Vec<Listed> = problems.collect();
    let count = problems.len();
    let title = match (checked, count) {
        (false, _) => "Checking…".to_string(),
        (true, 0) => "No problems".to_string(),
        (true, _) => format!("Problems ({count})"),
    };
    html! {
        <section class="editor-problems" aria-label="Problems" aria-busy={(!checked).to_string()}>
            <h3>{ title }</h3>
            <ul class="editor-diagnostics">
                { for problems.into_iter().map(|d| html! {
                    <li data-line={d.line.to_string()} data-rule={d.rule.clone()}>
                        <button type="button" class={classes!("diagnostic", format!("diag-{}", d.severity))}
                                onclick={jump(d.line)} title={d.explanation}>
                            <span class="diag-pos">{ format!("{}:{}", d.line, d.column) }</span>
                            <span class="diag-severity">{ d.severity }</span>
                            <span class="diag-rule">{ d.rule }</span>
                            <span class="diag-message">{ d.message }</span>
                        </button>
                    </li>
                }) }
            </ul>
        </section>
    }
}

#[function_component(DockerfileEditor)]
pub fn dockerfile_editor(props: &EditorProps) -> Html {
    let initial = props.initial.clone();
    let state = use_reducer(move || {
        let check = engine_check(&initial);
        EditorState::with_check(initial.to_string(), check, None)
    });
    {
        let (checked, state) = (state.checked, state.clone());
        use_effect_with((), move |_| {
            recheck_when_loaded(checked, Callback::from(move |()| state.dispatch(EditorAction::Recheck)))
        });
    }
    let marks = state.marks.clone();
    let onchange = {
        let state = state.clone();
        let onchange = props.onchange.clone();
        Callback::from(move |text: String| {
            state.dispatch(EditorAction::Edit(text.clone()));
            onchange.emit(text);
        })
    };
    let jump = |line: usize| {
        let state = state.clone();
        Callback::from(move |_: MouseEvent| state.dispatch(EditorAction::JumpTo(line)))
    };
    html! {
        <div class="dockerfile-editor" data-check-ms={state.check_ms.map(|ms| format!("{ms:.3}"))}>
            <CodeMirror initial={props.initial.clone()} label={props.label.clone()} language="dockerfile"
                        readonly={props.readonly} {onchange} {marks} jump={state.jump_to} />
            { problems_list(state.diagnostics.iter().cloned(), state.checked, &jump) }
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

/// Files that are not Dockerfiles: the same editor without highlighting or checks.
#[function_component(PlainEditor)]
pub fn plain_editor(props: &EditorProps) -> Html {
    html! {
        <div class="plain-editor">
            <CodeMirror initial={props.initial.clone()} label={props.label.clone()} language="plain"
                        readonly={props.readonly} onchange={props.onchange.clone()} />
        </div>
    }
}
