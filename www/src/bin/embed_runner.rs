//! `embed-runner`: the docs embeds' hidden runner frame (`/embed/runner`, `www/embed-runner.html`): the
//! interpreter, the builder and the session without the app's UI (no Yew, no terminal, no editor), a wasm module
//! of its own so a docs page's first Run loads only what running blocks needs (docs/embedding.md).

#[cfg(target_arch = "wasm32")]
fn main() {
    slipway_web::ui::runner::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("embed-runner runs in the browser as the docs embeds' runner frame: `trunk build --release` builds it");
    std::process::exit(2);
}
