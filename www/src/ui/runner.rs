//! The docs embeds' runner (`/embed/runner`, docs/embedding.md): a hidden frame on Slipway's origin that
//! `static/blocks.js` opens on a docs page's first Run. No Yew UI: it listens for the page's `postMessage`s
//! (JSON strings: `{"slipway":"run","id","kind","text","files"}`), runs each block through the shared
//! interpreter and the page's builder in this frame's session, and answers with `output` and `done` messages.
//! The session token stays in this frame (Slipway's origin); the docs page only ever sees the commands' output.
//! Messages are taken from the parent frame only, and answered to its origin only (the one the browser names in
//! `location.ancestorOrigins`, else the referrer's), itself allowed by the embed's `frame-ancestors`
//! (`slipway serve --embed-ancestor`).

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::runner_lines::{block_lines, failure_line};
use super::session::PageSession;
use slipway::cli::context::Stream;
use slipway::cli::interpret::{plan_line, run_command};
use slipway::cli::outcome::{Outcome, Step};
use slipway::layer::{FileTree, Meta};

/// What the docs page asks: run one block.
#[derive(Debug, Deserialize)]
struct RunRequest {
    slipway: String,
    id: String,
    kind: String,
    text: String,
    #[serde(default)]
    files: Vec<(String, String)>,
    /// The image a Dockerfile block builds (`docker build -t TAG .`).
    #[serde(default)]
    tag: Option<String>,
}

/// What the runner tells the page: `ready` once, then `output`s and one `done` per block run.
#[derive(Debug, Serialize)]
struct Answer<'a> {
    slipway: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit: Option<i32>,
    /// The 1-based line of the block the failure is about, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

thread_local! {
    /// The origin of the page that framed this runner: the only one heard and answered.
    static PARENT_ORIGIN: RefCell<String> = const { RefCell::new(String::new()) };
    /// The files every block has sent so far: the build context of `docker build .` lines.
    static CONTEXT: RefCell<FileTree> = RefCell::new(FileTree::new());
}

/// Names the frame's session as this page load's to the server, which counts its containers and build steps
/// against the page's budget (`slipway serve --embed-containers`, `--embed-build-minutes`) and refuses past it
/// with a message the block shows. Before each block: a session the server renewed is named again.
async fn hold_to_the_page_budget(session: &PageSession) {
    let _ = slipway::api::Companion::new(session.transport(), "")
        .embed_session()
        .await;
}

/// The runner's entry: listen to the parent page, tell it we are ready.
pub fn start() {
    let Some(window) = web_sys::window() else { return };
    // Chromium and WebKit name the framing page's origin (`location.ancestorOrigins`, not in web-sys).
    let origin = js_sys::Reflect::get(&window.location(), &"ancestorOrigins".into())
        .and_then(|list| js_sys::Reflect::get(&list, &0.into()))
        .ok()
        .and_then(|o| o.as_string())
        .or_else(|| referrer_origin(&window))
        .unwrap_or_default();
    if origin.is_empty() || origin == "null" {
        // Not framed by a page with an origin: nobody to answer.
        return;
    }
    PARENT_ORIGIN.with(|o| *o.borrow_mut() = origin);
    let listener = Closure::<dyn Fn(web_sys::MessageEvent)>::new(on_message);
    let _ = window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    listener.forget();
    wasm_bindgen_futures::spawn_local(async {
        hold_to_the_page_budget(&PageSession::for_command().await).await;
        post(&Answer::new("ready", ""));
    });
}

/// Firefox names no ancestor origins: the origin of the page that loaded this frame (its default referrer
/// policy sends at least the origin).
fn referrer_origin(window: &web_sys::Window) -> Option<String> {
    let referrer = window.document()?.referrer();
    let url = web_sys::Url::new(&referrer).ok()?;
    Some(url.origin()).filter(|o| o != "null")
}

/// A message from the parent page, and its origin, or nothing (anyone else).
fn on_message(event: web_sys::MessageEvent) {
    let Some(window) = web_sys::window() else { return };
    let from_parent = match (event.source(), window.parent().ok().flatten()) {
        (Some(source), Some(parent)) => js_sys::Object::is(&source, &parent),
        _ => false,
    };
    let origin = PARENT_ORIGIN.with(|o| o.borrow().clone());
    if !from_parent || event.origin() != origin {
        return;
    }
    let Some(text) = event.data().as_string() else { return };
    let Ok(request) = serde_json::from_str::<RunRequest>(&text) else { return };
    if request.slipway != "run" {
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        let (exit, line) = run_block(&request).await;
        post(&Answer {
            exit: Some(exit),
            line,
            ..Answer::new("done", &request.id)
        });
    });
}

