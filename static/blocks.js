// Slipway runnable code blocks for docs pages (docs/embedding.md). One tag, anywhere on the page:
//   <script src="https://YOUR-SLIPWAY/static/blocks.js" defer></script>
// then mark code blocks: <pre data-slipway="dockerfile|shell|compose" id="..." data-files="..." data-depends-on="...">
// (or put the attribute on an element around a Markdown fence's <pre><code>). Each block gains Run, Edit and Reset
// and an output region under it. Nothing else loads until the first Run or Edit: then ONE hidden frame on the
// Slipway origin (/embed/runner) runs every block of the page in one session, which never leaves that frame.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.SlipwayBlocks) return;
  var server = new URL(script.src, location.href).origin;
  var blocks = [];
  var byId = {};
  var runner = null; // a Promise of the frame's window once it said "ready"
  var ready = false;
  var starting = null; // the block whose Run started the runner: told how far the load is
  var waiting = {}; // block id -> {onOutput, resolve}
  var queue = Promise.resolve();
  var finished = {}; // block id -> Promise of its exit code (dependencies run once)

  var CSS =
    ".slipway-bar{position:relative;height:0;z-index:1}" +
    ".slipway-bar>div{position:absolute;right:.4em;top:.4em;display:flex;gap:.3em}" +
    ".slipway-bar button,.slipway-out a{font:inherit;font-size:.8em;line-height:1.2;padding:.15em .6em;border-radius:4px;" +
    "border:1px solid var(--sw-border);background:var(--sw-bg);color:var(--sw-fg);cursor:pointer}" +
    ".slipway-bar button:focus-visible,.slipway-out a:focus-visible{outline:2px solid var(--sw-accent);outline-offset:1px}" +
    ".slipway-out{font-size:inherit;color:var(--sw-fg)}" +
    ".slipway-out:empty{display:none}" +
    ".slipway-out pre{margin:.3em 0;padding:.5em;border-radius:4px;background:var(--sw-out);color:var(--sw-fg);" +
    "white-space:pre-wrap;font-size:.9em;max-height:24em;overflow:auto}" +
    ".slipway-out p{margin:.3em 0;font-size:.9em}" +
    ".slipway-out .slipway-failed{color:var(--sw-error)}" +
    "mark.slipway-error-line{background:var(--sw-mark);color:inherit;outline:1px solid var(--sw-error)}" +
    "[data-slipway-theme=light]{--sw-bg:#f6f8fa;--sw-fg:#1f2328;--sw-border:#8c959f;--sw-out:#eef1f4;" +
    "--sw-accent:#0969da;--sw-error:#b3261e;--sw-mark:#ffebe9}" +
    "[data-slipway-theme=dark]{--sw-bg:#21262d;--sw-fg:#e6edf3;--sw-border:#6e7681;--sw-out:#161b22;" +
    "--sw-accent:#58a6ff;--sw-error:#ff7b72;--sw-mark:#5c1d1d}";

  // The page's own theme first (Docusaurus data-theme, MkDocs Material's slate, a .dark class), then the OS.
  function theme() {
    var nodes = [document.documentElement, document.body];
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      if (!n) continue;
      var t = n.getAttribute("data-theme") || n.getAttribute("data-bs-theme");
      if (t === "dark" || t === "light") return t;
      var md = n.getAttribute("data-md-color-scheme");
      if (md) return md === "slate" ? "dark" : "light";
      if (n.classList.contains("dark") || n.classList.contains("theme-dark")) return "dark";
      if (n.classList.contains("light") || n.classList.contains("theme-light")) return "light";
    }
    return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function paint() {
    var t = theme();
    blocks.forEach(function (b) {
      b.bar.setAttribute("data-slipway-theme", t);
      b.out.setAttribute("data-slipway-theme", t);
    });
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }

  function button(label, name, onClick) {
    var b = el("button", { type: "button", "aria-label": label + " " + name }, label);
    b.addEventListener("click", onClick);
    return b;
  }

  function enhance(pre, holder, n) {
    var code = pre.querySelector("code") || pre;
    var id = holder.id || pre.id || "slipway-block-" + n;
    var block = {
      id: id,
      kind: holder.getAttribute("data-slipway"),
      holder: holder,
      code: code,
      original: code.innerHTML,
      files: (holder.getAttribute("data-files") || "").split(/[\s,]+/).filter(Boolean),
      deps: (holder.getAttribute("data-depends-on") || "").split(/[\s,]+/).filter(Boolean),
      tag: holder.getAttribute("data-tag"),
    };
    var name = (block.name = holder.getAttribute("data-name") || id);
    block.bar = el("div", { class: "slipway-bar", "data-slipway-bar": id });
    var buttons = el("div", { role: "group", "aria-label": "Slipway: " + name });
    block.run = button("Run", name, function () { run(block, true); });
    block.edit = button("Edit", name, function () { edit(block); });
    block.edit.setAttribute("aria-pressed", "false");
    block.reset = button("Reset", name, function () { reset(block); });
    buttons.appendChild(block.run);
    buttons.appendChild(block.edit);
    buttons.appendChild(block.reset);
    block.bar.appendChild(buttons);
    block.out = el("div", { class: "slipway-out", "aria-live": "polite", "data-slipway-output": id });
    pre.parentNode.insertBefore(block.bar, pre);
    pre.parentNode.insertBefore(block.out, pre.nextSibling);
    blocks.push(block);
    byId[id] = block;
  }

  function text(block) {
    return (block.code.innerText || block.code.textContent).replace(/\n$/, "");
  }

  function edit(block) {
    var on = block.code.getAttribute("contenteditable") !== "plaintext-only";
    if (on) {
      unmark(block);
      block.code.setAttribute("contenteditable", "plaintext-only");
      block.code.setAttribute("spellcheck", "false");
      block.code.focus();
      start();
    } else {
      block.code.removeAttribute("contenteditable");
    }
    block.edit.setAttribute("aria-pressed", String(on));
  }

  function reset(block) {
    block.code.removeAttribute("contenteditable");
    block.edit.setAttribute("aria-pressed", "false");
    block.code.innerHTML = block.original;
    block.out.textContent = "";
    delete finished[block.id];
  }

  function unmark(block) {
    if (block.code.querySelector("mark.slipway-error-line")) block.code.textContent = text(block) + "\n";
  }

  // Line `line` (1-based) of the block marked as the failure's.
  function mark(block, line) {
    var lines = text(block).split("\n");
    if (line < 1 || line > lines.length) return;
    block.code.textContent = "";
    lines.forEach(function (l, i) {
      var node = i + 1 === line ? el("mark", { class: "slipway-error-line" }, l) : document.createTextNode(l);
      block.code.appendChild(node);
      block.code.appendChild(document.createTextNode("\n"));
    });
  }

  // The hidden runner frame, made once, on the first Run or Edit.
  function start() {
    if (runner) return runner;
    runner = new Promise(function (resolve, reject) {
      var frame = el("iframe", {
        src: server + "/embed/runner",
        title: "Slipway runner",
        "aria-hidden": "true",
        tabindex: "-1",
        style: "position:absolute;width:0;height:0;border:0;visibility:hidden",
      });
      var timer = setTimeout(function () { reject(new Error("Slipway at " + server + " did not answer")); }, 60000);
      window.addEventListener("message", function (event) {
        if (event.origin !== server || event.source !== frame.contentWindow) return;
        var msg;
        try { msg = JSON.parse(event.data); } catch (e) { return; }
        if (msg.slipway === "ready") {
          clearTimeout(timer);
          ready = true;
          resolve(frame.contentWindow);
        } else if (msg.slipway === "loading") {
          if (starting && !ready) status(starting, loading(msg));
        } else if (waiting[msg.id]) {
          if (msg.slipway === "output") waiting[msg.id].output(msg.stream, msg.text);
          if (msg.slipway === "done") waiting[msg.id].done(msg);
        }
      });
      document.body.appendChild(frame);
    });
    return runner;
  }

  // The first Run's words while the runner frame loads: its wasm's bytes (a fraction when the total is known),
  // then the session (www/embed-runner-start.js).
  function loading(msg) {
    if (msg.stage === "session") return "Starting a session\u2026";
    var mb = function (n) { return (n / 1048576).toFixed(1) + " MB"; };
    if (msg.total) return "Loading the runner\u2026 " + Math.floor((100 * msg.loaded) / msg.total) + "% of " + mb(msg.total);
    return "Loading the runner\u2026" + (msg.loaded ? " " + mb(msg.loaded) : "");
  }

  function files(block) {
    return Promise.all(block.files.map(function (ref) {
      var t = document.getElementById(ref);
      if (t && t.tagName === "TEMPLATE") {
        return [t.getAttribute("data-name") || ref, t.content.textContent.replace(/^\n/, "")];
      }
      var url = new URL(ref, location.href);
      return fetch(url).then(function (r) {
        if (!r.ok) throw new Error("the file " + ref + " answered " + r.status);
        return r.text();
      }).then(function (body) { return [url.pathname.split("/").pop(), body]; });
    }));
  }

  function status(block, words, failed) {
    var p = block.out.querySelector("p") || block.out.appendChild(el("p", {}));
    p.textContent = words;
    p.className = failed ? "slipway-failed" : "";
  }

  // Run `block` after its dependencies (each once per page, in order); resolves to its exit code.
  function run(block, again) {
    if (finished[block.id] && !again) return finished[block.id];
    var deps = block.deps.reduce(function (before, id) {
      return before.then(function (code) {
        if (code !== 0) return code;
        var dep = byId[id];
        if (!dep) {
          status(block, "This block depends on \u201c" + id + "\u201d, which is not on the page.", true);
          return 1;
        }
        return run(dep, false);
      });
    }, Promise.resolve(0));
    var result = deps.then(function (code) {
      if (code !== 0) {
        status(block, "Not run: a block it depends on failed.", true);
        return code;
      }
      return execute(block);
    });
    finished[block.id] = result;
    return result;
  }

  function execute(block) {
    unmark(block);
    block.out.textContent = "";
    var doing = block.kind === "dockerfile" ? "Building\u2026" : "Running\u2026";
    status(block, ready ? doing : "Loading the runner\u2026");
    block.run.disabled = true;
    var output = el("pre", { "data-slipway-stdout": block.id, tabindex: "0" });
    var details = null;
    // One block at a time in the page's session.
    var step = queue.then(function () {
      if (!ready) starting = block;
      return Promise.all([start(), files(block)]);
    }).then(function (both) {
      starting = null;
      status(block, doing);
      return new Promise(function (resolve) {
        waiting[block.id] = {
          output: function (stream, chunk) {
            if (performance.mark && !performance.getEntriesByName("slipway-block-output").length) {
              performance.mark("slipway-block-output");
            }
            if (stream === "progress") {
              if (!details) {
                details = el("details", { "data-slipway-progress": block.id });
                details.appendChild(el("summary", {}, "Build progress"));
                details.appendChild(el("pre", { tabindex: "0" }));
                block.out.insertBefore(details, output.parentNode ? output : null);
              }
              details.lastChild.textContent += chunk;
            } else {
              if (!output.parentNode) block.out.appendChild(output);
              output.textContent += chunk;
            }
          },
          done: resolve,
        };
        both[0].postMessage(JSON.stringify({
          slipway: "run", id: block.id, kind: block.kind, text: text(block), files: both[1], tag: block.tag,
        }), server);
      });
    }).then(function (msg) {
      delete waiting[block.id];
      if (msg.exit === 0) {
        status(block, "Done.");
      } else {
        status(block, (msg.line ? "Failed at line " + msg.line : "Failed") + " (exit code " + msg.exit + ").", true);
        if (msg.line) mark(block, msg.line);
      }
      return msg.exit;
    }, function (e) {
      status(block, "Could not run: " + e.message, true);
      return 1;
    });
    queue = step;
    return step.then(function (code) {
      block.run.disabled = false;
      block.out.appendChild(openLink(block));
      return code;
    });
  }

  // "Open in the full playground": the block's files (and its dependencies') as a share link (#share=).
  function openLink(block) {
    var a = el("a", { href: server + "/", target: "_blank", rel: "noopener" }, "Open in the full playground");
    a.setAttribute("aria-label", "Open in the full playground: " + block.name);
    a.addEventListener("click", function (event) {
      event.preventDefault();
      collect(block, {}).then(share).then(function (hash) { window.open(server + "/" + hash, "_blank", "noopener"); });
    });
    return el("p", {}).appendChild(a).parentNode;
  }

  function collect(block, into) {
    return block.deps.reduce(function (p, id) {
      return byId[id] ? p.then(function () { return collect(byId[id], into); }) : p;
    }, Promise.resolve()).then(function () { return files(block); }).then(function (list) {
      list.forEach(function (f) { into[f[0]] = f[1]; });
      if (block.kind === "dockerfile") into.Dockerfile = text(block) + "\n";
      if (block.kind === "compose") into["compose.yaml"] = text(block) + "\n";
      return into;
    });
  }

  // The share payload of www/src/ui/share.rs: version 1, then per file 'f', path, mode, content; raw deflate.
  function share(map) {
    var parts = [1];
    var enc = new TextEncoder();
    function u(n, bytes) { for (var i = 0; i < bytes; i++) parts.push((n >>> (8 * i)) & 255); }
    Object.keys(map).sort().forEach(function (path) {
      var p = enc.encode(path), d = enc.encode(map[path]);
      parts.push(102); u(p.length, 2); p.forEach(function (b) { parts.push(b); });
      u(420, 4); u(d.length, 4); d.forEach(function (b) { parts.push(b); });
    });
    var stream = new Blob([new Uint8Array(parts)]).stream().pipeThrough(new CompressionStream("deflate-raw"));
    return new Response(stream).arrayBuffer().then(function (buf) {
      var s = "";
      new Uint8Array(buf).forEach(function (b) { s += String.fromCharCode(b); });
      return "#share=" + btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    });
  }

  function init() {
    var style = el("style", {}, CSS);
    document.head.appendChild(style);
    var n = 0;
    document.querySelectorAll("[data-slipway]").forEach(function (holder) {
      var pre = holder.tagName === "PRE" ? holder : holder.querySelector("pre");
      if (pre && !pre.hasAttribute("data-slipway-enhanced")) {
        pre.setAttribute("data-slipway-enhanced", "");
        enhance(pre, holder, ++n);
      }
    });
    paint();
    new MutationObserver(paint).observe(document.documentElement, {
      attributes: true, subtree: false, attributeFilter: ["class", "data-theme", "data-md-color-scheme", "data-bs-theme"],
    });
    if (document.body) {
      new MutationObserver(paint).observe(document.body, {
        attributes: true, attributeFilter: ["class", "data-theme", "data-md-color-scheme", "data-bs-theme"],
      });
    }
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", paint);
    if (performance.mark) performance.mark("slipway-blocks-enhanced");
  }

  window.SlipwayBlocks = { blocks: blocks, run: function (id) { return run(byId[id], true); } };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
