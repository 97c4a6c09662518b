//! The lesson panel (wasm): the steps, the current one highlighted, a "Check" button per step that fetches what
//! the check needs and shows the verdict from `lesson.rs`, and the app's preview once a container answers. In
//! classroom mode (a learner signed in) a passed check marks the step done only once the class's server vouches
//! for it (`lesson_vouch.rs`).

use std::collections::HashMap;
use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::lesson::{markdown_lite, personalize, Check, Lesson, LessonStep, Span, Verdict};
use super::web;
use slipway::api::paths;

/// In classroom mode (a learner signed in): the page's `local` verdict of step `step` of lesson `lesson` (its
/// stable id, the manifest's `id`), passed only when the class's server vouches for it, asking it a few times
/// while it has not judged the step yet. Outside classroom mode, or for a lesson without an id: `local`.
async fn classroom_verdict(local: Verdict, lesson: Option<String>, step: usize) -> Verdict {
    use super::lesson_vouch::{server_says, vouched, worth_asking_again, ASKS, ASK_EVERY_MS};
    if !matches!(super::session::member(), Some((_, slipway::api::Role::Learner))) || !local.passed {
        return local;
    }
    // A lesson without an id is not one the class's server judges (a lesson given by URL).
    let Some(lesson) = lesson else {
        return local;
    };
    let transport = super::session::page_transport();
    let companion = slipway::api::Companion::new(&transport, "");
    let mut said = Err(String::new());
    for ask in 0..ASKS {
        if ask > 0 {
            super::teacher::sleep_ms(ASK_EVERY_MS).await;
        }
        said = match companion.my_progress(Some(&lesson)).await {
            Ok(progress) => Ok(server_says(&progress, &lesson, step)),
            Err(e) => Err(e.to_string()),
        };
        if !worth_asking_again(&local, &said) {
            break;
        }
    }
    vouched(local, said)
}

/// Fetches what `check` needs and judges it; also returns the app's preview URL when a container answered.
async fn run_check(check: Check, finished: Vec<(String, i32)>) -> (Verdict, Option<String>) {
    match &check {
        Check::CommandRan { .. } => (check.judge_history(&finished), None),
        Check::ImageExists { .. } => (check.judge_images(web::get_ok(paths::IMAGES).await), None),
        Check::ContainerAnswers { port, .. } => {
            match check.pick_container(web::get_ok(paths::CONTAINERS).await) {
                Err(verdict) => (verdict, None),
                Ok(container) => {
                    // The app is served on the preview origin, never this page's: another origin, with no
                    // session and no credentials (the container's token in the path is the capability).
                    let url = match preview_origin().await {
                        Ok(origin) => format!("{origin}{}", paths::preview(&container.preview, *port)),
                        Err(why) => return (check.judge_answer(Err(why)), None),
                    };
                    let verdict = check.judge_answer(web::get(&url).await);
                    let preview = Some(url).filter(|_| verdict.passed);
                    (verdict, preview)
                }
            }
        }
        Check::Pushed { .. } => match check.pushed_repository() {
            None => (check.judge_tags(Err("the image name is not valid".into())), None),
            Some(repo) => (check.judge_tags(registry_tags(&repo).await), None),
        },
    }
}

/// Where the companion serves containers' web apps, from its `/api/info`.
async fn preview_origin() -> Result<String, String> {
    let info: slipway::api::ServerInfo =
        serde_json::from_str(&web::get_ok(paths::INFO).await?).map_err(|e| e.to_string())?;
    let preview = info
        .preview
        .ok_or_else(|| "the companion serves no previews".to_string())?;
    let location = web_sys::window()
        .ok_or_else(|| "no window".to_string())?
        .location();
    Ok(preview.origin(
        &location.protocol().unwrap_or_else(|_| "http:".into()),
        &location.hostname().unwrap_or_default(),
    ))
}

