//! The Yew components of the playground page: layout, companion status, and the panes to come.

use std::rc::Rc;

use yew::prelude::*;

use super::api;
use super::state::{CompanionAction, CompanionStatus};

/// The seed tutorial's Dockerfile, shown until the editor and lessons arrive.
const STARTER_DOCKERFILE: &str = "FROM python:3.11-slim\n\nWORKDIR /app\n\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n\nCOPY . .\n\nENTRYPOINT [\"python3\"]\nCMD [\"manage.py\", \"runserver\", \"0.0.0.0:8000\"]\n";

impl Reducible for CompanionStatus {
    type Action = CompanionAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

fn check_companion(status: UseReducerHandle<CompanionStatus>) {
    wasm_bindgen_futures::spawn_local(async move {
        let action = match api::get_text("/api/info").await {
            Ok(body) => CompanionAction::InfoReceived(body),
            Err(why) => CompanionAction::RequestFailed(why),
        };
        status.dispatch(action);
    });
}

#[function_component(CompanionIndicator)]
fn companion_indicator() -> Html {
    let status = use_reducer(CompanionStatus::default);
    {
        let status = status.clone();
        use_effect_with((), move |_| check_companion(status));
    }
    let recheck = {
        let status = status.clone();
        Callback::from(move |_| {
            status.dispatch(CompanionAction::Recheck);
            check_companion(status.clone());
        })
    };
    let class = match &*status {
        CompanionStatus::Checking => "status checking",
        CompanionStatus::Connected(_) => "status connected",
        CompanionStatus::Unreachable(_) => "status unreachable",
    };
    html! {
        <div class="companion">
            <span id="companion-status" class={class} role="status" aria-live="polite"
                  aria-label="Companion status">{ status.text() }</span>
            <button type="button" onclick={recheck} aria-label="Check the companion again">{ "Recheck" }</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct NotYetProps {
    what: AttrValue,
    issue: AttrValue,
}

/// A plain statement that a pane's feature is not built yet, and which piece of work brings it.
#[function_component(NotYet)]
fn not_yet(props: &NotYetProps) -> Html {
    html! { <p class="not-yet">{ format!("Not built yet: {} — coming with {}.", props.what, props.issue) }</p> }
}

#[function_component(App)]
pub fn app() -> Html {
    // Bumped after every terminal command: the Images and Registry panels reload then.
    let store_revision = use_state(|| 0u32);
    let on_command_done = {
        let store_revision = store_revision.clone();
        Callback::from(move |()| store_revision.set(*store_revision + 1))
    };
    // The page-load benchmark reads this mark: navigation start to the app's first render.
    use_effect_with((), |_| {
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("slipway-first-render");
        }
    });
    html! {
        <div class="app" id="slipway-app" data-ready="true">
            <header class="topbar">
                <h1 class="brand">{ "Slipway" }</h1>
                <span class="tagline">{ "learn Docker by doing it" }</span>
                <CompanionIndicator />
            </header>
            <main class="workspace">
                <section class="pane editor" aria-labelledby="editor-title">
                    <h2 id="editor-title">{ "Dockerfile" }</h2>
                    <super::editor::DockerfileEditor initial={STARTER_DOCKERFILE} />
                    <NotYet what="builds" issue="the image builder" />
                </section>
                <section class="pane terminal" aria-labelledby="terminal-title">
                    <h2 id="terminal-title">{ "Terminal" }</h2>
                    <super::terminal::Terminal {on_command_done} />
                    <NotYet what="docker build and interactive -it sessions in the terminal" issue="the builder, the registry client and the workspace" />
                </section>
                <aside class="side" aria-label="Side panels">
                    <super::panels::ImagesPanel revision={*store_revision} />
                    <section class="panel" aria-labelledby="containers-title">
                        <h2 id="containers-title">{ "Containers" }</h2>
                        <NotYet what="a live container list (docker ps in the terminal works)" issue="the workspace" />
                    </section>
                    <super::panels::RegistryPanel revision={*store_revision} />
                </aside>
            </main>
        </div>
    }
}

/// Mount the app on `#app`, replacing the loading placeholder that `index.html` shows until the wasm runs.
pub fn start() {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser document");
    let root = document.get_element_by_id("app").expect("index.html has #app");
    root.set_inner_html("");
    yew::Renderer::<App>::with_root(root).render();
}
