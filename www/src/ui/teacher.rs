//! The teacher's dashboard (`/teacher`, wasm): the usual sign-in form, then one screen for the class: the
//! learners' table (sortable, a real `<table>` with `<th scope>` and `aria-sort`), each lesson's funnel, the
//! actions on one learner (each confirmed first), the class-wide actions (broadcast a message to every
//! learner's terminal, extend time) beside the class's end, the CSV export, and an `aria-live` region saying
//! what changed.
//! Live: it follows the server's `text/event-stream` feed through the page's session transport (an
//! `EventSource` cannot send the session header). The state and its rules are `teacher_state.rs`'s.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::teacher_state::{
    broadcast_request, end_label, extend_request, feed_events, size, step_label, Column, Dashboard, DashboardAction,
    Pending,
};
use slipway::api::{paths, ActionDone, ClassSnapshot, ErrorBody, LearnerRow, LessonFunnel, Role, SignedIn};
use slipway::registry::{HttpRequest, Method, Transport};

impl Reducible for Dashboard {
    type Action = DashboardAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

/// A timer as a future.
pub(super) async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn url(path: &str) -> String {
    format!("{}{path}", super::session::page_origin())
}

/// Follow the feed for as long as the page lives, reconnecting after a pause when it ends.
async fn follow_feed(dashboard: UseReducerHandle<Dashboard>) {
    loop {
        let transport = super::session::page_transport();
        let mut buffer = String::new();
        let mut on_chunk = |bytes: &[u8]| {
            buffer.push_str(&String::from_utf8_lossy(bytes));
            let (snapshots, rest) = feed_events(&buffer);
            buffer = rest;
            for snapshot in snapshots {
                dashboard.dispatch(DashboardAction::Snapshot(snapshot));
            }
        };
        let request = HttpRequest::new(Method::Get, url(paths::CLASSROOM_FEED));
        match transport.send_streaming(request, &mut on_chunk).await {
            Ok(answer) if answer.status == 403 => {
                dashboard.dispatch(DashboardAction::Said(ErrorBody::message_of(&answer.body)));
                return;
            }
            _ => sleep_ms(2000).await,
        }
    }
}

/// POST `path` with `body`: what the server says it did, or why not.
async fn act(path: String, body: String) -> String {
    let transport = super::session::page_transport();
    let request = HttpRequest::new(Method::Post, url(&path))
        .header("content-type", "application/json")
        .body(body.into_bytes());
    match transport.send(request).await {
        Ok(answer) if answer.is_success() => serde_json::from_slice::<ActionDone>(&answer.body)
            .map(|done| done.message)
            .unwrap_or_else(|e| e.to_string()),
        Ok(answer) => ErrorBody::message_of(&answer.body),
        Err(e) => e.to_string(),
    }
}

async fn download_csv() -> Result<(), String> {
    let transport = super::session::page_transport();
    let answer = transport
        .send(HttpRequest::new(Method::Get, url(paths::CLASSROOM_CSV)))
        .await
        .map_err(|e| e.to_string())?;
    if !answer.is_success() {
        return Err(ErrorBody::message_of(&answer.body));
    }
    super::web::download("progress.csv", &answer.body, "text/csv")
}

fn run(pending: Pending, dashboard: UseReducerHandle<Dashboard>) {
    let (path, body) = match &pending {
        Pending::Stop { learner } => (paths::classroom_stop(learner), "{}".to_string()),
        Pending::Reset { learner, step } => (
            paths::classroom_reset(learner),
            serde_json::json!({ "step": step }).to_string(),
        ),
    };
    wasm_bindgen_futures::spawn_local(async move {
        let said = act(path, body).await;
        dashboard.dispatch(DashboardAction::Said(said));
    });
}

/// The step chosen in learner `name`'s reset list.
fn chosen_step(name: &str) -> usize {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&format!("reset-step-{name}")))
        .and_then(|e| e.dyn_into::<web_sys::HtmlSelectElement>().ok())
        .and_then(|s| s.value().parse().ok())
        .unwrap_or(0)
}