/// The embedded registry's tags of `repo` as the learner sees them: with the credentials of their `docker login`
/// (a classroom registry may refuse anonymous reads), as `(status, body)` for the check to judge.
async fn registry_tags(repo: &str) -> Result<(u16, String), String> {
    use slipway::registry::ClientError;
    let session = super::session::PageSession::new();
    let ctx = session.context(None);
    match ctx.local_client().tags(repo).await {
        Ok(tags) => Ok((200, serde_json::json!({ "name": repo, "tags": tags }).to_string())),
        Err(ClientError::Unauthorized(_)) => Ok((401, String::new())),
        Err(ClientError::Denied(_)) => Ok((403, String::new())),
        Err(ClientError::Registry { status, .. }) | Err(ClientError::Unexpected { status, .. }) => {
            Ok((status, String::new()))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Properties, PartialEq)]
pub struct LessonPanelProps {
    pub lesson: Rc<Lesson>,
    pub user: String,
    pub on_user: Callback<String>,
    /// Commands that finished in the terminal, with exit codes (command_ran checks read them).
    pub finished: Vec<(String, i32)>,
    /// Puts a step's command on the terminal's input line.
    pub on_try: Callback<String>,
}

fn render_spans(spans: &[Span], user: &str) -> Html {
    html! {
        <>{ for spans.iter().map(|s| match s {
            Span::Text(t) => html! { { personalize(t, user) } },
            Span::Code(t) => html! { <code>{ personalize(t, user) }</code> },
            Span::Bold(t) => html! { <strong>{ personalize(t, user) }</strong> },
        }) }</>
    }
}

/// One step of the lesson as the panel shows it.
struct StepView<'a> {
    index: usize,
    step: &'a LessonStep,
    current: &'a UseStateHandle<usize>,
    verdict: Option<&'a Verdict>,
    /// Its check is running.
    busy: bool,
    check_step: &'a Callback<usize>,
    on_try: &'a Callback<String>,
    user: &'a str,
}

impl StepView<'_> {
    /// The step's title (a button that opens it); when current, its text, command ("Type it") and Check button;
    /// its verdict stays under it after the lesson moves on, so the learner can reread it.
    fn render(&self) -> Html {
        let (i, step, user) = (self.index, self.step, self.user);
        let is_current = i == **self.current;
        let select = {
            let current = self.current.clone();
            Callback::from(move |_: MouseEvent| current.set(i))
        };
        let command = step.command.as_ref().map(|c| {
            let command = personalize(c, user);
            let on_try = self.on_try.clone();
            let typed = command.clone();
            html! {
                <div class="step-command">
                    <code>{ command.clone() }</code>
                    <button type="button" aria-label={format!("Type it: {command}")}
                            onclick={Callback::from(move |_: MouseEvent| on_try.emit(typed.clone()))}>{ "Type it" }</button>
                </div>
            }
        });
        let check = step.check.as_ref().map(|_| {
            let busy = self.busy;
            let run = self.check_step.reform(move |_: MouseEvent| i);
            html! {
                <button type="button" class="check" aria-label={format!("Check step {}", i + 1)}
                        disabled={busy} onclick={run}>{ if busy { "Checking…" } else { "Check" } }</button>
            }
        });
        let verdict = self.verdict;
        let outcome = verdict.map(|v| {
            html! {
                <p class={classes!("verdict", if v.passed { "passed" } else { "failed" })} role="status"
                   aria-label={format!("Step {} result", i + 1)}>{ v.message.clone() }</p>
            }
        });
        html! {
            <li class={classes!("step", is_current.then_some("current"), verdict.filter(|v| v.passed).map(|_| "done"))}
                aria-current={is_current.then_some("step")}>
                <button type="button" class="step-title" aria-expanded={is_current.to_string()} onclick={select}>
                    { format!("{}. {}", i + 1, step.title) }
                    { if verdict.is_some_and(|v| v.passed) { " ✓" } else { "" } }
                </button>
                if is_current {
                    <div class="step-body">
                        { for markdown_lite(&step.text).iter().map(|p| html! { <p>{ render_spans(p, user) }</p> }) }
                        { command }
                        { check }
                    </div>
                }
                { outcome }
            </li>
        }
    }
}

