"""A tiny static site server on 127.0.0.1, for the demo, the tests and the benchmark.

It can make a file slow on purpose: a request for `/slow/<ms>/<path>` waits `<ms>` milliseconds and then
serves `<path>`, so a fixture or demo page can hold a slow image or script with a known delay.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import time
from collections import Counter
from pathlib import Path

_SLOW = re.compile(r"^/slow/(\d{1,5})(/.*)$")


class _Handler(http.server.SimpleHTTPRequestHandler):
    hits: Counter[str]
    latency_s: float = 0.0

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.hits[self.path] += 1
        if self.latency_s:
            time.sleep(self.latency_s)
        match = _SLOW.match(self.path)
        if match:
            time.sleep(int(match.group(1)) / 1000)
            self.path = match.group(2)
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # quiet: the audit has its own progress
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser that closes a connection early (a cancelled image, a closed tab) is not news


class StaticSite:
    """Serve a folder on a free loopback port for as long as the `with` block lasts; with `latency_ms`, every
    answer waits that long first, as a site across the internet would (the benchmark's --latency)."""

    def __init__(self, root: Path | str, port: int = 0, latency_ms: float = 0) -> None:
        self.hits: Counter[str] = Counter()  # request paths served, for tests that count visits
        handler = type("Handler", (_Handler,), {"hits": self.hits, "latency_s": latency_ms / 1000})
        handler = functools.partial(handler, directory=str(root))
        self._server = _Server(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> StaticSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
