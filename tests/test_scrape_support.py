"""Shared helpers for the scraper tests: a real HTTP fixture site on 127.0.0.1.

``Site`` serves routes from a dict (path with query → handler) over a threaded
``http.server`` speaking HTTP/1.1, and logs every request with its monotonic arrival time, so
tests can check pacing, retries and conditional requests against real sockets.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipeline.config import parse_config
from pipeline.store import Store


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"


Handler = Callable[["Request"], Reply]


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    at: float


def html_page(title: str, body: str, head: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body></html>"
    ).encode()


def job_page(title: str, description: str, company: str = "PT Contoh") -> bytes:
    posting = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": title,
        "description": description,
        "hiringOrganization": {"@type": "Organization", "name": company},
        "datePosted": "2026-11-01",
    }
    script = f'<script type="application/ld+json">{json.dumps(posting)}</script>'
    return html_page(title, f"<h1>{title}</h1><p>{description}</p>", head=script)


class Site:
    """A fixture web site: ``site.routes["/path"] = Reply(...)`` or a handler function."""

    def __init__(self, routes: dict[str, Reply | Handler] | None = None) -> None:
        self.routes: dict[str, Reply | Handler] = dict(routes or {})
        self.log: list[Request] = []
        self.lock = threading.Lock()
        site = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                request = Request(self.path, dict(self.headers.items()), time.monotonic())
                with site.lock:
                    site.log.append(request)
                route = site.routes.get(self.path)
                if route is None:
                    route = site.routes.get(self.path.split("?")[0])
                if route is None:
                    reply = Reply(404, b"not found")
                elif callable(route):
                    reply = route(request)
                else:
                    reply = route
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)

            def _send(self, reply: Reply) -> None:
                self.send_response(reply.status)
                headers = {"Content-Type": reply.content_type, **reply.headers}
                streamed = not isinstance(reply.body, bytes)
                if not streamed:
                    headers.setdefault("Content-Length", str(len(reply.body)))
                else:
                    headers["Connection"] = "close"
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if streamed:
                    self.close_connection = True
                    for chunk in reply.body:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                else:
                    self.wfile.write(reply.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def hits(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.log if r.path == path]

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.log]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fast(**options: Any) -> dict[str, Any]:
    """Source options for tests: no delay, tiny back-off and timeouts."""
    base = {
        "delay_seconds": 0,
        "retries": 2,
        "backoff_seconds": 0.01,
        "timeout_seconds": 2,
        "randomize_delay": False,
    }
    return {**base, **options}


def make_config(tmp_path: Path, *sources: dict[str, Any]) -> Any:
    return parse_config({"sources": list(sources)}, db_url=f"sqlite:///{tmp_path}/waspada.db")


def open_store(config: Any) -> Store:
    return Store(config.database_url)
