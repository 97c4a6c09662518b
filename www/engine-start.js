// Starts the page's engine (www/src/bin/engine.rs: the terminal's commands, the builder, the editors' checks),
// which the page loads right after its prompt (www/src/ui/engine.rs). engine.js, run just before, is
// wasm-bindgen's no-modules output and defines `wasm_bindgen`; the page finds the promise of its exports at
// `window.slipwayEngine`, and the exports at `window.slipwayEngineReady` once they are there (names in
// www/src/ui/engine_api.rs).
(function () {
  "use strict";
  window.slipwayEngine = wasm_bindgen({ module_or_path: "/engine_bg.wasm" }).then(function () {
    window.slipwayEngineReady = wasm_bindgen;
    // The page-load benchmark reads this mark: from here a command runs without waiting for the engine.
    performance.mark("slipway-engine-ready");
    return wasm_bindgen;
  });
})();
