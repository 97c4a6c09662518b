//! The layer worker: a second wasm module (`www/src/bin/layer_worker.rs`, built by Trunk as a Web Worker) that
//! gzips and hashes one layer's tar at a time for the page's pool (`ui::layer_pool`).
//!
//! Messages are two-element arrays: the JSON text of a [`WorkerJob`] (page → worker) or a [`WorkerReport`]
//! (worker → page), and the buffer that goes with it (a job's tar, a `done` report's gzip bytes), transferred
//! rather than copied.

use js_sys::{Array, ArrayBuffer, Uint8Array};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::layer_pool_state::{WorkerJob, WorkerReport};
use slipway::layer::{LayerInfo, TarCompressor};

/// Tar bytes copied into wasm memory at a time (and the progress step).
const PIECE: u32 = 4 << 20;

/// Starts listening for jobs and tells the page.
pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply = scope.clone();
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
        let (job, tar) = match read_message::<WorkerJob>(&e.data()) {
            Some((job, Some(tar))) => (job, tar),
            Some((job, None)) => {
                let message = "the job has no tar buffer".to_string();
                post_message(
                    &reply,
                    &WorkerReport::Error {
                        job: job.job,
                        message,
                    },
                    None,
                );
                return;
            }
            // Not a job of this page's pool: nobody waits for an answer.
            None => return,
        };
        let (report, gz) = match pack(&reply, job, &tar) {
            Ok((gz, info)) => (
                WorkerReport::Done {
                    job: job.job,
                    diff_id: info.diff_id.to_string(),
                    digest: info.digest.to_string(),
                    tar_size: info.tar_size,
                    size: info.size,
                },
                Some(gz.buffer()),
            ),
            Err(message) => (
                WorkerReport::Error {
                    job: job.job,
                    message,
                },
                None,
            ),
        };
        post_message(&reply, &report, gz.as_ref());
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    // The worker lives as long as the page wants it: its handler too.
    onmessage.forget();
    post_message(&scope, &WorkerReport::Ready, None);
}

/// Gzips and hashes the job's tar, posting progress; the gzip blob as a fresh buffer to transfer back.
fn pack(
    scope: &DedicatedWorkerGlobalScope,
    job: WorkerJob,
    tar: &ArrayBuffer,
) -> Result<(Uint8Array, LayerInfo), String> {
    let total = tar.byte_length();
    let mut compressor = TarCompressor::new(job.level);
    let mut piece = vec![0u8; PIECE.min(total) as usize];
    let mut offset = 0;
    while offset < total {
        let len = PIECE.min(total - offset);
        let view = Uint8Array::new_with_byte_offset_and_length(tar, offset, len);
        let piece = &mut piece[..len as usize];
        view.copy_to(piece);
        compressor.write(piece).map_err(|e| e.to_string())?;
        offset += len;
        let progress = WorkerReport::Progress {
            job: job.job,
            done: u64::from(offset),
        };
        post_message(scope, &progress, None);
    }
    let (gz, info) = compressor.finish().map_err(|e| e.to_string())?;
    Ok((Uint8Array::from(gz.as_slice()), info))
}

/// Anything messages can be posted to: the worker's scope, or a worker from the page.
pub(crate) trait PostMessage {
    fn post_with_transfer(&self, message: &JsValue, transfer: &JsValue) -> Result<(), JsValue>;
}

impl PostMessage for DedicatedWorkerGlobalScope {
    fn post_with_transfer(&self, message: &JsValue, transfer: &JsValue) -> Result<(), JsValue> {
        self.post_message_with_transfer(message, transfer)
    }
}

impl PostMessage for web_sys::Worker {
    fn post_with_transfer(&self, message: &JsValue, transfer: &JsValue) -> Result<(), JsValue> {
        self.post_message_with_transfer(message, transfer)
    }
}

/// Posts `body` as JSON text with `buffer` beside it, transferred (the sender's copy is gone after this).
pub(crate) fn post_message<T: Serialize>(to: &impl PostMessage, body: &T, buffer: Option<&ArrayBuffer>) {
    let Ok(text) = serde_json::to_string(body) else {
        return;
    };
    let message = Array::of1(&JsValue::from_str(&text));
    let transfer = Array::new();
    if let Some(buffer) = buffer {
        message.push(buffer);
        transfer.push(buffer);
    }
    let _ = to.post_with_transfer(&message, &transfer);
}

/// A message's body and the buffer beside it; None when it is not a message of this protocol.
pub(crate) fn read_message<T: DeserializeOwned>(data: &JsValue) -> Option<(T, Option<ArrayBuffer>)> {
    let parts: &Array = data.dyn_ref()?;
    let body = serde_json::from_str(&parts.get(0).as_string()?).ok()?;
    Some((body, parts.get(1).dyn_into().ok()))
}