impl<'a> Answer<'a> {
    fn new(kind: &'a str, id: &'a str) -> Self {
        Answer {
            slipway: kind,
            id,
            stream: None,
            text: None,
            exit: None,
            line: None,
        }
    }
}

/// Send `answer` to the parent page, at its origin only.
fn post(answer: &Answer) {
    let origin = PARENT_ORIGIN.with(|o| o.borrow().clone());
    let (Some(window), Ok(json)) = (web_sys::window(), serde_json::to_string(answer)) else {
        return;
    };
    if let Ok(Some(parent)) = window.parent() {
        let _ = parent.post_message(&json.into(), &origin);
    }
}

fn say(id: &str, stream: Stream, text: &str) {
    if text.is_empty() {
        return;
    }
    let stream = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    post(&Answer {
        stream: Some(stream),
        text: Some(text),
        ..Answer::new("output", id)
    });
}

/// Add the block's files (and, for a Dockerfile block, the Dockerfile; for a compose block, `compose.yaml`) to
/// the shared build context.
fn add_files(request: &RunRequest) -> Result<(), String> {
    let mut files = request.files.clone();
    match request.kind.as_str() {
        "dockerfile" => files.push(("Dockerfile".into(), request.text.clone())),
        "compose" => files.push(("compose.yaml".into(), request.text.clone())),
        _ => {}
    }
    CONTEXT.with(|tree| {
        let mut tree = tree.borrow_mut();
        for (name, data) in files {
            let name = name.trim_start_matches("./").to_string();
            tree.insert_file(&name, data.into_bytes(), Meta::file())
                .map_err(|e| format!("the file {name} cannot be added: {e}"))?;
        }
        Ok(())
    })
}

/// Run a block's lines in order, stopping at the first failure: its exit code and line.
async fn run_block(request: &RunRequest) -> (i32, Option<usize>) {
    if let Err(why) = add_files(request) {
        say(&request.id, Stream::Stderr, &why);
        return (1, None);
    }
    hold_to_the_page_budget(&PageSession::for_command().await).await;
    for (number, line) in block_lines(&request.kind, &request.id, request.tag.as_deref(), &request.text) {
        let outcome = run_line(&request.id, &line).await;
        say(&request.id, Stream::Stdout, &outcome.stdout);
        say(&request.id, Stream::Stderr, &outcome.stderr);
        if outcome.exit_code != 0 {
            let line = (number > 0)
                .then_some(number)
                .or_else(|| failure_line(&outcome.stderr));
            return (outcome.exit_code, line);
        }
    }
    (0, None)
}

async fn run_line(id: &str, line: &str) -> Outcome {
    match plan_line(line) {
        Step::Done(outcome) => outcome,
        Step::Attach(_) => Outcome::failure(
            "slipway: interactive commands (-it, exec) need a terminal: open this block in the full playground\n"
                .into(),
            1,
        ),
        Step::Companion(inv) => {
            let session = PageSession::for_command().await;
            let progress = |stream: Stream, text: &str| say(id, stream, &format!("{text}\n"));
            let ctx = session.context(Some(&progress));
            run_command(&ctx, &inv).await
        }
        Step::Compose(inv) => {
            let tree = CONTEXT.with(|t| t.borrow().clone());
            let session = PageSession::for_command().await;
            let progress = |stream: Stream, text: &str| say(id, stream, &format!("{text}\n"));
            let ctx = session.context(Some(&progress));
            super::compose_model::run_on_tree(&ctx, &inv, &tree).await
        }
        Step::Build(inv) => build(id, &inv).await,
    }
}

/// `docker build` on the shared context, its progress streamed to the block as it comes.
async fn build(id: &str, inv: &slipway::cli::parse::Invocation) -> Outcome {
    let tree = CONTEXT.with(|t| t.borrow().clone());
    let stream = |chunk: &str| {
        post(&Answer {
            stream: Some("progress"),
            text: Some(chunk),
            ..Answer::new("output", id)
        });
    };
    super::page_build::build(inv, &tree, &stream, &|_| {})
        .await
        .unstreamed()
}
