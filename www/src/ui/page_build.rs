//! `docker build` in the page (wasm only), for the terminal and the docs' runner alike: through the companion
//! when it answers, else COPY-only into the page's own store; the layers packed by the page's Web Workers.

use std::cell::RefCell;

use super::offline::companion_online;
use super::session::PageSession;
use super::store::{BUILD_CACHE, IMAGE_STORE};
use slipway::builder::Event;
use slipway::cli::build::BuildEnv;
use slipway::cli::outcome::Outcome;
use slipway::cli::parse::Invocation;
use slipway::layer::FileTree;

/// A page build's outcome, whole, and the progress text that was streamed while it ran.
pub struct PageBuild {
    pub outcome: Outcome,
    streamed: String,
}

impl PageBuild {
    /// The outcome without what was already streamed: only its ending (the error, or `-q`'s image ID).
    pub fn unstreamed(self) -> Outcome {
        let mut outcome = self.outcome;
        if let Some(ending) = outcome.stderr.strip_prefix(self.streamed.as_str()) {
            outcome.stderr = ending.to_string();
        }
        outcome
    }
}

/// Build `inv` on `tree` with this page's session: `stream` receives each piece of progress text as it comes,
/// `events` every progress event. The image goes to the page's own store too (and only there while the companion
/// is unreachable).
pub async fn build(inv: &Invocation, tree: &FileTree, stream: &dyn Fn(&str), events: &dyn Fn(&Event)) -> PageBuild {
    let session = PageSession::for_command().await;
    let online = companion_online().await;
    let clock = || js_sys::Date::now() as u64;
    let streamed = RefCell::new(String::new());
    let recorded = |chunk: &str| {
        streamed.borrow_mut().push_str(chunk);
        stream(chunk);
    };
    let token = session.token();
    let env = BuildEnv {
        transport: session.transport(),
        base: "",
        session: Some(&token),
        cache: &BUILD_CACHE,
        packer: &super::layer_pool::WorkerPacker,
        clock: &clock,
        stream: &recorded,
        now: (js_sys::Date::now() / 1000.0) as u64,
        // A page has no environment: `--build-arg SOURCE_DATE_EPOCH=N` pins the time, as with BuildKit.
        source_date_epoch: None,
        events,
        platform: session.platform(),
    };
    let outcome = slipway::cli::build::build_keeping(&env, inv, tree, &IMAGE_STORE, online).await;
    PageBuild {
        outcome,
        streamed: streamed.into_inner(),
    }
}
