//! The browser transport to the companion: `fetch` from the page's own origin.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

/// GET `path` on the page's origin and return the body of a 2xx answer, or why there was none.
pub async fn get_text(path: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str(path))
        .await
        .map_err(|e| format!("request to {path} failed: {}", js_error_text(&e)))?;
    let response: Response = response
        .dyn_into()
        .map_err(|_| "fetch returned no Response".to_string())?;
    if !response.ok() {
        return Err(format!("{path} answered HTTP {}", response.status()));
    }
    let text = response.text().map_err(|e| js_error_text(&e))?;
    let text = JsFuture::from(text).await.map_err(|e| js_error_text(&e))?;
    text.as_string()
        .ok_or_else(|| format!("{path} sent a body that is not text"))
}

fn js_error_text(value: &wasm_bindgen::JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}
