//! The project archive's zip work in an `archive-worker` started for it (`ui::archive_worker`): unzipping a
//! dropped `.zip` and zipping the project for download. The zip code lives only in that module, loaded on first
//! use (and cached by the browser), which keeps it out of the page's first load. Tars stay here.

use std::cell::RefCell;

use js_sys::{ArrayBuffer, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

use super::layer_pool_state::{ArchiveJob, WorkerReport};
use super::layer_worker::{post_message, read_message};
use super::project::{Project, ProjectError};
use super::project_archive::{files_from_buffer, files_to_buffer, is_zip, unpack_tar, Unpacked};

/// The archive worker's loader, written by Trunk (`data-loader-shim`) next to `archive-worker.js` and its wasm.
const WORKER_URL: &str = "/archive-worker_loader.js";

/// The files of the dropped archive `name`: a zip is read in a worker, a tar or tar.gz here.
pub async fn unpack(name: &str, bytes: &[u8]) -> Result<Unpacked, ProjectError> {
    let refused = |reason: String| ProjectError::Archive {
        name: name.to_string(),
        reason,
    };
    if !is_zip(bytes) {
        return unpack_tar(name, bytes);
    }
    let job = ArchiveJob::Unzip {
        name: name.to_string(),
    };
    match run(&job, bytes).await.map_err(refused)? {
        (WorkerReport::Unzipped { folders, files }, Some(data)) => {
            let files = files_from_buffer(files, &data)
                .ok_or_else(|| refused("the worker's file sizes do not match its buffer".into()))?;
            Ok(Unpacked { files, folders })
        }
        (WorkerReport::Unreadable { reason }, _) => Err(refused(reason)),
        _ => Err(refused("the worker sent no files".into())),
    }
}

/// The project as a zip, made in a worker.
pub async fn zip(project: &Project) -> Result<Vec<u8>, String> {
    let (files, data) = files_to_buffer(project.files.iter().map(|(path, file)| (path.as_str(), file)));
    let folders = project.folders.iter().cloned().collect();
    match run(&ArchiveJob::Zip { folders, files }, &data).await? {
        (WorkerReport::Zipped, Some(zip)) => Ok(zip),
        (WorkerReport::Unreadable { reason }, _) => Err(format!("cannot zip the project: {reason}")),
        _ => Err("cannot zip the project: the worker sent no zip".into()),
    }
}

/// Starts a worker, posts `job` with `bytes` once it is ready, and returns its answer (the worker is ended).
async fn run(job: &ArchiveJob, bytes: &[u8]) -> Result<(WorkerReport, Option<Vec<u8>>), String> {
    let worker = Worker::new(WORKER_URL).map_err(|e| format!("could not start the archive worker: {e:?}"))?;
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.ok_or("no promise")?;
    let pending = RefCell::new(Some((job.clone(), Uint8Array::from(bytes).buffer())));
    let sender = worker.clone();
    let handler = Closure::<dyn Fn(JsValue)>::new(move |e: JsValue| {
        let Some(message) = e.dyn_ref::<MessageEvent>() else {
            // `error` events: the script or its wasm did not load, or the worker crashed.
            let detail = Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "it did not load".into());
            let _ = reject.call1(&JsValue::NULL, &format!("the archive worker failed: {detail}").into());
            return;
        };
        match read_message::<WorkerReport>(&message.data()) {
            Some((WorkerReport::Ready, _)) => {
                if let Some((job, buffer)) = pending.borrow_mut().take() {
                    // Transferred: the page's copy is gone after this.
                    post_message(&sender, &job, Some(&buffer));
                }
            }
            Some(_) => {
                let _ = resolve.call1(&JsValue::NULL, &message.data());
            }
            None => {}
        }
    });
    worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    worker.set_onerror(Some(handler.as_ref().unchecked_ref()));
    let answer = JsFuture::from(promise).await;
    worker.terminate();
    drop(handler);
    let data = answer.map_err(|e| e.as_string().unwrap_or_else(|| format!("{e:?}")))?;
    let (report, buffer) = read_message::<WorkerReport>(&data).ok_or("the archive worker sent no answer")?;
    let bytes = buffer.map(|b: ArrayBuffer| Uint8Array::new(&b).to_vec());
    Ok((report, bytes))
}