#[function_component(LessonPanel)]
pub fn lesson_panel(props: &LessonPanelProps) -> Html {
    let current = use_state(|| 0usize);
    let verdicts = use_state(HashMap::<usize, Verdict>::new);
    let checking = use_state(|| None::<usize>);
    let preview = use_state(|| None::<String>);
    let lesson = props.lesson.clone();

    let check_step = {
        let (lesson, current, verdicts, checking, preview) = (
            lesson.clone(),
            current.clone(),
            verdicts.clone(),
            checking.clone(),
            preview.clone(),
        );
        let (user, finished) = (props.user.clone(), props.finished.clone());
        Callback::from(move |index: usize| {
            let Some(step) = lesson.steps.get(index).cloned() else {
                return;
            };
            let Some(check) = step.check.as_ref().map(|c| c.personalized(&user)) else {
                return;
            };
            let user = user.clone();
            let (current, verdicts, checking, preview) = (
                current.clone(),
                verdicts.clone(),
                checking.clone(),
                preview.clone(),
            );
            let (finished, steps, id) = (finished.clone(), lesson.steps.len(), lesson.id.clone());
            checking.set(Some(index));
            wasm_bindgen_futures::spawn_local(async move {
                let (verdict, url) = run_check(check, finished).await;
                let verdict = classroom_verdict(step.advise(verdict, &user), id, index).await;
                if url.is_some() {
                    preview.set(url);
                }
                if verdict.passed && *current == index && index + 1 < steps {
                    current.set(index + 1);
                }
                let mut all = (*verdicts).clone();
                all.insert(index, verdict);
                verdicts.set(all);
                checking.set(None);
            });
        })
    };
    // A command the learner just typed may finish the current step: check history-only steps as it grows.
    {
        let (lesson, current, check_step) = (lesson.clone(), current.clone(), check_step.clone());
        let seen = use_mut_ref(|| None::<usize>);
        use_effect_with(props.finished.len(), move |len| {
            // Not on the first render: an unchecked step says nothing until the learner acts.
            let first = seen.borrow_mut().replace(*len).is_none();
            let step = lesson.steps.get(*current);
            if first {
                return;
            }
            if matches!(
                step.and_then(|s| s.check.as_ref()),
                Some(Check::CommandRan { .. })
            ) {
                check_step.emit(*current);
            }
        });
    }

    let on_user = {
        let on_user = props.on_user.clone();
        Callback::from(move |e: InputEvent| {
            on_user.emit(e.target_unchecked_into::<HtmlInputElement>().value())
        })
    };
    let user = props.user.clone();
    let steps = lesson.steps.iter().enumerate().map(|(i, step)| {
        StepView {
            index: i,
            step,
            current: &current,
            verdict: verdicts.get(&i),
            busy: *checking == Some(i),
            check_step: &check_step,
            on_try: &props.on_try,
            user: &user,
        }
        .render()
    });
    // On the preview origin, and sandboxed without same-origin (its answers also say so): the learner's page
    // runs its scripts but cannot reach this one, nor anything of this origin.
    let preview_frame = (*preview).clone().map(|url| {
        html! {
            <div class="preview">
                <h3>{ "Preview" }</h3>
                <iframe src={url} sandbox="allow-scripts allow-forms" title="App preview" />
            </div>
        }
    });
    html! {
        <section class="pane lesson" aria-labelledby="lesson-title">
            <h2 id="lesson-title">{ lesson.title.clone() }</h2>
            if !lesson.summary.is_empty() { <p class="lesson-summary">{ lesson.summary.clone() }</p> }
            <label class="lesson-user">{ "Your user name " }
                <input type="text" value={props.user.clone()} oninput={on_user} spellcheck="false"
                       aria-label="Your user name" />
            </label>
            <ol class="steps" aria-label="Lesson steps">{ for steps }</ol>
            { preview_frame }
        </section>
    }
}
