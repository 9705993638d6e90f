"""Scraper throughput and politeness benchmark on loopback.

Four local hosts (four ports on 127.0.0.1, served from a separate process so the server's CPU
is not counted as ours) serve 2,000 detail pages in total behind paginated listings. Phase 1
scrapes them with the delay at 0, robots.txt allowed, and the store (conditional GET state and
the snapshot archive) on: pages/s, CPU time per page, peak RSS, parse time per page. Phase 2
turns a 0.2 s delay on for two hosts and checks from the server's own request log that no host
saw requests faster than the configured rate.

    .venv/bin/python benchmarks/scrape_bench.py [--pages 2000] [--delay 0.2]

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.config import parse_config  # noqa: E402
from pipeline.store import Store  # noqa: E402
from scrapers.collect import collect  # noqa: E402
from scrapers.parse.listing import parse_detail  # noqa: E402

PER_PAGE = 50
COUNTRIES = ["Malaysia", "Taiwan", "Jepang", "Korea Selatan", "Hongkong", "Arab Saudi", "Kamboja"]


def detail_page(host: int, i: int) -> bytes:
    """A realistic detail page (~9 KB): navigation, JSON-LD JobPosting, body text, footer."""
    country = COUNTRIES[(host * 7 + i) % len(COUNTRIES)]
    title = f"Operator Produksi {i} - {country}"
    body = " ".join(
        f"Kami membuka lowongan operator ke-{i} untuk pabrik elektronik di {country}. "
        "Gaji pokok 1.800-2.500 per bulan, lembur dibayar, mess dan makan ditanggung."
        for _ in range(6)
    )
    posting = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": title,
        "description": f"<p>{body}</p><ul><li>Usia 18-35</li><li>Lulusan SMA</li></ul>",
        "datePosted": "2026-11-01",
        "hiringOrganization": {"@type": "Organization", "name": f"PT Karya {host}"},
        "jobLocation": {"@type": "Place", "address": {"addressCountry": country}},
        "baseSalary": {
            "@type": "MonetaryAmount",
            "currency": "MYR",
            "value": {"minValue": 1800, "maxValue": 2500, "unitText": "MONTH"},
        },
    }
    nav = "".join(f'<li><a href="/kategori/{k}">Kategori {k}</a></li>' for k in range(40))
    footer = "".join(f"<p>Tautan footer {k} - informasi perusahaan</p>" for k in range(20))
    return (
        "<!doctype html><html lang='id'><head><meta charset='utf-8'>"
        f"<title>{title}</title><script type='application/ld+json'>{json.dumps(posting)}</script>"
        "<style>body{font-family:sans-serif}</style></head><body>"
        f"<nav><ul>{nav}</ul></nav><main><h1>{title}</h1><p>{body}</p></main>"
        f"<footer>{footer}</footer></body></html>"
    ).encode()


def listing_page(host: int, page: int, pages: int, per_host: int) -> bytes:
    start = (page - 1) * PER_PAGE
    links = "".join(
        f'<li><a class="job-link" href="/job/{i}">Lowongan {i}</a></li>'
        for i in range(start, min(start + PER_PAGE, per_host))
    )
    nav = f'<a rel="next" href="/jobs?page={page + 1}">next</a>' if page < pages else ""
    return f"<html><body><ul>{links}</ul>{nav}</body></html>".encode()


def serve(ports: mp.Queue, hosts: int, per_host: int, ready: mp.Event, stop: mp.Event) -> None:
    """Run ``hosts`` HTTP servers in this process until ``stop`` is set."""
    pages = (per_host + PER_PAGE - 1) // PER_PAGE
    log: list[tuple[int, str, float]] = []
    servers = []
    for h in range(hosts):
        routes = {"/robots.txt": b"User-agent: *\nAllow: /\n"}
        routes.update({f"/job/{i}": detail_page(h, i) for i in range(per_host)})
        for p in range(1, pages + 1):
            routes["/jobs" if p == 1 else f"/jobs?page={p}"] = listing_page(h, p, pages, per_host)

        def make_handler(routes: dict[str, bytes], host: int) -> type:
            class Handler(BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                # Headers and body in one segment: otherwise Nagle plus delayed ACK add
                # ~40 ms to every keep-alive response and the benchmark measures the kernel.
                disable_nagle_algorithm = True
                wbufsize = 1 << 16

                def log_message(self, *args: object) -> None:
                    pass

                def do_GET(self) -> None:  # noqa: N802
                    if self.path == "/__log":
                        body = json.dumps(log).encode()
                    else:
                        log.append((host, self.path, time.monotonic()))
                        body = routes.get(self.path)
                    if body is None:
                        self.send_response(404)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            return Handler

        server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(routes, h))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        ports.put(server.server_address[1])
    ready.set()
    stop.wait()
    for server in servers:
        server.shutdown()


def start_servers(hosts: int, per_host: int) -> tuple[list[int], mp.Event, mp.Process]:
    ports: mp.Queue = mp.Queue()
    ready, stop = mp.Event(), mp.Event()
    proc = mp.Process(target=serve, args=(ports, hosts, per_host, ready, stop), daemon=True)
    proc.start()
    ready.wait(60)
    return [ports.get() for _ in range(hosts)], stop, proc


def config_for(ports: list[int], db: str, delay: float, max_pages: int) -> object:
    sources = [
        {
            "name": f"host{i}",
            "kind": "listing",
            "urls": [f"http://127.0.0.1:{port}/jobs"],
            "delay_seconds": delay,
            "max_pages": max_pages,
            "detail_link": "a.job-link",
        }
        for i, port in enumerate(ports)
    ]
    return parse_config({"sources": sources}, db_url=db)


def server_log(port: int) -> list[tuple[int, str, float]]:
    import requests

    return [tuple(x) for x in requests.get(f"http://127.0.0.1:{port}/__log", timeout=10).json()]


def throughput(pages: int, tmp: Path) -> dict:
    hosts, per_host = 4, pages // 4
    ports, stop, proc = start_servers(hosts, per_host)
    try:
        config = config_for(ports, f"sqlite:///{tmp}/bench.db", 0.0, 1000)
        with Store(config.database_url) as store:
            run = store.start_run("scrape")
            cpu0, wall0 = time.process_time(), time.perf_counter()
            report = collect(config, store, run)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            snapshots = store.count("snapshots")
            rerun0 = time.perf_counter()
            rerun = collect(config, store, store.start_run("scrape"))
            rerun_wall = time.perf_counter() - rerun0
    finally:
        stop.set()
        proc.join(10)
    totals = report.totals
    fetched = totals.get("fetched", 0)
    # Parse time alone, on the same pages, in this process.
    samples = []
    for h in range(hosts):
        for i in range(0, per_host, max(1, per_host // 250)):
            body = detail_page(h, i).decode()
            t0 = time.perf_counter()
            parse_detail(body, f"http://h{h}/job/{i}", {})
            samples.append((time.perf_counter() - t0) * 1000)
    return {
        "detail_pages": pages,
        "pages_fetched": fetched,
        "ads_new": totals.get("new", 0),
        "errors": totals.get("errors", 0),
        "snapshots": snapshots,
        "wall_seconds": round(wall, 3),
        "pages_per_second": round(fetched / wall, 1),
        "cpu_ms_per_page": round(cpu / max(fetched, 1) * 1000, 3),
        "parse_ms_median": round(statistics.median(samples), 3),
        "parse_ms_p95": round(sorted(samples)[int(len(samples) * 0.95)], 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rerun_seconds": round(rerun_wall, 3),
        "rerun_details_fetched": rerun.totals.get("fetched", 0) - rerun.totals.get("pages", 0),
    }


def politeness(delay: float, tmp: Path) -> dict:
    hosts, per_host = 2, 20
    ports, stop, proc = start_servers(hosts, per_host)
    try:
        config = config_for(ports, f"sqlite:///{tmp}/polite.db", delay, 10)
        with Store(config.database_url) as store:
            collect(config, store, store.start_run("scrape"))
        log = server_log(ports[0])
    finally:
        stop.set()
        proc.join(10)
    out = {}
    for host in range(hosts):
        times = sorted(t for h, path, t in log if h == host)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        rate = (len(times) - 1) / (times[-1] - times[0])
        out[f"host{host}"] = {
            "requests": len(times),
            "mean_rate_per_s": round(rate, 3),
            "min_gap_s": round(min(gaps), 3),
            "mean_gap_s": round(statistics.mean(gaps), 3),
        }
    return {
        "configured_delay_s": delay,
        "configured_rate_per_s": round(1 / delay, 3),
        "per_host": out,
        # 1 % tolerance: times are taken at the server, a socket hop after the client's clock.
        "rate_within_limit": all(v["mean_rate_per_s"] <= 1.01 / delay for v in out.values()),
        "min_gap_at_least_half_delay": all(v["min_gap_s"] >= delay * 0.5 for v in out.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {"throughput": throughput(args.pages, Path(tmp))}
        print(json.dumps(result["throughput"], indent=2), file=sys.stderr)
        result["politeness"] = politeness(args.delay, Path(tmp))
    result["targets"] = {
        "pages_per_second>=150": result["throughput"]["pages_per_second"] >= 150,
        "parse_ms_median<5": result["throughput"]["parse_ms_median"] < 5,
        "per_host_rate_within_configured": result["politeness"]["rate_within_limit"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
