//! `archive-worker`: the project archive's zip work in a Web Worker (unzip a dropped `.zip`, zip the project for
//! download), a third wasm module Trunk builds beside `slipway-web`; the page loads it only when a zip is
//! dropped or downloaded, so the page's own module holds no zip code.

#[cfg(target_arch = "wasm32")]
fn main() {
    slipway_web::ui::archive_worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "archive-worker runs in the browser as the page's Web Worker: `trunk build --release` builds it"
    );
    std::process::exit(2);
}
