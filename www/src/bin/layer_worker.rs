//! `layer-worker`: the page's layer pass in a Web Worker (gzip + sha256 of one layer's tar at a time), a
//! second wasm module Trunk builds beside `slipway-web` and the page loads only when a build makes a layer.

#[cfg(target_arch = "wasm32")]
fn main() {
    slipway_web::ui::layer_worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("layer-worker runs in the browser as the page's Web Worker: `trunk build --release` builds it");
    std::process::exit(2);
}
