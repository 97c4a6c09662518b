// Starts the docs embeds' runner module (www/embed-runner.html): embed-runner.js, loaded just before, is
// wasm-bindgen's no-modules output and defines `wasm_bindgen`; its `main` (www/src/bin/embed_runner.rs) runs
// once the wasm is instantiated. The wasm is fetched here, its bytes counted as they stream to the compiler, so
// the docs page's first Run can say how far the load is (`{"slipway":"loading"}` messages to the framing page,
// docs/embedding.md): the bytes so far and, when the answer says how many come (no content encoding), the
// total; then the session stage.
(function () {
  "use strict";
  var WASM = "/embed-runner_bg.wasm";
  // The framing page's origin, as www/src/ui/runner.rs finds it: the only one told anything.
  var origin = (location.ancestorOrigins && location.ancestorOrigins[0]) || "";
  if (!origin && document.referrer) {
    try { origin = new URL(document.referrer).origin; } catch (e) { origin = ""; }
  }
  var framed = window.parent !== window && origin && origin !== "null";
  var last = 0;

  function tell(stage, loaded, total, force) {
    if (!framed) return;
    var now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    window.parent.postMessage(JSON.stringify({ slipway: "loading", stage: stage, loaded: loaded, total: total }), origin);
  }

  // The wasm's answer, its bytes counted on their way to the compiler (still compiled as they stream in).
  function counted(response) {
    if (!response.ok) throw new Error(WASM + " answered " + response.status);
    var length = Number(response.headers.get("content-length"));
    var total = !response.headers.get("content-encoding") && length > 0 ? length : null;
    if (!response.body || typeof TransformStream !== "function") return response;
    var loaded = 0;
    tell("runner", 0, total, true);
    var body = response.body.pipeThrough(new TransformStream({
      transform: function (chunk, controller) {
        loaded += chunk.byteLength;
        tell("runner", loaded, total, false);
        controller.enqueue(chunk);
      },
      flush: function () { tell("runner", loaded, total, true); },
    }));
    return new Response(body, { headers: { "Content-Type": "application/wasm" } });
  }

  fetch(WASM).then(function (response) {
    return wasm_bindgen({ module_or_path: counted(response) });
  }).then(function () {
    // Instantiated: main() started the session; the runner says "ready" once it holds one.
    tell("session", null, null, true);
  }).catch(function (error) {
    console.error("Slipway runner failed to start:", error);
  });
})();
