//! The browser's [`Transport`]: `fetch`. Cross-origin registries must send CORS headers (the companion's does);
//! others are reached through the companion's proxy.

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use slipway::registry::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

/// `window.fetch`, with bodies as byte arrays.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fetch {
    /// Requests carry the terminal command's abort signal (see [`CommandAbort`]): Ctrl-C closes them.
    follows_command: bool,
}

impl Fetch {
    /// Requests of the page (panels, lessons): no command owns them.
    pub const PAGE: Fetch = Fetch {
        follows_command: false,
    };
    /// Requests of the terminal's command in flight: aborted with it.
    pub const COMMAND: Fetch = Fetch {
        follows_command: true,
    };
}

thread_local! {
    /// The abort controller of the terminal command in flight (the terminal runs one at a time).
    static COMMAND_ABORT: RefCell<Option<web_sys::AbortController>> = const { RefCell::new(None) };
}

/// The terminal command in flight, for its requests: dropping a Rust future does not stop a `fetch`, so
/// without this a Ctrl-C'd `docker logs -f` would keep its HTTP request (and the companion's follower) open
/// until the container exits. Made when the command starts; [`CommandAbort::abort`] (Ctrl-C) closes every
/// request [`Fetch::COMMAND`] made for it, and requests made after that (stopping the container) go out
/// as usual.
#[derive(Debug)]
pub struct CommandAbort {
    controller: Option<web_sys::AbortController>,
}

impl CommandAbort {
    pub fn begin() -> CommandAbort {
        let controller = web_sys::AbortController::new().ok();
        COMMAND_ABORT.with(|c| *c.borrow_mut() = controller.clone());
        CommandAbort { controller }
    }

    /// Close the command's requests now: their fetches and body reads fail with an `AbortError`.
    pub fn abort(self) {
        if let Some(controller) = &self.controller {
            controller.abort();
        }
    }
}

impl Drop for CommandAbort {
    fn drop(&mut self) {
        COMMAND_ABORT.with(|current| {
            let mut current = current.borrow_mut();
            let ours = match (current.as_ref(), self.controller.as_ref()) {
                (Some(current), Some(ours)) => current.signal() == ours.signal(),
                _ => false,
            };
            if ours {
                current.take();
            }
        });
    }
}

fn command_signal() -> Option<web_sys::AbortSignal> {
    COMMAND_ABORT.with(|c| c.borrow().as_ref().map(|c| c.signal()))
}

/// Whether `url` leaves the page's origin: an absolute URL on another origin, or a scheme-relative `//host`.
fn is_foreign(window: &web_sys::Window, url: &str) -> bool {
    match slipway::registry::transport::url_origin(url) {
        None => url.starts_with("//"),
        Some(origin) => window
            .location()
            .origin()
            .map_or(true, |own| !origin.eq_ignore_ascii_case(&own)),
    }
}

fn js_error(value: wasm_bindgen::JsValue) -> TransportError {
    let text = value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| format!("{value:?}"));
    TransportError(text)
}

impl Fetch {
    /// Sends the request; the answer's status and headers, and the `Response` whose body is still to be read.
    async fn start(
        &self,
        request: &HttpRequest,
    ) -> Result<(HttpResponse, web_sys::Response), TransportError> {
        let window = web_sys::window().ok_or_else(|| TransportError("no window".into()))?;
        let foreign = is_foreign(&window, &request.url);
        let headers = web_sys::Headers::new().map_err(js_error)?;
        for (name, value) in &request.headers {
            // The session belongs to the page's own origin (the companion); SessionTransport already keeps it
            // there, and this holds for any other path to a fetch too.
            if foreign && name.eq_ignore_ascii_case(slipway::api::SESSION_HEADER) {
                continue;
            }
            headers.append(name, value).map_err(js_error)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method(request.method.as_str());
        init.set_headers(&headers);
        // No cookies, HTTP authentication or client certificates for another origin (a lesson's host); the
        // page's own origin keeps the browser's default.
        init.set_credentials(if foreign {
            web_sys::RequestCredentials::Omit
        } else {
            web_sys::RequestCredentials::SameOrigin
        });
        if self.follows_command {
            if let Some(signal) = command_signal() {
                init.set_signal(Some(&signal));
            }
        }
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
        let head = HttpResponse {
            status: response.status(),
            headers: header_pairs,
            body: Vec::new(),
        };
        Ok((head, response))
    }
}

async fn whole_body(response: &web_sys::Response) -> Result<Vec<u8>, TransportError> {
    let buffer = response.array_buffer().map_err(js_error)?;
    let buffer = JsFuture::from(buffer).await.map_err(js_error)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

impl Transport for Fetch {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (mut head, response) = self.start(&request).await?;
        if request.method != Method::Head {
            head.body = whole_body(&response).await?;
        }
        Ok(head)
    }

    /// Reads the body through its `ReadableStream`, handing each chunk over as it arrives.
    async fn send_streaming(
        &self,
        request: HttpRequest,
        on_chunk: &mut dyn FnMut(&[u8]),
    ) -> Result<HttpResponse, TransportError> {
        let (mut head, response) = self.start(&request).await?;
        if !head.is_success() {
            head.body = whole_body(&response).await?;
            return Ok(head);
        }
        let Some(stream) = response.body() else {
            return Ok(head);
        };
        let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
        loop {
            let result = JsFuture::from(reader.read()).await.map_err(js_error)?;
            let done = js_sys::Reflect::get(&result, &"done".into()).map_err(js_error)?;
            if done.as_bool().unwrap_or(true) {
                break;
            }
            let value = js_sys::Reflect::get(&result, &"value".into()).map_err(js_error)?;
            on_chunk(&js_sys::Uint8Array::new(&value).to_vec());
        }
        Ok(head)
    }
}
