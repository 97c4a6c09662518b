//! Thin wrappers over the browser APIs the workspace needs (wasm only): localStorage, the location, the
//! clipboard, file downloads and reading dropped or chosen files. Errors come back as text for the page.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use slipway::registry::transport::{HttpRequest, Method, Transport};

fn js_text(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// A `performance.mark` the page-load benchmark reads (`server/benches/page_load.rs`): where the start's time goes.
pub fn mark(name: &str) {
    if let Some(performance) = window().performance() {
        let _ = performance.mark(name);
    }
}

pub fn local_get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

/// Saves `value`; the error says why (private mode, quota).
pub fn local_set(key: &str, value: &str) -> Result<(), String> {
    let storage = storage().ok_or("this browser gives the page no localStorage")?;
    storage
        .set_item(key, value)
        .map_err(|e| format!("the browser refused to save the workspace: {}", js_text(&e)))
}

/// Forgets `key` (the workspace once IndexedDB holds it).
pub fn local_remove(key: &str) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(key);
    }
}

pub fn location_hash() -> String {
    window().location().hash().unwrap_or_default()
}

pub fn location_href() -> String {
    window().location().href().unwrap_or_default()
}

pub fn location_pathname() -> String {
    window().location().pathname().unwrap_or_default()
}

/// A query parameter of the page's URL.
pub fn query_param(name: &str) -> Option<String> {
    let search = window().location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

/// Drops the fragment from the address bar without reloading (a loaded share link should not reload again).
pub fn clear_hash() {
    let loc = window().location();
    let url = format!(
        "{}{}",
        loc.pathname().unwrap_or_default(),
        loc.search().unwrap_or_default()
    );
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Drops a link the learner declined from the address bar (`#share=` and `?lesson=`), so a reload shows their
/// saved project without asking again.
pub fn forget_link() {
    let loc = window().location();
    let query = loc.search().unwrap_or_default();
    let params = web_sys::UrlSearchParams::new_with_str(&query).ok();
    let rest = params
        .map(|p| {
            p.delete("lesson");
            String::from(p.to_string())
        })
        .unwrap_or_default();
    let url = format!(
        "{}{}{rest}",
        loc.pathname().unwrap_or_default(),
        if rest.is_empty() { "" } else { "?" }
    );
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// A `<script src>` added to the page, run in order with the others the page adds (`async = false`): resolves
/// once it ran, rejects when it did not load (the engine's scripts, the editor's bundle).
pub fn load_script(src: &str) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, reject| {
        let added = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| Some((d.create_element("script").ok()?, d.head()?)))
            .and_then(|(script, head)| {
                script.set_attribute("src", src).ok()?;
                js_sys::Reflect::set(&script, &"async".into(), &false.into()).ok()?;
                script.add_event_listener_with_callback("load", &resolve).ok()?;
                script.add_event_listener_with_callback("error", &reject).ok()?;
                head.append_child(&script).ok()
            });
        if added.is_none() {
            let _ = reject.call1(&JsValue::NULL, &"no document to add a script to".into());
        }
    })
}

/// Puts `text` on the clipboard when the browser allows it (it needs a secure context or localhost).
pub fn copy_to_clipboard(text: &str) {
    let clipboard = window().navigator().clipboard();
    let _ = clipboard.write_text(text);
}

/// Offers `bytes` as a download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| js_text(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_text(&e))?;
    let document = window().document().ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|e| js_text(&e))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// The bytes of a chosen or dropped file.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("cannot read {}: {}", file.name(), js_text(&e)))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The path a file had below the folder the learner picked (`webkitRelativePath`), else its name.
pub fn relative_path(file: &web_sys::File) -> String {
    let relative = js_sys::Reflect::get(file, &JsValue::from_str("webkitRelativePath"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    if relative.is_empty() {
        file.name()
    } else {
        relative
    }
}

/// GET `url`: the status and body, or why there was no answer. On the companion (the page's origin) the request
/// speaks for this page's session; a lesson on another origin gets no session and no credentials.
pub async fn get(url: &str) -> Result<(u16, String), String> {
    let response = super::session::page_transport()
        .send(HttpRequest::new(Method::Get, url))
        .await
        .map_err(|e| format!("request to {url} failed: {e}"))?;
    Ok((
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    ))
}

/// GET `url` and return the body of a 2xx answer, or why there was none.
pub async fn get_ok(url: &str) -> Result<String, String> {
    match get(url).await? {
        (status, body) if (200..300).contains(&status) => Ok(body),
        (status, _) => Err(format!("{url} answered HTTP {status}")),
    }
}

/// GET `url` as bytes from a 2xx answer (lesson files may be binary).
pub async fn get_bytes(url: &str) -> Result<Vec<u8>, String> {
    let response = crate::fetch::Fetch::PAGE
        .send(HttpRequest::new(Method::Get, url))
        .await
        .map_err(|e| format!("request to {url} failed: {e}"))?;
    if !response.is_success() {
        return Err(format!("{url} answered HTTP {}", response.status));
    }
    Ok(response.body)
}