fn learner_row(row: &LearnerRow, dashboard: &UseReducerHandle<Dashboard>, steps: usize) -> Html {
    let name = row.name.clone();
    let stop = {
        let (dashboard, learner) = (dashboard.clone(), name.clone());
        Callback::from(move |_: MouseEvent| dashboard.dispatch(DashboardAction::Ask(Pending::Stop { learner: learner.clone() })))
    };
    let reset = {
        let (dashboard, learner) = (dashboard.clone(), name.clone());
        Callback::from(move |_: MouseEvent| {
            let step = chosen_step(&learner);
            dashboard.dispatch(DashboardAction::Ask(Pending::Reset { learner: learner.clone(), step }));
        })
    };
    let passed = row.lessons.first().map_or(0, |l| l.steps.iter().filter(|s| s.passed_at.is_some()).count());
    let error = row.last_error.as_ref().map_or(String::new(), |e| format!("{}: {}", e.command, e.error));
    html! {
        <tr data-learner={name.clone()}>
            <th scope="row">{ name.clone() }</th>
            <td>{ if row.online { "online" } else { "away" } }</td>
            <td class="step">{ format!("{} ({passed} passed)", step_label(row)) }</td>
            <td class="error">{ error }</td>
            <td>{ row.running_containers }</td>
            <td>{ row.memory_bytes.map(size).unwrap_or_default() }</td>
            <td>{ row.cpu_percent.map(|c| format!("{c:.0}%")).unwrap_or_default() }</td>
            <td>{ size(row.disk_bytes) }</td>
            <td class="actions">
                <button type="button" onclick={stop} aria-label={format!("Stop containers of {name}")}>{ "Stop" }</button>
                <select id={format!("reset-step-{name}")} aria-label={format!("Step to reset {name} to")}>
                    { for (0..steps).map(|i| html! { <option value={i.to_string()}>{ format!("step {}", i + 1) }</option> }) }
                </select>
                <button type="button" onclick={reset} aria-label={format!("Reset {name}")}>{ "Reset" }</button>
            </td>
        </tr>
    }
}

fn funnel_table(funnel: &LessonFunnel) -> Html {
    html! {
        <table class="funnel">
            <caption>{ format!("Funnel: {}", funnel.title) }</caption>
            <thead><tr>
                <th scope="col">{ "Step" }</th><th scope="col">{ "Reached" }</th><th scope="col">{ "Passed" }</th>
                <th scope="col">{ "Stopped here" }</th><th scope="col">{ "Median time" }</th>
            </tr></thead>
            <tbody>{ for funnel.steps.iter().enumerate().map(|(i, s)| html! {
                <tr>
                    <th scope="row">{ format!("{}. {}", i + 1, s.title) }</th>
                    <td>{ s.reached }</td><td>{ s.passed }</td><td>{ s.stopped_here }</td>
                    <td>{ s.median_seconds.map(|m| format!("{}m {:02}s", m / 60, m % 60)).unwrap_or_default() }</td>
                </tr>
            }) }</tbody>
        </table>
    }
}

fn confirmation(pending: &Pending, dashboard: &UseReducerHandle<Dashboard>) -> Html {
    let confirm = {
        let (dashboard, pending) = (dashboard.clone(), pending.clone());
        Callback::from(move |_: MouseEvent| run(pending.clone(), dashboard.clone()))
    };
    let cancel = {
        let dashboard = dashboard.clone();
        Callback::from(move |_: MouseEvent| dashboard.dispatch(DashboardAction::Cancel))
    };
    html! {
        <div class="confirm" role="alertdialog" aria-labelledby="confirm-question">
            <p id="confirm-question">{ pending.question() }</p>
            <button type="button" onclick={confirm}>{ "Confirm" }</button>
            <button type="button" onclick={cancel}>{ "Cancel" }</button>
        </div>
    }
}

/// The value of the input `id`.
fn input_value(id: &str) -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

/// Send the broadcast field's message to every learner's terminal.
fn broadcast(dashboard: UseReducerHandle<Dashboard>) {
    let request = match broadcast_request(&input_value("broadcast-message")) {
        Ok(request) => request,
        Err(why) => return dashboard.dispatch(DashboardAction::Said(why)),
    };
    wasm_bindgen_futures::spawn_local(async move {
        let transport = super::session::page_transport();
        let said = match slipway::api::Companion::new(&transport, "").broadcast(&request).await {
            Ok(()) => format!("Broadcast to the class: {}", request.message),
            Err(e) => e.to_string(),
        };
        dashboard.dispatch(DashboardAction::Said(said));
    });
}

/// Move the class's end by the minutes field's value.
fn extend(dashboard: UseReducerHandle<Dashboard>) {
    let request = match extend_request(&input_value("extend-minutes")) {
        Ok(request) => request,
        Err(why) => return dashboard.dispatch(DashboardAction::Said(why)),
    };
    wasm_bindgen_futures::spawn_local(async move {
        let transport = super::session::page_transport();
        match slipway::api::Companion::new(&transport, "").extend_time(&request).await {
            Ok(ends) => dashboard.dispatch(DashboardAction::EndsAt {
                ends_at: ends.ends_at,
                announce: true,
            }),
            Err(e) => dashboard.dispatch(DashboardAction::Said(e.to_string())),
        }
    });
}

