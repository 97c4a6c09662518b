//! The Yew components of the playground page: the start (share link, saved workspace or lesson), the shared
//! project context, layout with resizable columns, settings, persistence and share links; `/embed` too.

use std::rc::Rc;

use yew::prelude::*;

use super::api;
use super::files::{EditorPane, FilesPane, ProjectHandle, ReadOnly};
use super::lesson::Lesson;
use super::lesson_panel::LessonPanel;
use super::project::{Project, ProjectFile};
use super::resizer::{Orientation, Resizer};
use super::share;
use super::start::{
    builtin_lesson, builtin_project, plan_start, LessonSource, Panes, PendingLink, StartInputs, StartPlan,
};
use super::state::{CompanionAction, CompanionStatus};
use super::web;
use super::workspace::{ProjectAction, ProjectState, SavedWorkspace, Settings, SettingsAction, SAVED_KEY};

impl Reducible for CompanionStatus {
    type Action = CompanionAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

impl Reducible for Settings {
    type Action = SettingsAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).reduce(action))
    }
}

fn check_companion(status: UseReducerHandle<CompanionStatus>) {
    wasm_bindgen_futures::spawn_local(async move {
        let action = match api::get_text(slipway::api::paths::INFO).await {
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
            // The title repeats the text: the top bar cuts it short when the window is narrow.
            <span id="companion-status" class={class} role="status" aria-live="polite"
                  aria-label="Companion status" title={status.text()}>{ status.text() }</span>
            <button type="button" onclick={recheck} aria-label="Recheck the companion">{ "Recheck" }</button>
        </div>
    }
}

/// The theme in localStorage too (a copy of the saved settings' one), for the loading text before the app runs.
const THEME_KEY: &str = "slipway.theme";

thread_local! {
    /// The saved workspace as read before the first render (IndexedDB is asynchronous, the start plan is not).
    static STARTUP_WORKSPACE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Saves the workspace in IndexedDB (then the older localStorage copy is dropped: migrated); when IndexedDB
/// refuses (private mode, quota), in localStorage as before, and says so. The project text is never lost
/// silently: if both refuse, the page says why. When the page is `leaving` (reload, navigation), the
/// asynchronous IndexedDB write may not commit before it goes: localStorage gets the same copy synchronously
/// first (the next page start moves it into IndexedDB).
fn save_workspace(mut saved: SavedWorkspace, project: ProjectHandle, leaving: bool) {
    saved.saved_at = js_sys::Date::now() as u64;
    let json = saved.to_json();
    if leaving {
        let _ = web::local_set(SAVED_KEY, &json);
    }
    wasm_bindgen_futures::spawn_local(async move {
        let refused = match super::store::save_workspace(&json).await {
            Ok(()) => return web::local_remove(SAVED_KEY),
            Err(e) => e,
        };
        let text = match web::local_set(SAVED_KEY, &json) {
            Ok(()) => format!("Saved in localStorage instead of IndexedDB ({refused})."),
            Err(why) => format!("The workspace could not be saved: {refused}; {why}."),
        };
        project.dispatch(ProjectAction::Say { error: true, text });
    });
}

/// The start plan from the page's URL and storage.
fn read_start() -> StartPlan {
    let path = web::location_pathname();
    let embed = path == "/embed" || path.starts_with("/embed/");
    plan_start(&StartInputs {
        embed,
        hash: web::location_hash(),
        lesson: web::query_param("lesson"),
        files: web::query_param("files"),
        panes: web::query_param("panes"),
        readonly: web::query_param("readonly"),
        theme: web::query_param("theme"),
        saved: if embed {
            None
        } else {
            STARTUP_WORKSPACE.with(|s| s.borrow().clone())
        },
    })
}

/// Fetches a lesson manifest; with `fill`, also its files, which then replace the project. `on_loaded` runs
/// once the lesson is in place (not when it failed: the page stays as it was).
fn load_lesson(
    url: String,
    fill: bool,
    lesson: UseStateHandle<Option<Rc<Lesson>>>,
    project: ProjectHandle,
    on_loaded: impl FnOnce() + 'static,
) {
    wasm_bindgen_futures::spawn_local(async move {
        let say_error = |text: String| project.dispatch(ProjectAction::Say { error: true, text });
        let manifest = match web::get_ok(&url).await {
            Ok(body) => body,
            Err(why) => return say_error(format!("Could not load the lesson: {why}")),
        };
        let parsed = match Lesson::parse(&manifest) {
            Ok(parsed) => parsed,
            Err(why) => return say_error(format!("Could not load the lesson {url}: {why}")),
        };
        if fill {
            let absolute = super::lesson::resolve(&web::location_href(), &url);
            let mut files = Vec::new();
            for (name, file_url) in parsed.file_urls(&absolute) {
                match web::get_bytes(&file_url).await {
                    Ok(bytes) => files.push((name, ProjectFile::new(bytes))),
                    Err(why) => return say_error(format!("Could not load the lesson's file {name}: {why}")),
                }
            }
            match Project::from_files(files) {
                Ok(p) => project.dispatch(ProjectAction::Replace {
                    project: p,
                    why: format!("Loaded the lesson \u{201c}{}\u{201d}.", parsed.title),
                }),
                Err(why) => return say_error(format!("The lesson's files are not usable: {why}")),
            }
        }
        lesson.set(Some(Rc::new(parsed)));
        on_loaded();
    });
}

/// The page's state that lives across renders: the start plan's values as Yew handles.
#[derive(Clone)]
struct AppState {
    plan: Rc<StartPlan>,
    project: ProjectHandle,
    settings: UseReducerHandle<Settings>,
    lesson: UseStateHandle<Option<Rc<Lesson>>>,
    /// Where the shown lesson comes from: the start plan's, until the learner opens a link's lesson.
    lesson_source: UseStateHandle<LessonSource>,
    /// A link waiting for the learner's answer before it replaces their changes.
    pending_link: UseStateHandle<Option<PendingLink>>,
    history: UseStateHandle<Vec<String>>,
    finished: UseStateHandle<Vec<(String, i32)>>,
    user: UseStateHandle<Option<String>>,
    /// Bumped when the lesson starts over (reset, another lesson): the lesson panel is made anew.
    lesson_run: UseStateHandle<u32>,
}

#[hook]
fn use_app_state() -> AppState {
    let plan = use_memo((), |_| read_start());
    let project = {
        let plan = plan.clone();
        use_reducer(move || {
            let mut state = ProjectState::new(plan.project.clone().unwrap_or_default());
            state.message = plan.message.clone();
            state.edited = plan.edited;
            state
        })
    };
    let settings = {
        let initial = plan.settings;
        use_reducer(move || initial)
    };
    let lesson = {
        let builtin = plan.lesson == LessonSource::Builtin;
        use_state(move || builtin.then(|| Rc::new(builtin_lesson())))
    };
    let lesson_source = {
        let initial = plan.lesson.clone();
        use_state(move || initial)
    };
    let pending_link = {
        let initial = plan.pending.clone();
        use_state(move || initial)
    };
    let history = {
        let initial = plan.history.clone();
        use_state(move || initial)
    };
    let finished = {
        let initial = plan.finished.clone();
        use_state(move || initial)
    };
    let user = {
        let initial = plan.user.clone();
        use_state(move || initial)
    };
    let lesson_run = use_state(|| 0u32);
    AppState {
        plan,
        project,
        settings,
        lesson,
        lesson_source,
        pending_link,
        history,
        finished,
        user,
        lesson_run,
    }
}

/// The first render: the page-load benchmark's mark, a used share fragment cleared, the plan's lesson fetched.
#[hook]
fn use_start(state: &AppState) {
    let (plan, lesson, project) = (state.plan.clone(), state.lesson.clone(), state.project.clone());
    use_effect_with((), move |_| {
        // The page-load benchmark reads this mark: navigation start to the app's first render.
        web::mark("slipway-first-render");
        // A share link waiting for an answer keeps its fragment: a reload asks again.
        if web::location_hash().starts_with(share::SHARE_PREFIX) && plan.pending.is_none() {
            web::clear_hash();
        }
        if let LessonSource::Fetch(url) = &plan.lesson {
            load_lesson(url.clone(), plan.project.is_none(), lesson, project, || ());
        }
    });
}

/// Saves the workspace whenever something in it changes (not in embeds).
#[hook]
fn use_autosave(state: &AppState) {
    let saved = SavedWorkspace {
        version: 0,
        project: state.project.project.clone(),
        history: (*state.history).clone(),
        finished: (*state.finished).clone(),
        settings: *state.settings,
        lesson_url: Some(state.lesson_source.url().to_string()),
        user: (*state.user).clone(),
        saved_at: 0,
        edited: state.project.edited,
    };
    let (persist, project) = (state.plan.persist, state.project.clone());
    use_effect_with(saved, move |saved| {
        if persist {
            // After a pause in edits, not on every keystroke (serializing the whole workspace each time).
            let saved = saved.clone();
            super::autosave::later(move |leaving| save_workspace(saved, project, leaving));
        }
    });
}

/// The page behind the app (and the loading text of the next visit, see index.html) follows the theme.
#[hook]
fn use_theme(theme: super::workspace::Theme, embed: bool) {
    use_effect_with(theme, move |theme| {
        if let Some(html) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = html.set_attribute("data-theme", theme.name());
        }
        if !embed {
            let _ = web::local_set(THEME_KEY, theme.name());
        }
    });
}

impl AppState {
    fn say(&self, error: bool, text: impl Into<String>) {
        self.project.dispatch(ProjectAction::Say {
            error,
            text: text.into(),
        });
    }

    /// Reset: the project back at the lesson's start (the learner confirmed in the top bar).
    fn reset(&self) -> Callback<()> {
        let state = self.clone();
        Callback::from(move |()| {
            state.lesson_run.set(*state.lesson_run + 1);
            match &*state.lesson_source {
                LessonSource::Builtin => state.project.dispatch(ProjectAction::Replace {
                    project: builtin_project(),
                    why: "Reset: the project is back at the lesson's start.".into(),
                }),
                LessonSource::Fetch(url) => load_lesson(
                    url.clone(),
                    true,
                    state.lesson.clone(),
                    state.project.clone(),
                    || (),
                ),
            }
        })
    }

    /// The learner chose to open the waiting link: its files (and lesson) replace the project.
    fn open_link(&self) -> Callback<()> {
        let state = self.clone();
        Callback::from(move |()| {
            match (*state.pending_link).clone() {
                Some(PendingLink::Share(shared)) => {
                    web::clear_hash();
                    state.project.dispatch(ProjectAction::Replace {
                        project: shared,
                        why: "Opened the project from the link.".into(),
                    });
                }
                Some(PendingLink::Lesson(url)) => {
                    let (lesson_source, lesson_run) = (state.lesson_source.clone(), state.lesson_run.clone());
                    let source = LessonSource::Fetch(url.clone());
                    load_lesson(
                        url,
                        true,
                        state.lesson.clone(),
                        state.project.clone(),
                        move || {
                            lesson_source.set(source);
                            lesson_run.set(*lesson_run + 1);
                        },
                    );
                }
                None => {}
            }
            state.pending_link.set(None);
        })
    }

    /// The learner chose to keep their files: the link is forgotten.
    fn keep_files(&self) -> Callback<()> {
        let state = self.clone();
        Callback::from(move |()| {
            state.pending_link.set(None);
            web::forget_link();
            state.say(false, "Kept your files; the link was not opened.");
        })
    }

    /// Copies a link holding the project's files (to the app's page, also from an embed).
    fn copy_share(&self, share_link: UseStateHandle<Option<String>>) -> Callback<MouseEvent> {
        let state = self.clone();
        Callback::from(move |_: MouseEvent| {
            let page = web::location_href();
            let page = if page.contains("/embed") {
                page.split("/embed").next().unwrap_or_default().to_string() + "/"
            } else {
                page
            };
            match share::link(&page, &state.project.project) {
                Ok(link) => {
                    web::copy_to_clipboard(&link);
                    share_link.set(Some(link));
                    state.say(false, "Share link copied: anyone who opens it gets these files.");
                }
                Err(why) => {
                    share_link.set(None);
                    state.say(true, why.to_string());
                }
            }
        })
    }

    fn on_history(&self) -> Callback<Vec<String>> {
        let history = self.history.clone();
        Callback::from(move |h: Vec<String>| {
            if *history != h {
                history.set(h)
            }
        })
    }

    fn on_finished(&self) -> Callback<(String, i32)> {
        let finished = self.finished.clone();
        Callback::from(move |done: (String, i32)| {
            let mut all = (*finished).clone();
            all.push(done);
            finished.set(all);
        })
    }

    /// The user name for `docker login` and the lesson: the learner's, else the lesson's.
    fn lesson_user(&self) -> String {
        (*self.user)
            .clone()
            .or_else(|| (*self.lesson).as_ref().map(|l| l.user.clone()))
            .unwrap_or_else(|| "learner1".into())
    }
}

#[derive(Properties, PartialEq)]
struct TopBarProps {
    settings: UseReducerHandle<Settings>,
    embed: bool,
    readonly: bool,
    on_copy_share: Callback<MouseEvent>,
    on_reset: Callback<()>,
}

/// The header: text size, theme, share link, reset (asked first, in the page: no blocking dialog), status.
#[function_component(TopBar)]
fn top_bar(props: &TopBarProps) -> Html {
    let settings = &props.settings;
    let confirming_reset = use_state(|| false);
    let ask_reset = {
        let confirming_reset = confirming_reset.clone();
        Callback::from(move |_: MouseEvent| confirming_reset.set(!*confirming_reset))
    };
    let reset = {
        let (confirming_reset, on_reset) = (confirming_reset.clone(), props.on_reset.clone());
        Callback::from(move |_: MouseEvent| {
            confirming_reset.set(false);
            on_reset.emit(());
        })
    };
    let dispatch = |action: SettingsAction| {
        let settings = settings.clone();
        Callback::from(move |_: MouseEvent| settings.dispatch(action))
    };
    html! {
        <header class="topbar">
            <h1 class="brand">{ "Slipway" }</h1>
            if !props.embed { <span class="tagline">{ "learn Docker by doing it" }</span> }
            <div class="controls" role="toolbar" aria-label="Page controls">
                <button type="button" onclick={dispatch(SettingsAction::FontSmaller)}
                        aria-label="A− smaller text">{ "A−" }</button>
                <span class="font-size" aria-label="Text size">{ format!("{} px", settings.font_px) }</span>
                <button type="button" onclick={dispatch(SettingsAction::FontBigger)}
                        aria-label="A+ larger text">{ "A+" }</button>
                <button type="button" onclick={dispatch(SettingsAction::ToggleTheme)}
                        aria-label={format!("Switch to the {} theme", settings.theme.other().name())}>
                    { if settings.theme == super::workspace::Theme::Dark { "☀ Light" } else { "☾ Dark" } }
                </button>
                <button type="button" onclick={props.on_copy_share.clone()}>{ "Copy share link" }</button>
                if !props.readonly {
                    <button type="button" onclick={ask_reset.clone()} aria-expanded={confirming_reset.to_string()}>
                        { "Reset" }
                    </button>
                }
                if *confirming_reset {
                    <span class="confirm" role="group" aria-label="Confirm reset">
                        { "Replace your files with the lesson's start?" }
                        <button type="button" onclick={reset}>{ "Yes, reset" }</button>
                        <button type="button" onclick={ask_reset}>{ "Keep my files" }</button>
                    </span>
                }
            </div>
            <super::layer_pool::LayerProgress />
            if !props.embed { <CompanionIndicator /> }
        </header>
    }
}

/// The editor and the side panels share a row above the terminal, which takes the rest of the height and the whole
/// width right of the lesson: the terminal is where the learner works.
fn editor_row(panes: Panes, store_revision: u32) -> Option<Html> {
    (panes.editor || panes.side).then(|| {
        html! {
            <div class="editor-row">
                if panes.editor { <EditorPane /> }
                if panes.side {
                <aside class="side" aria-label="Side panels" tabindex="0">
                    <super::build_panel::BuildPanel />
                    <super::panels::ImagesPanel revision={store_revision} />
                    <super::panels::ContainersPanel revision={store_revision} />
                    <super::panels::RegistryPanel revision={store_revision} />
                </aside>
                }
            </div>
        }
    })
}

impl AppState {
    fn terminal_pane(
        &self,
        prefill: Option<(u32, String)>,
        on_command_done: Callback<()>,
        login_user: String,
    ) -> Html {
        let settings = &self.settings;
        html! {
            <section class="pane terminal" aria-labelledby="terminal-title">
                <h2 id="terminal-title">{ "Terminal" }</h2>
                <super::terminal::Terminal initial_history={(*self.history).clone()} on_history={self.on_history()}
                                           on_finished={self.on_finished()} {prefill} {on_command_done}
                                           font_px={settings.font_px} theme={settings.theme.name()}
                                           {login_user} />
            </section>
        }
    }
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_app_state();
    use_start(&state);
    use_autosave(&state);
    // Bumped after every terminal command: the Images and Registry panels reload then.
    let store_revision = use_state(|| 0u32);
    let on_command_done = {
        let store_revision = store_revision.clone();
        Callback::from(move |()| store_revision.set(*store_revision + 1))
    };
    let prefill = use_state(|| None::<(u32, String)>);
    let share_link = use_state(|| None::<String>);
    let settings = &state.settings;
    let plan = &state.plan;
    let panes: Panes = plan.panes;
    let embed = !plan.persist;
    use_theme(settings.theme, embed);

    let lesson_user = state.lesson_user();
    let link_prompt = (*state.pending_link).clone().map(|link| {
        html! {
            <super::link_prompt::LinkPrompt {link} on_open={state.open_link()} on_keep={state.keep_files()} />
        }
    });
    let on_try = {
        let prefill = prefill.clone();
        Callback::from(move |line: String| {
            let n = prefill.as_ref().map_or(0, |(n, _)| n + 1);
            prefill.set(Some((n, line)));
        })
    };
    let on_user = {
        let user = state.user.clone();
        Callback::from(move |u: String| user.set(Some(u)))
    };
    let resize = |action: fn(i32) -> SettingsAction| {
        let settings = settings.clone();
        Callback::from(move |d: i32| settings.dispatch(action(d)))
    };
    let style = format!(
        "--font: {}px; --left: {}px; --editor-row: {}px;",
        settings.font_px, settings.left_px, settings.editor_row_px
    );
    let lesson_pane = (*state.lesson).clone().filter(|_| panes.lesson).map(|l| {
        html! {
            <LessonPanel key={*state.lesson_run} lesson={l} user={lesson_user.clone()} {on_user}
                         finished={(*state.finished).clone()} {on_try} />
        }
    });
    let left = (panes.lesson || panes.files).then(|| {
        html! {
            <>
                <div class="column left">
                    if panes.files { <FilesPane /> }
                    { lesson_pane }
                </div>
                <Resizer label="Resize the lesson and files column" orientation={Orientation::Vertical}
                         value={settings.left_px} on_resize={resize(SettingsAction::ResizeLeft)} />
            </>
        }
    });
    let upper = editor_row(panes, *store_revision);
    let splitter = (upper.is_some() && panes.terminal).then(|| {
        html! {
            <Resizer label="Resize the editor and the terminal" orientation={Orientation::Horizontal}
                     value={settings.editor_row_px} on_resize={resize(SettingsAction::ResizeEditorRow)} />
        }
    });
    let terminal = panes
        .terminal
        .then(|| state.terminal_pane((*prefill).clone(), on_command_done, lesson_user.clone()));
    let share_field = (*share_link).clone().map(|link| {
        html! {
            <input class="share-link" type="text" readonly=true aria-label="Share link" value={link} />
        }
    });
    let message = (!panes.files).then(|| {
        state.project.message.as_ref().map(|m| {
            html! {
                <p class={classes!("files-message", m.error.then_some("error"))} role="status"
                   aria-label="Files message">{ m.text.clone() }</p>
            }
        })
    });
    html! {
        <ContextProvider<ProjectHandle> context={state.project.clone()}>
        <ContextProvider<ReadOnly> context={ReadOnly(plan.readonly)}>
        <ContextProvider<super::workspace::Settings> context={**settings}>
        <div class={classes!("app", embed.then_some("embed"))} id="slipway-app" data-ready="true"
             data-theme={settings.theme.name()} {style}>
            <TopBar settings={settings.clone()} {embed} readonly={plan.readonly}
                    on_copy_share={state.copy_share(share_link.clone())} on_reset={state.reset()} />
            { link_prompt }
            { share_field }
            { message.flatten() }
            <main class="workspace">
                { left }
                <div class="work-column">
                    { upper }
                    { splitter }
                    { terminal }
                </div>
            </main>
        </div>
        </ContextProvider<super::workspace::Settings>>
        </ContextProvider<ReadOnly>>
        </ContextProvider<ProjectHandle>>
    }
}

/// Mount the app on `#app`, replacing the loading placeholder that `index.html` shows until the wasm runs.
pub fn start() {
    web::mark("slipway-wasm-start");
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a browser document");
    let root = document.get_element_by_id("app").expect("index.html has #app");
    // The saved workspace (IndexedDB answers asynchronously) and the tab's session with the companion, side by
    // side (neither needs the other), then the page.
    wasm_bindgen_futures::spawn_local(async move {
        let session = async {
            super::session::ensure_page_session().await;
            web::mark("slipway-session-ready");
        };
        let workspace = async {
            let indexed = super::store::load_workspace().await.ok().flatten();
            web::mark("slipway-workspace-read");
            indexed
        };
        let (indexed, ()) = futures_util::future::join(workspace, session).await;
        let local = web::local_get(SAVED_KEY);
        let from_local = local.is_some();
        let saved = super::workspace::newest_saved(indexed.clone(), local);
        // A copy the last page left in localStorage as it went (see `save_workspace`): into IndexedDB now, or
        // dropped if IndexedDB already holds one as new.
        if from_local {
            let moved = match (&saved, saved == indexed) {
                (Some(json), false) => super::store::save_workspace(json).await.is_ok(),
                _ => true,
            };
            if moved {
                web::local_remove(SAVED_KEY);
            }
        }
        STARTUP_WORKSPACE.with(|s| *s.borrow_mut() = saved);
        if web::location_pathname() == slipway::api::paths::TEACHER {
            return super::teacher::mount(root).await;
        }
        let class = class_to_sign_in().await;
        root.set_inner_html("");
        yew::Renderer::<Root>::with_root_and_props(root, RootProps { class }).render();
    });
}

/// The class to sign in to before the workspace opens: a class's server gives no session without a join code
/// (`/api/info` says it runs one), and a member's session it no longer knows is forgotten. `None` (the
/// workspace at once) outside a class and for a tab whose session the companion knows.
async fn class_to_sign_in() -> Option<slipway::api::ClassroomInfo> {
    use super::sign_in_state::needs_sign_in;
    let held = !super::session::page_session().is_empty();
    let member = super::session::member().is_some();
    if held && !member {
        return None;
    }
    let transport = super::session::page_transport();
    let companion = slipway::api::Companion::new(&transport, "");
    let class = companion.info().await.ok()?.classroom?;
    let known = held && companion.containers(false).await.is_ok();
    if !needs_sign_in(true, held, known) {
        return None;
    }
    super::session::forget_sign_in();
    Some(class)
}

#[derive(Properties, PartialEq)]
struct RootProps {
    /// The class whose sign-in comes before the workspace (`None`: the workspace opens at once).
    class: Option<slipway::api::ClassroomInfo>,
}

/// The sign-in form until a class member signs in, then the workspace.
#[function_component(Root)]
fn root(props: &RootProps) -> Html {
    let signed_in = use_state(|| props.class.is_none());
    if *signed_in {
        return html! { <App /> };
    }
    let on_signed_in = Callback::from(move |member: slipway::api::SignedIn| {
        super::session::keep_sign_in(&member);
        signed_in.set(true);
    });
    let class_name = props.class.as_ref().and_then(|c| c.name.clone());
    html! { <super::sign_in::SignIn {class_name} {on_signed_in} /> }
}
