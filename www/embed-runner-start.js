// Starts the docs embeds' runner module (www/embed-runner.html): embed-runner.js, loaded just before, is
// wasm-bindgen's no-modules output and defines `wasm_bindgen`; its `main` (www/src/bin/embed_runner.rs) runs
// once the wasm is instantiated.
wasm_bindgen({ module_or_path: "/embed-runner_bg.wasm" }).catch(function (error) {
  console.error("Slipway runner failed to start:", error);
});
