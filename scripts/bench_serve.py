"""Load test of `poetvae serve` on loopback: a server process, C concurrent keep-alive clients,
a bounded number of requests and a bounded time per scenario. Prints JSON: requests per second,
p50/p99 latency and errors per scenario.

Then a burst: B concurrent requests of the heaviest kind a request may be (16 poems, rerank 8,
strict acrostic), most of which the server gives up on at its timeout, and, as soon as the last
of them is answered, one light request (n=1, default decoding). Reports the burst's statuses and
how fast the light request was answered, beside its time on an idle server.

Usage: OMP_NUM_THREADS=1 python scripts/bench_serve.py [--clients 8] [--requests 400]
       [--seconds 60] [--burst 30] [--only load|burst] [--checkpoint FORM=DIR ...]
With --clients 1 the p50 is the median time of one request alone (e.g. a rewrite's).

Run it from the root of the checkout to measure: the server is `python -m poetvae`, which imports
the package from the working directory before PYTHONPATH.
"""

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter

SCENARIOS = {  # name -> GET /api/write query
    "write 4 poems (default decoding)": {"n": 4},
    "acrostic + strict tones, 1 poem": {"n": 1, "acrostic": "春夏秋冬", "tones": "strict"},
    # the studio's 重写 with line 1 kept: one poem, a whole-poem pattern, a fresh seed each time
    "rewrite 五言, line 1 kept": {"n": 1, "pattern": "白日依山尽，" + "，".join(["＿" * 5] * 3)},
    "rewrite 七言, line 1 kept": {
        "form": "qiyan",
        "n": 1,
        "pattern": "两个黄鹂鸣翠柳，" + "，".join(["＿" * 7] * 3),
    },
}
HEAVIEST = {"n": 16, "rerank": 8, "acrostic": "春夏秋冬", "tones": "strict"}  # the server's bounds
LIGHT = {"n": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, checkpoints: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "poetvae", "serve", "--port", str(port), "--device", "cpu"]
    for c in checkpoints:
        cmd += ["--checkpoint", c]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/options")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start within 60 s")


def load(port: int, path: str, clients: int, requests: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    left = [requests]
    stop_at = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop_at:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
                ok = response.status == 200 and b'"poems"' in body
                err = None if ok else f"{response.status} {body[:80].decode(errors='replace')}"
            except OSError as e:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                err = type(e).__name__
            with lock:
                latencies.append(time.perf_counter() - t0)
                if err:
                    errors[err] = errors.get(err, 0) + 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "requests": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "seconds": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 2),
        "p50_ms": round(1000 * cuts[49], 1),
        "p99_ms": round(1000 * cuts[98], 1),
    }


def get(port: int, query: dict, timeout: float = 600) -> tuple[int, float]:
    """(status, seconds) of one GET /api/write on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    conn.request("GET", "/api/write?" + urllib.parse.urlencode(query))
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - t0


def burst(port: int, size: int) -> dict:
    """`size` heaviest requests at once, then one light request as soon as they are answered."""
    alone = sorted(get(port, LIGHT)[1] for _ in range(5))
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def heavy():
        status, _ = get(port, HEAVIEST)
        with lock:
            statuses[status] += 1

    threads = [threading.Thread(target=heavy) for _ in range(size)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answered = time.perf_counter() - t0
    status, light = get(port, LIGHT)
    return {
        "heaviest": HEAVIEST,
        "burst": size,
        "burst_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "burst_answered_s": round(answered, 2),
        "light_after_burst_ms": round(1000 * light, 1),
        "light_after_burst_status": status,
        "light_alone_median_ms": round(1000 * alone[2], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400, help="per scenario, at most")
    ap.add_argument("--seconds", type=float, default=60, help="per scenario, at most")
    ap.add_argument("--burst", type=int, default=30, help="heaviest requests at once")
    ap.add_argument("--only", choices=["load", "burst"], help="run one part only")
    ap.add_argument("--checkpoint", action="append", default=[], metavar="FORM=DIR")
    args = ap.parse_args()
    port = free_port()
    server = start_server(port, args.checkpoint)
    try:
        results = {}
        for name, query in SCENARIOS.items() if args.only != "burst" else ():
            path = "/api/write?" + urllib.parse.urlencode(query)
            load(port, path, 1, 3, 60)  # warm-up: the model loads on its first request
            results[name] = load(port, path, args.clients, args.requests, args.seconds)
        if args.only != "load":
            get(port, {**HEAVIEST, "n": 1})  # warm-up
            results["light request after a burst of the heaviest"] = burst(port, args.burst)
    finally:
        server.terminate()
        server.wait(10)
    import torch

    out = {
        "clients": args.clients,
        "torch": torch.__version__,
        "torch_threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "scenarios": results,
    }
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
