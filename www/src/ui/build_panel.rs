//! The Build panel: each step of the page's build live (waiting, running, CACHED, done, error), with the
//! cache-miss reason, duration, bytes and a failed step's output; it stays until the next build. The engine runs
//! the build and sends the view (`ui::engine_api`, callback `build`).

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use super::build_view::{BuildView, BuildViewAction, StepRow, StepState};
use slipway::image::units::progress_size;

impl Reducible for BuildView {
    type Action = BuildViewAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

thread_local! {
    /// The mounted Build panel's dispatcher: builds started from the terminal report to it.
    static PANEL: RefCell<Option<UseReducerDispatcher<BuildView>>> = const { RefCell::new(None) };
}

fn dispatch(action: BuildViewAction) {
    PANEL.with(|panel| {
        if let Some(dispatcher) = panel.borrow().as_ref() {
            dispatcher.dispatch(action);
        }
    });
}

/// A build the terminal runs (in the engine, `ui::engine_run`): the panel shows its view after each event.
pub fn show(view: BuildView) {
    dispatch(BuildViewAction::Show(view));
}

fn seconds(millis: u64) -> String {
    format!("{}.{}s", millis / 1000, millis % 1000 / 100)
}

fn step(row: &StepRow) -> Html {
    let state = row.state;
    let mut meta = Vec::new();
    if let Some(miss) = &row.miss {
        meta.push(miss.clone());
    }
    if let Some(millis) = row.millis {
        meta.push(seconds(millis));
    }
    if row.bytes > 0 {
        meta.push(progress_size(row.bytes));
    }
    let failure = (state == StepState::Error).then(|| {
        let mut text = row.output.join("\n");
        if let Some(error) = &row.error {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&format!("ERROR: {error}"));
        }
        html! { <pre class="step-output" aria-label={format!("Output of {}", row.name)}>{ text }</pre> }
    });
    let id = row.id.map(|id| format!("#{id} ")).unwrap_or_default();
    html! {
        <li class={classes!("build-step", format!("step-{}", state.label().to_ascii_lowercase()))}>
            <span class="step-state">{ state.label() }</span>{ " " }
            <span class="step-name">{ format!("{id}{}", row.name) }</span>
            if !meta.is_empty() { <span class="panel-meta">{ meta.join(" · ") }</span> }
            { failure }
        </li>
    }
}

#[function_component(BuildPanel)]
pub fn build_panel() -> Html {
    let view = use_reducer(BuildView::default);
    {
        let dispatcher = view.dispatcher();
        use_effect_with((), move |_| {
            PANEL.with(|panel| *panel.borrow_mut() = Some(dispatcher));
            || PANEL.with(|panel| *panel.borrow_mut() = None)
        });
    }
    let status = match (view.running, view.succeeded) {
        (true, _) => "building…",
        (false, Some(true)) => "build finished",
        (false, Some(false)) => "build failed",
        (false, None) => "",
    };
    html! {
        <section class="panel build-panel" aria-labelledby="build-title">
            <h2 id="build-title">{ "Build" }</h2>
            if view.steps.is_empty() && !view.running {
                <p class="panel-note">{ "No build yet: try docker build -t user/app:v1 ." }</p>
            } else {
                <p class="panel-note" role="status" aria-label="Build status">{ status }</p>
                <ol class="build-steps" aria-label="Build steps">
                    { for view.steps.iter().map(step) }
                </ol>
                if let Some(error) = &view.error {
                    <pre class="step-output build-error" role="alert" aria-label="Build error">{ error.clone() }</pre>
                }
            }
        </section>
    }
}
