//! `slipway-web`: the browser app's entry point, built for wasm32 by Trunk.

#[cfg(target_arch = "wasm32")]
fn main() {
    // The docs embeds' runner frame (`/embed/runner`) is a module of its own: `embed-runner`.
    slipway_web::ui::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "slipway-web is the browser app: build it with `trunk build --release` and serve it with `slipway serve`"
    );
    std::process::exit(2);
}
