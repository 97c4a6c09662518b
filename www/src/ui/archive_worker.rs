//! The archive worker: a wasm module of its own (`www/src/bin/archive_worker.rs`, built by Trunk as a Web
//! Worker) that answers one [`ArchiveJob`] for `ui::archive_jobs` with a [`WorkerReport`], the buffer beside
//! each transferred (the messages of `ui::layer_worker`).

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::layer_pool_state::{ArchiveJob, WorkerReport};
use super::layer_worker::{post_message, read_message};

/// Starts listening for archive jobs and tells the page.
pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply = scope.clone();
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
        // Not a job of this protocol: nobody waits for an answer.
        let Some((job, buffer)) = read_message::<ArchiveJob>(&e.data()) else {
            return;
        };
        let bytes = buffer.map(|b| Uint8Array::new(&b).to_vec()).unwrap_or_default();
        let (report, answer) = job.run(&bytes);
        let answer = answer.map(|a| Uint8Array::from(a.as_slice()).buffer());
        post_message(&reply, &report, answer.as_ref());
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    // The worker lives as long as the page wants it: its handler too.
    onmessage.forget();
    post_message(&scope, &WorkerReport::Ready, None);
}