/// The class-wide actions: a message for every learner's terminal, and more time, beside the class's end.
fn class_actions(dashboard: &UseReducerHandle<Dashboard>) -> Html {
    let on_broadcast = {
        let dashboard = dashboard.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            broadcast(dashboard.clone());
        })
    };
    let on_extend = {
        let dashboard = dashboard.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            extend(dashboard.clone());
        })
    };
    let ends = dashboard.ends_at.as_deref().map_or("no set end".to_string(), end_label);
    html! {
        <section class="class-actions" aria-label="Class actions">
            <p class="class-end">{ "The class ends at " }<strong class="ends-at">{ ends }</strong></p>
            <form class="broadcast" onsubmit={on_broadcast}>
                <label for="broadcast-message">{ "Message to every learner" }</label>
                <input id="broadcast-message" type="text" maxlength="500" autocomplete="off" />
                <button type="submit">{ "Broadcast" }</button>
            </form>
            <form class="extend" onsubmit={on_extend}>
                <label for="extend-minutes">{ "Extend time by (minutes)" }</label>
                <input id="extend-minutes" type="number" min="1" max="1440" value="15" />
                <button type="submit">{ "Extend time" }</button>
            </form>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct DashboardProps {
    ends_at: Option<String>,
}

#[function_component(DashboardView)]
fn dashboard_view(props: &DashboardProps) -> Html {
    let dashboard = use_reducer(Dashboard::default);
    {
        let (dashboard, ends_at) = (dashboard.clone(), props.ends_at.clone());
        use_effect_with((), move |_| {
            if let Some(ends_at) = ends_at {
                dashboard.dispatch(DashboardAction::EndsAt { ends_at, announce: false });
            }
        });
    }
    {
        let dashboard = dashboard.clone();
        use_effect_with((), move |_| wasm_bindgen_futures::spawn_local(follow_feed(dashboard)));
    }
    let csv = {
        let dashboard = dashboard.clone();
        Callback::from(move |_: MouseEvent| {
            let dashboard = dashboard.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(why) = download_csv().await {
                    dashboard.dispatch(DashboardAction::Said(why));
                }
            });
        })
    };
    let empty = ClassSnapshot::default();
    let snapshot = dashboard.snapshot.as_ref().unwrap_or(&empty);
    let steps = snapshot.funnels.first().map_or(0, |f| f.steps.len());
    let headers = Column::ALL.iter().map(|&column| {
        let sort = {
            let dashboard = dashboard.clone();
            Callback::from(move |_: MouseEvent| dashboard.dispatch(DashboardAction::SortBy(column)))
        };
        html! {
            <th scope="col" aria-sort={dashboard.aria_sort(column)}>
                <button type="button" onclick={sort}>{ column.title() }</button>
            </th>
        }
    });
    html! {
        <main class="teacher">
            <h1>{ "Class dashboard" }</h1>
            <p class="announce" role="status" aria-live="polite" aria-label="Class dashboard updates">{ dashboard.announcement.clone() }</p>
            { dashboard.pending.as_ref().map(|p| confirmation(p, &dashboard)).unwrap_or_default() }
            { class_actions(&dashboard) }
            <button type="button" onclick={csv}>{ "Download CSV" }</button>
            <table class="learners">
                <caption>{ format!("Learners ({})", snapshot.learners.len()) }</caption>
                <thead><tr>{ for headers }<th scope="col">{ "Actions" }</th></tr></thead>
                <tbody>{ for dashboard.rows().into_iter().map(|row| learner_row(row, &dashboard, steps)) }</tbody>
            </table>
            { for snapshot.funnels.iter().map(funnel_table) }
        </main>
    }
}

#[derive(Properties, PartialEq)]
struct TeacherRootProps {
    class_name: Option<String>,
    ends_at: Option<String>,
}

/// The sign-in form until a teacher signs in, then the dashboard; a learner is told the page is not theirs.
#[function_component(TeacherRoot)]
fn teacher_root(props: &TeacherRootProps) -> Html {
    let member = use_state(super::session::member);
    match &*member {
        Some((_, Role::Teacher)) => html! { <DashboardView ends_at={props.ends_at.clone()} /> },
        Some((name, Role::Learner)) => html! {
            <main class="teacher">
                <h1>{ "Class dashboard" }</h1>
                <p role="alert">{ format!("This page is for the class's teachers; {name} is signed in as a learner.") }</p>
                <a href="/">{ "Back to your workspace" }</a>
            </main>
        },
        None => {
            let on_signed_in = Callback::from(move |signed_in: SignedIn| {
                super::session::keep_sign_in(&signed_in);
                member.set(Some((signed_in.name, signed_in.role)));
            });
            let class_name = props.class_name.clone();
            html! { <super::sign_in::SignIn {class_name} {on_signed_in} /> }
        }
    }
}

/// Mount the dashboard on `root` (the page at [`paths::TEACHER`]).
pub async fn mount(root: web_sys::Element) {
    let transport = super::session::page_transport();
    let class = slipway::api::Companion::new(&transport, "")
        .info()
        .await
        .ok()
        .and_then(|info| info.classroom);
    root.set_inner_html("");
    let (class_name, ends_at) = class.map_or((None, None), |c| (c.name, c.ends_at));
    yew::Renderer::<TeacherRoot>::with_root_and_props(root, TeacherRootProps { class_name, ends_at }).render();
}
