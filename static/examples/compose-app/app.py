"""A web page that counts its visits in redis, the `cache` service of compose.yaml.

It speaks redis's protocol (RESP) over a plain socket, so it needs nothing but Python's standard library.
"""
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REDIS_HOST = os.environ.get("REDIS_HOST", "cache")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))


def redis(*words):
    """Send one command to redis and return its integer answer (":42" is 42, "-ERR ..." an error)."""
    request = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=3) as conn:
        conn.sendall(request.encode())
        answer = conn.makefile("rb").readline().decode().strip()
    if not answer.startswith(":"):
        raise OSError(answer)
    return int(answer[1:])


class Counter(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/":
            self.send_error(404)
            return
        try:
            visits = redis("INCR", "visits")
            status, text = 200, f"Hello from {socket.gethostname()}! This page has {visits} visits."
        except OSError as e:
            status, text = 503, f"Cannot reach redis at {REDIS_HOST}:{REDIS_PORT}: {e}"
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    # `docker stop` (and `docker compose down`) sends SIGTERM first: end at once instead of waiting to be killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("Serving on http://0.0.0.0:8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Counter).serve_forever()
