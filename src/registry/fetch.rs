//! The browser's [`Transport`]: `fetch`. Cross-origin registries must send CORS headers (the companion's does);
//! others are reached through the companion's proxy.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

/// `window.fetch`, with bodies as byte arrays.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fetch;

fn js_error(value: wasm_bindgen::JsValue) -> TransportError {
    let text = value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"));
    TransportError(text)
}

impl Transport for Fetch {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let window = web_sys::window().ok_or_else(|| TransportError("no window".into()))?;
        let headers = web_sys::Headers::new().map_err(js_error)?;
        for (name, value) in &request.headers {
            headers.append(name, value).map_err(js_error)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method(request.method.as_str());
        init.set_headers(&headers);
        if !matches!(request.method, Method::Get | Method::Head) {
            let body = js_sys::Uint8Array::from(request.body.as_slice());
            init.set_body(&body);
        }
        let js_request = web_sys::Request::new_with_str_and_init(&request.url, &init).map_err(js_error)?;
        let response = JsFuture::from(window.fetch_with_request(&js_request))
            .await
            .map_err(|e| {
                let why = js_error(e).0;
                TransportError(format!(
                    "{} {}: {why} (a registry without CORS headers needs the companion's proxy)",
                    request.method.as_str(),
                    request.url
                ))
            })?;
        let response: web_sys::Response = response
            .dyn_into()
            .map_err(|_| TransportError("fetch returned no Response".into()))?;
        let mut header_pairs = Vec::new();
        if let Ok(Some(entries)) = js_sys::try_iter(&response.headers()) {
            for entry in entries.flatten() {
                let pair: js_sys::Array = entry.unchecked_into();
                let name = pair.get(0).as_string().unwrap_or_default();
                let value = pair.get(1).as_string().unwrap_or_default();
                header_pairs.push((name, value));
            }
        }
        let body = if request.method == Method::Head {
            Vec::new()
        } else {
            let buffer = response.array_buffer().map_err(js_error)?;
            let buffer = JsFuture::from(buffer).await.map_err(js_error)?;
            js_sys::Uint8Array::new(&buffer).to_vec()
        };
        Ok(HttpResponse {
            status: response.status(),
            headers: header_pairs,
            body,
        })
    }
}
