"""Gateway overhead: the same local OpenAI-protocol upstream called directly and through semroute.

    .venv/bin/python bench/gateway_overhead.py [--requests 300] [--seconds 15] [--clients 8]
        [--port 8791] [--upstream-port 8792] [--database semroute_gwbench] [--upstream-http10]

127.0.0.1 only. Starts the wire server (tests/wire/openai_server.py, answering at once, keeping
connections alive over HTTP/1.1 like a production server; `--upstream-http10`: closing each one)
in its own process on `--upstream-port`, creates (and finally drops) the database `--database`
(PostgreSQL, user postgres; BENCH_PORT, BENCH_UPSTREAM_PORT and BENCH_DATABASE set the defaults,
so several engineers can run it at once), uses the Redis named by BENCH_REDIS_URL (flushed;
unset: each worker's local memory for the decision cache, circuits and counters), loads the demo
router with its three tiers on that upstream and no LLM stage, and serves it with gunicorn
(2 workers, semroute_site/gunicorn.conf.py) on `--port`.
Then, one client at a time (keep-alive http.client, the same for both sides):

1. non-stream latency p50/p95: direct, gateway with the decision cache warm (one repeated query),
   gateway cold (distinct CLINC150 validation queries: every one a new decision);
2. stream time-to-first-token p50/p95 (first content chunk), the same three ways;
3. the engine's own decision time for the cold queries (DecisionLog.latency_ms, median), to set
   the cold overhead against;
4. throughput: `--clients` concurrent clients for `--seconds`, non-stream, warm cache.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLINC = ROOT.parent / "shared" / "data" / "clinc150" / "clinc150_train_val.json"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
HOST = "127.0.0.1"
# Set by main() from the options before anything runs.
DATABASE, GATEWAY_PORT, UPSTREAM_PORT = "semroute_gwbench", 8791, 8792
ENV: dict[str, str] = {}


def configure(database: str, gateway_port: int, upstream_port: int) -> None:
    global DATABASE, GATEWAY_PORT, UPSTREAM_PORT
    DATABASE, GATEWAY_PORT, UPSTREAM_PORT = database, gateway_port, upstream_port
    ENV.clear()
    ENV.update(
        {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
            # unset: each worker's local memory
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", ""),
            "DJANGO_SETTINGS_MODULE": "semroute_site.settings",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_BIND": f"{HOST}:{GATEWAY_PORT}",
        }
    )
    ENV.pop("CELERY_BROKER_URL", None)


UPSTREAM = """
import time
from http.server import ThreadingHTTPServer
from tests.wire.openai_server import OpenAIWireServer, ChatReply
server = OpenAIWireServer()
server._httpd.server_close()
handler = server._handler_class()
if {keepalive}:  # HTTP/1.1 keep-alive like every production server (the test server's is 1.0)
    handler.protocol_version = "HTTP/1.1"
    handler.disable_nagle_algorithm = True  # headers and body are two writes
server._httpd = ThreadingHTTPServer(("127.0.0.1", {port}), handler)
server._httpd.daemon_threads = True
server.default_chat_reply = ChatReply(content="Your parcel arrives tomorrow, tracking is on the way.")
server.requests = type("NoLog", (list,), {{"append": lambda self, item: None}})()
server._httpd.serve_forever()
"""

SETUP = """
from routing.models import Router
from routing.services.api_keys import api_key_create
from routing.services.config_apply import router_config_apply
from routing.config_io import router_config_export
router = Router.objects.get(slug="support")
document = router_config_export(router)
for tier in document["tiers"]:
    tier.update(provider="openai-compatible", base_url="http://127.0.0.1:{port}/v1",
                api_key_env="", model=tier["name"] + "-local", max_retries=0)
