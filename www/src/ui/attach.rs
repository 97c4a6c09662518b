//! `docker run -it` in the page: the terminal's WebSocket to a container's attach endpoint (wasm only).

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

use super::engine_api::AttachTo;
use slipway::cli::attach::{resize_control, target_outcome};
use slipway::cli::outcome::Outcome;

/// What the attached session tells the terminal.
pub enum AttachEvent {
    /// Output of the container's TTY.
    Output(Vec<u8>),
    /// The container exited (its exit frame) or the connection ended; said once.
    Ended(Outcome),
}

/// An open attach WebSocket and the handlers it calls: they live exactly as long as it. Drop it outside its
/// own handlers (a handler cannot free itself while it runs).
pub struct AttachSocket {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl AttachSocket {
    /// Open `path` (`cli::attach::AttachTarget::path`, with its one-time ticket: no session token in the URL)
    /// on the page's own origin at once, size the TTY to `cols`×`rows` once connected, and tell `on_event` what
    /// happens.
    pub fn open(target: &AttachTo, cols: u16, rows: u16, on_event: Rc<dyn Fn(AttachEvent)>) -> Result<Self, String> {
        let (path, quiet_detach) = (&target.path, target.quiet_detach);
        let location = web_sys::window().ok_or("no window")?.location();
        let scheme = match location.protocol().unwrap_or_default().as_str() {
            "https:" => "wss:",
            _ => "ws:",
        };
        let url = format!("{scheme}//{}{path}", location.host().unwrap_or_default());
        let socket = WebSocket::new(&url).map_err(|e| format!("cannot connect to {url}: {e:?}"))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let ended = Rc::new(Cell::new(false));
        let on_open = {
            let socket = socket.clone();
            Closure::<dyn FnMut(Event)>::new(move |_| {
                let _ = socket.send_with_str(&resize_control(cols, rows));
            })
        };
        let on_message = {
            let (ended, on_event) = (ended.clone(), on_event.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let data = e.data();
                if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                    on_event(AttachEvent::Output(js_sys::Uint8Array::new(buffer).to_vec()));
                } else if let Some(outcome) = data.as_string().and_then(|f| target_outcome(&f, quiet_detach)) {
                    if !ended.replace(true) {
                        on_event(AttachEvent::Ended(outcome));
                    }
                }
            })
        };
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_| {
            if !ended.replace(true) {
                on_event(AttachEvent::Ended(Outcome::failure(
                    "slipway: the connection to the container closed before it exited".into(),
                    1,
                )));
            }
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(AttachSocket {
            socket,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Keystrokes for the container's stdin (a binary frame).
    pub fn send(&self, bytes: &[u8]) {
        let _ = self.socket.send_with_u8_array(bytes);
    }

    /// The terminal's new size for the container's TTY (a text control frame); before the socket is open, the
    /// size sent on opening is the one the terminal had when it was created.
    pub fn resize(&self, cols: u16, rows: u16) {
        if self.socket.ready_state() == WebSocket::OPEN {
            let _ = self.socket.send_with_str(&resize_control(cols, rows));
        }
    }
}

impl Drop for AttachSocket {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}
