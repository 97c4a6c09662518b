//! The page's side of its engine (`ui::engine_api`): the `engine` module is loaded once, right after the prompt
//! mark ([`prefetch`]), on the page's main thread (it uses `fetch`, IndexedDB and WebSockets as the page does);
//! a command typed before it has arrived waits for it, as for a running command.

use std::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::engine_api::{export, RunRequest, RunResponse, ENGINE_GLOBAL, ENGINE_READY, ENGINE_SCRIPT, ENGINE_START};

thread_local! {
    /// engine.js's load (kept once it ran: its global `wasm_bindgen` cannot be declared twice), and
    /// engine-start.js's (added again after a failed start: the next command tries again).
    static SCRIPT: RefCell<Option<Promise>> = const { RefCell::new(None) };
    static START: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

/// The two scripts' loads, adding what is not on the page yet.
fn scripts() -> Option<(Promise, Promise)> {
    let added = |slot: &'static std::thread::LocalKey<RefCell<Option<Promise>>>, src: &str| {
        slot.with(|s| s.borrow_mut().get_or_insert_with(|| super::web::load_script(src)).clone())
    };
    Some((added(&SCRIPT, ENGINE_SCRIPT), added(&START, ENGINE_START)))
}

/// Start loading the engine now, without waiting for it (the page calls this once its prompt is up).
pub fn prefetch() {
    wasm_bindgen_futures::spawn_local(async {
        if let Ok(engine) = exports().await {
            forward_layer_progress(&engine);
        }
    });
}

/// The engine's exports, once it has loaded (loading it if nobody asked yet). A failed load is tried again by
/// the next caller.
async fn exports() -> Result<JsValue, String> {
    let (script, start) = scripts().ok_or("no document to load the engine into")?;
    let failed = |what: &str, reset_script: bool| {
        if reset_script {
            SCRIPT.with(|s| s.borrow_mut().take());
        }
        START.with(|s| s.borrow_mut().take());
        format!("the page's engine did not load ({what}): check the connection to Slipway and try again")
    };
    if JsFuture::from(script).await.is_err() {
        return Err(failed(ENGINE_SCRIPT, true));
    }
    if JsFuture::from(start).await.is_err() {
        return Err(failed(ENGINE_START, false));
    }
    let window = web_sys::window().ok_or("no window")?;
    let started = Reflect::get(&window, &ENGINE_GLOBAL.into())
        .ok()
        .and_then(|p| p.dyn_into::<Promise>().ok());
    let Some(started) = started else {
        return Err(failed(ENGINE_START, false));
    };
    JsFuture::from(started).await.map_err(|e| failed(&describe(&e), false))
}

/// Whether the engine is already there (its checks answer at once).
fn loaded_exports() -> Option<JsValue> {
    let window = web_sys::window()?;
    let engine = Reflect::get(&window, &ENGINE_READY.into()).ok()?;
    (!engine.is_undefined()).then_some(engine)
}

fn describe(error: &JsValue) -> String {
    error
        .as_string()
        .or_else(|| Reflect::get(error, &"message".into()).ok()?.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

fn function(engine: &JsValue, name: &str) -> Result<Function, String> {
    Reflect::get(engine, &name.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| format!("the engine has no {name}"))
}

/// Run a terminal command in the engine; `callbacks` are the page's (`engine_api::callback`).
pub async fn run(request: &RunRequest, callbacks: &JsValue) -> Result<RunResponse, String> {
    let engine = exports().await?;
    let json = serde_json::to_string(request).map_err(|e| e.to_string())?;
    let promise = function(&engine, export::RUN)?
        .call2(&JsValue::NULL, &json.into(), callbacks)
        .map_err(|e| describe(&e))?;
    let answer = JsFuture::from(Promise::from(promise)).await.map_err(|e| describe(&e))?;
    let answer = answer.as_string().ok_or("the engine answered nothing")?;
    serde_json::from_str(&answer).map_err(|e| e.to_string())
}

/// Ctrl-C of the command in flight: resolves once its foreground container is stopped. Nothing to do while the
/// engine has not loaded (no command of it runs).
pub async fn abort() {
    let Some(engine) = loaded_exports() else { return };
    if let Ok(promise) = function(&engine, export::ABORT).and_then(|f| f.call0(&JsValue::NULL).map_err(|e| describe(&e)))
    {
        let _ = JsFuture::from(Promise::from(promise)).await;
    }
}

/// `docker save` of `name` into a download named `file` (the Images panel's button).
pub async fn download_image(name: &str, file: &str) -> Result<(), String> {
    let engine = exports().await?;
    let promise = function(&engine, export::DOWNLOAD_IMAGE)?
        .call2(&JsValue::NULL, &name.into(), &file.into())
        .map_err(|e| describe(&e))?;
    JsFuture::from(Promise::from(promise))
        .await
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Call a synchronous check of the engine (`lint`, `compose_check`) when it has loaded: its JSON answer.
pub fn check(name: &str, args: &[&str]) -> Option<String> {
    let engine = loaded_exports()?;
    let args: js_sys::Array = args.iter().map(|a| JsValue::from_str(a)).collect();
    function(&engine, name).ok()?.apply(&JsValue::NULL, &args).ok()?.as_string()
}

/// Resolves once the engine has loaded (the editors check again then).
pub async fn ready() -> bool {
    exports().await.is_ok()
}

/// The layer pass runs in the engine's workers: its bar is the page's.
fn forward_layer_progress(engine: &JsValue) {
    let listener = wasm_bindgen::closure::Closure::<dyn Fn(f64, f64, bool)>::new(|done: f64, total: f64, active| {
        super::layer_pool::show_progress(done as u64, total as u64, active)
    });
    if let Ok(register) = function(engine, export::ON_LAYER_PROGRESS) {
        let _ = register.call1(&JsValue::NULL, listener.as_ref());
    }
    listener.forget();
}
