//! `slipway-web`: the browser app's entry point, built for wasm32 by Trunk.

#[cfg(target_arch = "wasm32")]
fn main() {
    // The docs embeds' hidden runner frame (static/blocks.js): the interpreter without the UI.
    let path = web_sys::window().and_then(|w| w.location().pathname().ok());
    if path.as_deref() == Some(slipway::api::paths::EMBED_RUNNER) {
        return slipway_web::ui::runner::start();
    }
    slipway_web::ui::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "slipway-web is the browser app: build it with `trunk build --release` and serve it with `slipway serve`"
    );
    std::process::exit(2);
}