document["policy"].update(ambiguity_low=0.0, ambiguity_high=0.0)
assert router_config_apply(document=document, router=router, summary="bench").applied
key, raw = api_key_create(name="gateway bench", scopes=["gateway"])
key.rate_limit_per_minute = 10**8
key.save()
print(raw)
"""


def run(*args: str, **kwargs) -> str:
    return subprocess.run(
        args, check=True, capture_output=True, text=True, env=ENV, cwd=ROOT, **kwargs
    ).stdout


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Caller:
    """One keep-alive connection; `post` returns (ms to first content byte, ms to the end)."""

    def __init__(self, port: int, path: str, headers: dict):
        self.port, self.path, self.headers = port, path, headers
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)

    def post(self, body: dict) -> tuple[float, float]:
        payload = json.dumps(body).encode()
        started = time.perf_counter()
        try:
            self.connection.request("POST", self.path, payload, self.headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
            self.connection.request("POST", self.path, payload, self.headers)
            response = self.connection.getresponse()
        first = None
        if body.get("stream"):
            while line := response.readline():
                if first is None and b'"content": "' in line and b'"content": ""' not in line:
                    first = (time.perf_counter() - started) * 1000
        else:
            response.read()
        total = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} from port {self.port}")
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        return (first if first is not None else total), total


def series(caller: Caller, bodies: list[dict]) -> tuple[list[float], list[float]]:
    firsts, totals = [], []
    for body in bodies:
        first, total = caller.post(body)
        firsts.append(first)
        totals.append(total)
    return firsts, totals


def throughput(make_caller, body: dict, clients: int, seconds: float) -> tuple[float, int]:
    done, errors, stop = [0], [0], time.monotonic() + seconds
    lock = threading.Lock()

    def client():
        caller = make_caller()
        while time.monotonic() < stop:
            try:
                caller.post(body)
            except Exception:  # counted, the run goes on
                with lock:
                    errors[0] += 1
                continue
            with lock:
                done[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / (time.monotonic() - started), errors[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 8791)))
    parser.add_argument(
        "--upstream-port", type=int, default=int(os.environ.get("BENCH_UPSTREAM_PORT", 8792))
    )
    parser.add_argument(
        "--upstream-http10",
        action="store_true",
        help="the upstream closes each connection (HTTP/1.0), as this bench did before 2026-12-01",
    )
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE", "semroute_gwbench"))
    options = parser.parse_args()
    configure(options.database, options.port, options.upstream_port)

    psql = ["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c"]
    run(*psql, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    run(*psql, f"CREATE DATABASE {DATABASE}")
    if ENV["REDIS_URL"]:
        run("redis-cli", "-u", ENV["REDIS_URL"], "flushdb")
    run(PYTHON, "manage.py", "migrate", "-v0")
    run(PYTHON, "manage.py", "load_demo")
    key = (
        run(PYTHON, "manage.py", "shell", "-c", SETUP.format(port=UPSTREAM_PORT))
        .strip()
        .splitlines()[-1]
    )
    upstream = subprocess.Popen(
        [PYTHON, "-c", UPSTREAM.format(port=UPSTREAM_PORT, keepalive=not options.upstream_http10)],
        cwd=ROOT,
        env=ENV,
    )
    gunicorn = subprocess.Popen(
        [GUNICORN, "-c", "semroute_site/gunicorn.conf.py", "semroute_site.wsgi"],
        cwd=ROOT,
        env=ENV,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(6)
        queries = list(dict.fromkeys(text for text, _ in json.loads(CLINC.read_text())["val"]))[
            : options.requests * 2 + 40
        ]
        gateway_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        direct_headers = {"Content-Type": "application/json", "Authorization": "Bearer local"}

        def direct():
            return Caller(UPSTREAM_PORT, "/v1/chat/completions", direct_headers)

        def gateway():
            return Caller(GATEWAY_PORT, "/api/v1/chat/completions", gateway_headers)

        def body(query: str, model: str, stream: bool = False) -> dict:
            return {
                "model": model,
                "stream": stream,
                "messages": [{"role": "user", "content": query}],
            }

        warm_query = "where is my parcel"
        n = options.requests
        for _ in range(20):  # both workers load their encoder and snapshot; warm the cache
            gateway().post(body(warm_query, "support"))
            direct().post(body(warm_query, "gpt-4o-mini-local"))
        cold, cold_stream = queries[:n], queries[n : 2 * n]
        results = {
            "direct": series(direct(), [body(warm_query, "gpt-4o-mini-local")] * n),
            "gateway warm": series(gateway(), [body(warm_query, "support")] * n),
            "gateway cold": series(gateway(), [body(q, "support") for q in cold]),
            "direct stream": series(direct(), [body(warm_query, "gpt-4o-mini-local", True)] * n),
            "gateway warm stream": series(gateway(), [body(warm_query, "support", True)] * n),
            "gateway cold stream": series(
                gateway(), [body(q, "support", True) for q in cold_stream]
            ),
        }
        direct_rps, direct_errors = throughput(
            direct, body(warm_query, "gpt-4o-mini-local"), options.clients, options.seconds
        )
        gateway_rps, gateway_errors = throughput(
            gateway, body(warm_query, "support"), options.clients, options.seconds
        )
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=60)
        upstream.terminate()
        upstream.wait(timeout=10)
    engine_ms = (
        run(
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "import statistics; from analytics.models import DecisionLog as D; "
            "v=list(D.objects.filter(channel='gateway', cached=False).values_list('latency_ms', flat=True)); "
            "print(statistics.median(v), len(v))",
        )
        .strip()
        .splitlines()[-1]
        .split()
    )
    run(*psql, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"{'series':<22} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}  (stream: time to first content chunk)"
    )
    for name, (firsts, totals) in results.items():
        values = firsts if "stream" in name else totals
        print(
            f"{name:<22} {len(values):>5} {statistics.median(values):>8.2f} {percentile(values, 0.95):>8.2f}"
        )
    base = statistics.median(results["direct"][1])
    base_ttft = statistics.median(results["direct stream"][0])
    print(
        f"overhead p50, non-stream: warm {statistics.median(results['gateway warm'][1]) - base:.2f} ms, "
        f"cold {statistics.median(results['gateway cold'][1]) - base:.2f} ms"
    )
    print(
        f"overhead p50, stream TTFT: warm {statistics.median(results['gateway warm stream'][0]) - base_ttft:.2f} ms, "
        f"cold {statistics.median(results['gateway cold stream'][0]) - base_ttft:.2f} ms"
    )
    print(
        f"engine decision time of the cold gateway decisions: median {float(engine_ms[0]):.2f} ms (n={engine_ms[1]})"
    )
    print(
        f"throughput, {options.clients} clients, {options.seconds:g} s, non-stream warm: "
        f"direct {direct_rps:.0f} req/s ({direct_errors} errors), gateway {gateway_rps:.0f} req/s "
        f"({gateway_errors} errors) on 2 gunicorn workers"
    )


if __name__ == "__main__":
    sys.exit(main())
