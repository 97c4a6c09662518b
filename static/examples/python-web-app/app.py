"""A small web app for the Slipway lesson: Python's standard library only, so it runs offline."""

import html
import os
import platform
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GREETING = "Hello from a container!"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path not in ("/", "/index.html"):
            self.send_error(404, "Not Found")
            return
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Python sample app</title></head>
<body>
  <h1>{html.escape(GREETING)}</h1>
  <p>Served by Python {platform.python_version()} in the container <code>{html.escape(platform.node())}</code>.</p>
  <p>Edit <code>app.py</code>, rebuild the image and run it again to see your change.</p>
</body></html>
""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    # 0.0.0.0, not localhost: inside a container, localhost is the container itself, so a published port
    # could never reach an app that listens only there.
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"Serving on http://0.0.0.0:{port}", flush=True)
    server.serve_forever()
