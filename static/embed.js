// Slipway embed: put a playground in any page with one tag, as many times as you like.
//   <script src="https://YOUR-SLIPWAY/static/embed.js" data-lesson="/static/lessons/python-web-app/lesson.json"
//           data-panes="editor,terminal" data-theme="light" data-readonly="false" data-height="520"></script>
// data-* (all optional): lesson (a lesson.json URL, relative to the Slipway server), files (a share payload: the
// part after "#share=" of a share link), panes (any of lesson,files,editor,terminal), theme (dark|light),
// readonly (true|1), height (CSS pixels), title (the frame's accessible name).
// Each tag becomes its own <iframe> right after the tag; widgets never share files or save to the page's storage.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var server = new URL(script.src, window.location.href);
  var query = new URLSearchParams();
  var data = script.dataset;
  if (data.lesson) query.set("lesson", new URL(data.lesson, server).href);
  ["files", "panes", "theme"].forEach(function (key) {
    if (data[key]) query.set(key, data[key]);
  });
  if (data.readonly === "true" || data.readonly === "1") query.set("readonly", "1");
  var frame = document.createElement("iframe");
  frame.src = server.origin + "/embed?" + query.toString();
  frame.title = data.title || "Slipway Docker playground";
  frame.loading = "lazy";
  frame.style.width = "100%";
  frame.style.height = (parseInt(data.height, 10) || 520) + "px";
  frame.style.border = "1px solid #d1d9e0";
  frame.style.borderRadius = "6px";
  frame.setAttribute("allow", "clipboard-write");
  script.parentNode.insertBefore(frame, script.nextSibling);
})();
