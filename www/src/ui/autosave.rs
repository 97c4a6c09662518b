//! Saving the workspace after a pause in edits instead of on every keystroke (wasm only). A change schedules
//! its save [`PAUSE_MS`] later; a newer change replaces it and restarts the wait. Nothing waits past the page:
//! when it is hidden (another tab, the window minimized) the pending save runs at once, and when it goes away
//! (reload, navigation, closing) it runs with `leaving` set, so the caller can also write synchronously: an
//! IndexedDB write started while the page unloads may never commit.

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// How long the edits must pause before the workspace is saved.
pub const PAUSE_MS: i32 = 300;

type Save = Box<dyn FnOnce(bool)>;

thread_local! {
    /// The newest save not run yet; its argument says whether the page is going away.
    static PENDING: RefCell<Option<Save>> = RefCell::new(None);
    /// The timer that runs [`PENDING`] after the pause.
    static TIMER: Cell<Option<i32>> = const { Cell::new(None) };
    /// The timer's and the page events' callbacks, made once and kept for the page's life.
    static CALLBACKS: RefCell<Option<Callbacks>> = const { RefCell::new(None) };
}

struct Callbacks {
    on_timer: Closure<dyn FnMut()>,
    _on_hidden: Closure<dyn FnMut()>,
    _on_pagehide: Closure<dyn FnMut()>,
}

/// Runs `save` once the edits pause (replacing a save still waiting), or sooner if the page is hidden or left.
pub fn later(save: impl FnOnce(bool) + 'static) {
    PENDING.with(|p| *p.borrow_mut() = Some(Box::new(save)));
    let Some(window) = web_sys::window() else {
        return flush(false);
    };
    if let Some(timer) = TIMER.take() {
        window.clear_timeout_with_handle(timer);
    }
    CALLBACKS.with(|c| {
        let mut callbacks = c.borrow_mut();
        let callbacks = callbacks.get_or_insert_with(|| listen(&window));
        TIMER.set(
            window
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    callbacks.on_timer.as_ref().unchecked_ref(),
                    PAUSE_MS,
                )
                .ok(),
        );
    });
}

/// Runs the pending save now, if there is one.
pub fn flush(leaving: bool) {
    if let (Some(timer), Some(window)) = (TIMER.take(), web_sys::window()) {
        window.clear_timeout_with_handle(timer);
    }
    // Taken out first: the save may schedule another one.
    let pending = PENDING.with(|p| p.borrow_mut().take());
    if let Some(save) = pending {
        save(leaving);
    }
}

/// The timer's callback, and the page events that must not leave a save waiting.
fn listen(window: &web_sys::Window) -> Callbacks {
    let on_timer = Closure::<dyn FnMut()>::new(|| {
        TIMER.set(None);
        flush(false);
    });
    let on_hidden = Closure::<dyn FnMut()>::new(|| {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden());
        if hidden {
            flush(false);
        }
    });
    let on_pagehide = Closure::<dyn FnMut()>::new(|| flush(true));
    if let Some(document) = window.document() {
        let _ =
            document.add_event_listener_with_callback("visibilitychange", on_hidden.as_ref().unchecked_ref());
    }
    let _ = window.add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref());
    Callbacks {
        on_timer,
        _on_hidden: on_hidden,
        _on_pagehide: on_pagehide,
    }
}
