//! The page's own IndexedDB database `slipway` (wasm only): object stores `workspace` (the saved workspace:
//! files, terminal history), `cache` (the build cache: step keys → results, layer blobs) and `images` (the local
//! image store: manifests, configs and layer blobs by digest, and the tags). Errors carry the browser's words
//! (private mode, quota exceeded); callers keep the project text in localStorage when the database fails.

use std::cell::RefCell;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode};

use slipway::builder::{CacheStore, KeyValueStore, StoreError};

const DB_NAME: &str = "slipway";
/// Bumped when object stores are added (the upgrade creates the missing ones).
const DB_VERSION: u32 = 1;
pub const WORKSPACE: &str = "workspace";
pub const CACHE: &str = "cache";
pub const IMAGES: &str = "images";
const STORES: [&str; 3] = [WORKSPACE, CACHE, IMAGES];
/// The one record of the `workspace` object store.
const WORKSPACE_KEY: &str = "current";

thread_local! {
    /// The open database, once opened (a failure is retried on the next use: a quota may have been freed).
    static DB: RefCell<Option<IdbDatabase>> = const { RefCell::new(None) };
}

/// The text of a DOMException or JS error: `QuotaExceededError: ...`.
fn error_text(value: &JsValue) -> String {
    if let Some(e) = value.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", e.name(), e.message());
    }
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

fn refused(why: impl Into<String>) -> StoreError {
    StoreError::Refused(why.into())
}

/// Settles when `request` succeeds (its result) or fails (its error).
async fn finished(request: &IdbRequest) -> Result<JsValue, StoreError> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let done = request.clone();
        let on_success = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &done.result().unwrap_or(JsValue::UNDEFINED));
        });
        let failed = request.clone();
        let on_error = Closure::once_into_js(move |_: web_sys::Event| {
            let error = failed
                .error()
                .ok()
                .flatten()
                .map(JsValue::from)
                .unwrap_or(JsValue::NULL);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        request.set_onsuccess(Some(on_success.unchecked_ref()));
        request.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(|e| refused(error_text(&e)))
}

/// Settles when a write transaction commits, or says why it aborted (quota exceeded comes here).
async fn committed(tx: &IdbTransaction) -> Result<(), StoreError> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let on_complete = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let failed = tx.clone();
        let on_abort = Closure::once_into_js(move |_: web_sys::Event| {
            let error = failed.error().map(JsValue::from).unwrap_or(JsValue::NULL);
            let _ = reject.call1(&JsValue::NULL, &error);
        });
        tx.set_oncomplete(Some(on_complete.unchecked_ref()));
        // An error aborts the transaction unless handled: `abort` always fires, with the cause in `tx.error`.
        tx.set_onabort(Some(on_abort.unchecked_ref()));
    });
    JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|e| refused(error_text(&e)))
}

/// The database, opened (and its object stores created) on first use.
async fn database() -> Result<IdbDatabase, StoreError> {
    if let Some(db) = DB.with(|d| d.borrow().clone()) {
        return Ok(db);
    }
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or_else(|| refused("this browser gives the page no IndexedDB (private mode?)"))?;
    let open = factory
        .open_with_u32(DB_NAME, DB_VERSION)
        .map_err(|e| refused(error_text(&e)))?;
    let upgrading = open.clone();
    let on_upgrade = Closure::once_into_js(move |_: web_sys::Event| {
        let Ok(result) = upgrading.result() else { return };
        let db: IdbDatabase = result.unchecked_into();
        let names = db.object_store_names();
        for name in STORES {
            if !names.contains(name) {
                let _ = db.create_object_store(name);
            }
        }
    });
    open.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let db: IdbDatabase = finished(&open).await?.unchecked_into();
    DB.with(|d| *d.borrow_mut() = Some(db.clone()));
    Ok(db)
}

/// One object store of the page's database, as a key-value store.
#[derive(Debug, Clone, Copy)]
pub struct IdbStore {
    name: &'static str,
}

impl IdbStore {
    pub const fn new(name: &'static str) -> Self {
        IdbStore { name }
    }

    async fn transaction(
        &self,
        mode: IdbTransactionMode,
    ) -> Result<(IdbTransaction, web_sys::IdbObjectStore), StoreError> {
        let db = database().await?;
        let tx = db
            .transaction_with_str_and_mode(self.name, mode)
            .map_err(|e| refused(error_text(&e)))?;
        let store = tx.object_store(self.name).map_err(|e| refused(error_text(&e)))?;
        Ok((tx, store))
    }
}

impl KeyValueStore for IdbStore {
    async fn load(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (_tx, store) = self.transaction(IdbTransactionMode::Readonly).await?;
        let request = store
            .get(&JsValue::from_str(key))
            .map_err(|e| refused(error_text(&e)))?;
        let value = finished(&request).await?;
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        match value.dyn_into::<js_sys::Uint8Array>() {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(other) => Ok(other.as_string().map(String::into_bytes)),
        }
    }

    async fn save(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let (tx, store) = self.transaction(IdbTransactionMode::Readwrite).await?;
        let bytes = js_sys::Uint8Array::from(value);
        store
            .put_with_key(&bytes, &JsValue::from_str(key))
            .map_err(|e| refused(error_text(&e)))?;
        committed(&tx).await
    }

    async fn contains(&self, key: &str) -> Result<bool, StoreError> {
        let (_tx, store) = self.transaction(IdbTransactionMode::Readonly).await?;
        let request = store
            .count_with_key(&JsValue::from_str(key))
            .map_err(|e| refused(error_text(&e)))?;
        Ok(finished(&request).await?.as_f64().unwrap_or(0.0) > 0.0)
    }
}

/// The build cache in IndexedDB: a cache that cannot be read or written only makes a build slower.
impl CacheStore for IdbStore {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.load(key).await.ok().flatten()
    }

    async fn put(&self, key: &str, value: &[u8]) {
        let _ = self.save(key, value).await;
    }
}

/// The saved workspace's JSON from IndexedDB, or why it could not be read.
pub async fn load_workspace() -> Result<Option<String>, StoreError> {
    let bytes = IdbStore::new(WORKSPACE).load(WORKSPACE_KEY).await?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

pub async fn save_workspace(json: &str) -> Result<(), StoreError> {
    IdbStore::new(WORKSPACE)
        .save(WORKSPACE_KEY, json.as_bytes())
        .await
}

/// The page's image store.
pub const IMAGE_STORE: IdbStore = IdbStore::new(IMAGES);
/// The page's build cache.
pub const BUILD_CACHE: IdbStore = IdbStore::new(CACHE);
