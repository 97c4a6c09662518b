//! Classroom notices in the terminal (issue 15): while a class member's terminal is open, the page long-polls
//! the companion's notices (`slipway::api::paths::CLASSROOM_NOTICES`) and hands each to the terminal as a
//! marked line ([`super::terminal_state::TerminalAction::Notice`]), which its transcript (a `role="log"`)
//! announces to screen readers.

use wasm_bindgen::JsCast;

/// How long to wait after a failed poll (the companion restarting, the network gone).
const RETRY_MS: i32 = 5_000;

/// Follow the class's notices while `alive()`: each notice's text goes to `show`.
pub fn follow(show: impl Fn(String) + 'static, alive: impl Fn() -> bool + 'static) {
    wasm_bindgen_futures::spawn_local(async move {
        let transport = super::session::page_transport();
        let companion = slipway::api::Companion::new(&transport, "");
        let mut after = None;
        while alive() {
            match companion.notices(after).await {
                Ok(answer) => {
                    after = Some(answer.next);
                    answer.notices.iter().for_each(|notice| show(notice.text()));
                }
                Err(_) => sleep(RETRY_MS).await,
            }
        }
    });
}

/// A timer as a future.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(resolve.unchecked_ref(), ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
