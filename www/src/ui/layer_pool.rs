//! The page's layer pass: a pool of `layer-worker` Web Workers (started on the first layer a build makes, at
//! most `navigator.hardwareConcurrency`) behind [`WorkerPacker`], the builder's [`LayerPacker`] in the page,
//! and [`LayerProgress`], the bar of tar bytes gzipped and hashed.
//!
//! The page writes the tar (cheap: a copy of the files' bytes), copies it once out of wasm memory and
//! transfers that buffer to a worker; the gzip blob comes back the same way. Bookkeeping is
//! [`PoolBook`](super::layer_pool_state::PoolBook), tested natively.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use js_sys::{ArrayBuffer, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};
use yew::prelude::*;

use super::layer_pool_state::{PoolBook, PoolCommand, WorkerJob, WorkerReport};
use super::layer_worker::{post_message, read_message};
use slipway::builder::{LayerPacker, PackFuture, Packed};
use slipway::image::Digest;
use slipway::layer::{FileTree, LayerError, LayerInfo, LayerOptions};

/// The worker's loader, written by Trunk (`data-loader-shim`) next to `layer-worker.js` and its wasm.
const WORKER_URL: &str = "/layer-worker_loader.js";

/// Bytes done, bytes total, and whether jobs are in flight.
type ProgressListener = Rc<dyn Fn(u64, u64, bool)>;

/// A worker's `message` and `error` handler.
type WorkerHandler = Closure<dyn Fn(JsValue)>;

#[derive(Default)]
struct Pool {
    book: RefCell<Option<PoolBook>>,
    workers: RefCell<Vec<Worker>>,
    /// The workers' event handlers, alive as long as the workers.
    handlers: RefCell<Vec<WorkerHandler>>,
    /// Tar buffers and gzip levels of jobs not yet sent.
    payloads: RefCell<BTreeMap<u64, (ArrayBuffer, u32)>>,
    /// resolve and reject of each job's promise.
    waiters: RefCell<BTreeMap<u64, (Function, Function)>>,
    listener: RefCell<Option<ProgressListener>>,
}

thread_local! {
    static POOL: Rc<Pool> = Rc::new(Pool::default());
}

impl Pool {
    fn with_book<T>(&self, f: impl FnOnce(&mut PoolBook) -> T) -> T {
        let mut book = self.book.borrow_mut();
        let book = book.get_or_insert_with(|| {
            let cores = web_sys::window()
                .map(|w| w.navigator().hardware_concurrency() as usize)
                .unwrap_or(1);
            PoolBook::new(cores)
        });
        f(book)
    }

    fn submit(self: &Rc<Self>, tar: ArrayBuffer, level: u32) -> Promise {
        let (job, commands) = self.with_book(|b| b.submit(u64::from(tar.byte_length())));
        let mut settle = None;
        let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        if let Some(settle) = settle {
            self.waiters.borrow_mut().insert(job, settle);
        }
        self.payloads.borrow_mut().insert(job, (tar, level));
        self.run(commands);
        self.notify();
        promise
    }

    fn run(self: &Rc<Self>, commands: Vec<PoolCommand>) {
        for command in commands {
            match command {
                PoolCommand::Spawn => self.spawn(),
                PoolCommand::Send { worker, job } => self.send(worker, job),
            }
        }
    }

