"""A tiny HTTP server on 127.0.0.1 that serves files and misbehaves on request.

Modes (``server.mode``):
    "ok"           serve the file (honours ``Range: bytes=N-`` when ``server.ranges``)
    "drop"         send the headers and half the body, then cut the connection, for the
                   first ``server.drops`` requests; then behave as "ok"
    "html"         answer 200 with an HTML page (as CDC sometimes does)
    "drip"         send the body ``server.drip_bytes`` bytes every ``server.drip_interval``
                   seconds (a stalled server that never quite stops)
    "lie"          announce ``server.claimed_length`` as Content-Length, whatever the body's
                   length, then send the body and close the connection

Example:
    with serve({"/x/DEMO_H.xpt": data}) as server:
        urllib.request.urlopen(server.url + "/x/DEMO_H.xpt").read()
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        srv = self.server
        with srv.lock:
            srv.requests.append((self.path, self.headers.get("Range")))
            drop = srv.mode == "drop" and srv.drops > 0
            if drop:
                srv.drops -= 1
        if srv.mode == "html":
            return self._send(200, b"<!DOCTYPE html><html><body>Page not found</body></html>",
                              "text/html; charset=utf-8")
        data = srv.files.get(self.path)
        if data is None:
            return self._send(404, b"not found", "text/plain")
        start = 0
        match = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
        if match and srv.ranges and int(match.group(1)) < len(data):
            start = int(match.group(1))
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        length = srv.claimed_length if srv.mode == "lie" else len(body)
        self.send_header("Content-Length", str(length))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if srv.mode == "drip":
            for i in range(0, len(body), srv.drip_bytes):
                if srv.stopping.wait(srv.drip_interval):
                    return
                with contextlib.suppress(OSError):
                    self.wfile.write(body[i:i + srv.drip_bytes])
                    self.wfile.flush()
                    continue
                return
            return
        if srv.mode == "lie":
            with contextlib.suppress(OSError):
                self.wfile.write(body)
                self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if drop:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)
        with srv.lock:
            srv.bytes_sent += len(body)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: dict[str, bytes]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = dict(files)
        self.mode = "ok"
        self.drops = 0
        self.ranges = True
        self.requests: list[tuple[str, str | None]] = []
        self.bytes_sent = 0
        self.drip_bytes = 8
        self.drip_interval = 0.2
        self.claimed_length = 0
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextlib.contextmanager
def serve(files: dict[str, bytes]):
    """Run a FileServer in a thread for the duration of the block, then shut it down."""
    server = FileServer(files)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
