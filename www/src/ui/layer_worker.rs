//! The layer worker: a second wasm module (`www/src/bin/layer_worker.rs`, built by Trunk as a Web Worker) that
//! gzips and hashes one layer's tar at a time for the page's pool (`ui::layer_pool`).
//!
//! Messages: page → worker `{job, level, tar: ArrayBuffer}` (the buffer transferred, not copied); worker →
//! page `{type: "ready"}` once it listens, `{type: "progress", job, done}` every few MiB, then
//! `{type: "done", job, gz: ArrayBuffer, diffId, digest, tarSize, size}` or `{type: "error", job, message}`.

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use slipway::layer::{LayerInfo, TarCompressor};

/// Tar bytes copied into wasm memory at a time (and the progress step).
const PIECE: u32 = 4 << 20;

/// Starts listening for jobs and tells the page.
pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply = scope.clone();
    let onmessage = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
        let data = e.data();
        let job = field(&data, "job").as_f64().unwrap_or(0.0);
        let message = match pack(&reply, job, &data) {
            Ok((gz, info)) => {
                let msg = object(&[
                    ("type", "done".into()),
                    ("job", job.into()),
                    ("gz", gz.buffer().into()),
                    ("diffId", info.diff_id.to_string().into()),
                    ("digest", info.digest.to_string().into()),
                    ("tarSize", (info.tar_size as f64).into()),
                    ("size", (info.size as f64).into()),
                ]);
                let transfer = Array::of1(&gz.buffer());
                let _ = reply.post_message_with_transfer(&msg, &transfer);
                return;
            }
            Err(message) => object(&[
                ("type", "error".into()),
                ("job", job.into()),
                ("message", message.into()),
            ]),
        };
        let _ = reply.post_message(&message);
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    // The worker lives as long as the page wants it: its handler too.
    onmessage.forget();
    let _ = scope.post_message(&object(&[("type", "ready".into())]));
}

/// Gzips and hashes the job's tar, posting progress; the gzip blob as a fresh buffer to transfer back.
fn pack(
    scope: &DedicatedWorkerGlobalScope,
    job: f64,
    data: &JsValue,
) -> Result<(Uint8Array, LayerInfo), String> {
    let level = field(data, "level").as_f64().unwrap_or(6.0) as u32;
    let tar: ArrayBuffer = field(data, "tar")
        .dyn_into()
        .map_err(|_| "the job has no tar buffer".to_string())?;
    let total = tar.byte_length();
    let mut compressor = TarCompressor::new(level);
    let mut piece = vec![0u8; PIECE.min(total) as usize];
    let mut offset = 0;
    while offset < total {
        let len = PIECE.min(total - offset);
        let view = Uint8Array::new_with_byte_offset_and_length(&tar, offset, len);
        let piece = &mut piece[..len as usize];
        view.copy_to(piece);
        compressor.write(piece).map_err(|e| e.to_string())?;
        offset += len;
        let _ = scope.post_message(&object(&[
            ("type", "progress".into()),
            ("job", job.into()),
            ("done", f64::from(offset).into()),
        ]));
    }
    let (gz, info) = compressor.finish().map_err(|e| e.to_string())?;
    Ok((Uint8Array::from(gz.as_slice()), info))
}

fn field(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A plain object from key-value pairs.
pub(crate) fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}