    fn spawn(self: &Rc<Self>) {
        let index = self.workers.borrow().len();
        let worker = match Worker::new(WORKER_URL) {
            Ok(worker) => worker,
            Err(e) => {
                // Keep the numbering: a placeholder slot the book already counts as dead.
                self.lose(index, &format!("could not start the layer worker: {e:?}"));
                return;
            }
        };
        let pool = Rc::clone(self);
        let handler = WorkerHandler::new(move |e: JsValue| match e.dyn_ref::<MessageEvent>() {
            Some(message) => pool.on_message(index, &message.data()),
            // `error` events: the script or its wasm did not load, or the worker crashed.
            None => {
                let detail = Reflect::get(&e, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_else(|| "it did not load".into());
                pool.lose(index, &format!("the layer worker failed: {detail}"));
            }
        });
        worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        worker.set_onerror(Some(handler.as_ref().unchecked_ref()));
        self.workers.borrow_mut().push(worker);
        self.handlers.borrow_mut().push(handler);
    }

    fn send(&self, worker: usize, job: u64) {
        let Some((tar, level)) = self.payloads.borrow_mut().remove(&job) else {
            return;
        };
        if let Some(w) = self.workers.borrow().get(worker) {
            // Transferred: the page's copy of the tar is gone after this, none is cloned.
            post_message(w, &WorkerJob { job, level }, Some(&tar));
        }
    }

    fn on_message(self: &Rc<Self>, worker: usize, data: &JsValue) {
        let Some((report, _)) = read_message::<WorkerReport>(data) else {
            return;
        };
        match &report {
            WorkerReport::Ready => {
                let commands = self.with_book(|b| b.ready(worker));
                self.run(commands);
            }
            WorkerReport::Progress { job, done } => self.with_book(|b| b.progress(*job, *done)),
            // Archive answers come from the archive worker (`ui::archive_jobs`), never from the pool's.
            WorkerReport::Zipped | WorkerReport::Unzipped { .. } | WorkerReport::Unreadable { .. } => {}
            WorkerReport::Done { job, .. } | WorkerReport::Error { job, .. } => {
                let commands = self.with_book(|b| b.finished(worker));
                if let Some((resolve, reject)) = self.waiters.borrow_mut().remove(job) {
                    // `done` resolves with the whole message: [`packed`] reads the layer and its buffer from it.
                    let _ = match &report {
                        WorkerReport::Error { message, .. } => reject.call1(&JsValue::NULL, &message.into()),
                        _ => resolve.call1(&JsValue::NULL, data),
                    };
                }
                self.run(commands);
            }
        }
        self.notify();
    }

    /// A worker is gone: its job and any job nobody can take any more fail with `why`.
    fn lose(self: &Rc<Self>, worker: usize, why: &str) {
        let (job, commands) = self.with_book(|b| b.lost(worker));
        let stranded = self.with_book(|b| b.stranded());
        for job in job.into_iter().chain(stranded) {
            self.payloads.borrow_mut().remove(&job);
            if let Some((_, reject)) = self.waiters.borrow_mut().remove(&job) {
                let _ = reject.call1(&JsValue::NULL, &why.into());
            }
        }
        self.run(commands);
        self.notify();
    }

    fn notify(&self) {
        let (done, total, active) = self.with_book(|b| {
            let (done, total) = b.bytes();
            (done, total, b.active())
        });
        let listener = self.listener.borrow().clone();
        if let Some(listener) = listener {
            listener(done, total, active);
        }
    }
}

/// The builder's layer pass in the page: tar here, gzip and sha256 in the worker pool.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkerPacker;

impl LayerPacker for WorkerPacker {
    fn pack(&self, tree: Arc<FileTree>, options: LayerOptions) -> PackFuture {
        let tar = match tree.to_tar(options.mtime) {
            Ok(tar) => tar,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let buffer = Uint8Array::new_with_length(tar.len() as u32);
        buffer.copy_from(&tar);
        drop(tar);
        let promise = POOL.with(|pool| pool.submit(buffer.buffer(), options.level));
        Box::pin(async move {
            let data = JsFuture::from(promise).await.map_err(|e| {
                let why = e.as_string().unwrap_or_else(|| format!("{e:?}"));
                LayerError::Io(std::io::Error::other(why))
            })?;
            packed(&data)
        })
    }
}

/// The worker's `done` message as the gzip bytes and the layer's digests and sizes.
fn packed(data: &JsValue) -> Result<Packed, LayerError> {
    let bad = |what: &str| LayerError::Io(std::io::Error::other(format!("the layer worker sent no {what}")));
    let Some((
        WorkerReport::Done {
            diff_id,
            digest,
            tar_size,
            size,
            ..
        },
        gz,
    )) = read_message::<WorkerReport>(data)
    else {
        return Err(bad("layer"));
    };
    let digest_of = |text: String, what: &str| Digest::try_from(text).map_err(|_| bad(what));
    let info = LayerInfo {
        diff_id: digest_of(diff_id, "diff id")?,
        digest: digest_of(digest, "digest")?,
        tar_size,
        size,
    };
    let gz = gz.ok_or_else(|| bad("gzip bytes"))?;
    Ok((Uint8Array::new(&gz).to_vec(), info))
}

/// The engine's pool reports here (`ui::engine`): the bar below shows it.
pub fn show_progress(done: u64, total: u64, active: bool) {
    let listener = POOL.with(|pool| pool.listener.borrow().clone());
    if let Some(listener) = listener {
        listener(done, total, active);
    }
}

/// In the engine: tell `listener` how the layer pass goes (the page's bar, through `engine_api::export::ON_LAYER_PROGRESS`).
pub fn set_listener(listener: Rc<dyn Fn(u64, u64, bool)>) {
    POOL.with(|pool| *pool.listener.borrow_mut() = Some(listener));
}

/// The bar of the layer pass: tar bytes gzipped and hashed over the layers of the current build.
#[function_component(LayerProgress)]
pub fn layer_progress() -> Html {
    let bytes = use_state(|| (0u64, 0u64, false));
    {
        let bytes = bytes.clone();
        use_effect_with((), move |_| {
            let listener: ProgressListener =
                Rc::new(move |done, total, active| bytes.set((done, total, active)));
            POOL.with(|pool| *pool.listener.borrow_mut() = Some(listener));
            || POOL.with(|pool| *pool.listener.borrow_mut() = None)
        });
    }
    let (done, total, active) = *bytes;
    if total == 0 {
        return html! {};
    }
    let mb = |b: u64| format!("{:.1}", b as f64 / 1e6);
    html! {
        <div class="layer-progress" data-active={active.to_string()}>
            <progress aria-label="Hashing and compressing layers" max={total.to_string()} value={done.to_string()}
                      aria-valuemin="0" aria-valuemax={total.to_string()} aria-valuenow={done.to_string()}>
            </progress>
            <span class="layer-progress-text">{ format!("layers {} / {} MB", mb(done), mb(total)) }</span>
        </div>
    }
}
