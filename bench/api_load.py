"""Load benchmark of the routing API: gunicorn (2 workers) + PostgreSQL + Redis, 127.0.0.1 only.

    .venv/bin/python bench/api_load.py [--seconds 60] [--clients 8] [--crash-seconds 10]

Creates (and finally drops) the database `semroute_bench` on 127.0.0.1:5432 (user postgres, trust
auth) and uses Redis db 3 on 127.0.0.1:6379 (flushed). Loads the demo router and a CLINC150-sized
router (150 intents x 100 training examples), then runs, each with `--clients` concurrent keep-alive
clients for `--seconds` (and at most --max-requests requests):

1. uncached: distinct CLINC150 validation queries (plus phrasing variants once those run out);
2. cached: a small set of repeated queries (decision cache hits);
3. uncached on the demo router;

measures how soon a configuration change is seen by both workers, stops gunicorn gracefully and
counts logged decisions against successful responses. Finally a crash phase SIGKILLs the workers
under load and counts how many decisions of successful responses never reached the database.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import secrets
import signal
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
DATABASE = "semroute_bench"
HOST = "127.0.0.1"
VARIANTS = (
    "{}",
    "{} please",
    "hey, {}",
    "{} thanks",
    "quick question: {}",
    "{}?",
    "can you help: {}",
    "{} asap",
)

SETUP = """
import json
from routing.models import APIKey, API_KEY_SCOPES
from routing.services.api_keys import api_key_create
from routing.services.config_apply import router_config_apply
from routing.config_io import router_config_export
from routing.models import Router

demo = Router.objects.get(slug="support")
if Router.objects.filter(slug="clinc150").exists():
    demo = None
document = router_config_export(Router.objects.get(slug="support"))
train = json.load(open({clinc!r}))["train"]
intents = {{}}
for text, intent in train:
    intents.setdefault(intent, []).append(text)
document.update(
    slug="clinc150", name="CLINC150 (150 intents x 100 examples)", description="benchmark router",
    intents=[{{"name": name, "handler": name, "examples": texts}} for name, texts in sorted(intents.items())],
    rules=[], complexity_examples=document["complexity_examples"],
)
document["policy"].update(fallback_intent=None)
if demo is not None:
    result = router_config_apply(document=document, summary="benchmark router")
    assert result.applied, result.problems
key, raw = api_key_create(name="bench", scopes=API_KEY_SCOPES)
APIKey.objects.filter(pk=key.pk).update(rate_limit_per_minute=10_000_000)
print("KEY", raw)
"""

COUNT = """
import sys
from analytics.models import DecisionLog
ids = [line.strip() for line in open({path!r}) if line.strip()]
found = set()
for start in range(0, len(ids), 5000):
    found.update(str(i) for i in DecisionLog.objects.filter(pk__in=ids[start:start + 5000]).values_list("id", flat=True))
print("FOUND", len(found), "OF", len(ids), "TOTAL", DecisionLog.objects.count())
"""


def run(cmd: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed:\n{result.stdout}\n{result.stderr}")
    return result


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-d", "postgres", "-qc", sql],
        check=True,
        capture_output=True,
    )


def manage(env: dict[str, str], *args: str) -> str:
    return run([PYTHON, "manage.py", *args], env, timeout=900).stdout


class Client(threading.Thread):
    """One keep-alive connection sending queries from a shared iterator until time or requests run out."""

    def __init__(
        self, port, key, path, queries, lock, deadline: float, budget: list[int], interval=None
    ):
        super().__init__(daemon=True)
        # Paced (open loop): one request every `interval` s, timed from its slot.
        self.interval: float | None = interval
        self.port, self.key, self.path, self.queries, self.lock = port, key, path, queries, lock
        self.deadline, self.budget = deadline, budget
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.decision_ids: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        headers = {"X-API-Key": self.key, "Content-Type": "application/json"}
        next_slot = time.perf_counter()
        while time.monotonic() < self.deadline and not self.stop.is_set():
            if self.interval is not None:
                time.sleep(max(0.0, next_slot - time.perf_counter()))
            with self.lock:
                if self.budget[0] <= 0:
                    return
                self.budget[0] -= 1
                query = next(self.queries)
            body = json.dumps({"query": query})
            # Paced: timed from the scheduled slot, so a server falling behind shows in the latency.
            started = next_slot if self.interval is not None else time.perf_counter()
            if self.interval is not None:
                next_slot += self.interval
            try:
                connection.request("POST", self.path, body, headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.errors[type(exc).__name__] = self.errors.get(type(exc).__name__, 0) + 1
                connection.close()
                connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
                continue
            elapsed = time.perf_counter() - started
            if response.status != 200:
                self.errors[str(response.status)] = self.errors.get(str(response.status), 0) + 1
                continue
            self.latencies.append(elapsed)
            self.decision_ids.append(json.loads(payload)["decision_id"])
        connection.close()


def load(
    port: int,
    key: str,
    slug: str,
    queries,
    *,
    clients: int,
    seconds: float,
    max_requests: int,
    stop_after: float | None = None,
    on_stop=None,
    rate: float | None = None,
) -> dict:
    lock = threading.Lock()
    budget = [max_requests]
    deadline = time.monotonic() + seconds
    interval = clients / rate if rate else None
    workers = [
        Client(
            port, key, f"/api/v1/routers/{slug}/route", queries, lock, deadline, budget, interval
        )
        for _ in range(clients)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
        if interval:
            time.sleep(interval / clients)  # spread the clients' slots evenly
    if stop_after is not None:
        time.sleep(stop_after)
        on_stop()
    for worker in workers:
        worker.join(seconds + 30)
    elapsed = time.perf_counter() - started
    latencies = sorted(itertools.chain.from_iterable(w.latencies for w in workers))
    errors: dict[str, int] = {}
    for worker in workers:
        for name, count in worker.errors.items():
            errors[name] = errors.get(name, 0) + count

    def pct(p: float) -> float:
        return (
            round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)
            if latencies
            else float("nan")
        )

    return {
        "ok": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 1),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else float("nan"),
        "decision_ids": list(itertools.chain.from_iterable(w.decision_ids for w in workers)),
    }


def start_gunicorn(env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [GUNICORN, "-c", "semroute_site/gunicorn.conf.py", "semroute_site.wsgi"],
        cwd=ROOT,
        env={**env, "GUNICORN_BIND": f"{HOST}:{port}", "WEB_CONCURRENCY": "2"},
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    sys.exit(f"gunicorn did not become healthy; see {log_path}")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def _timed_route(port: int, key: str, slug: str, query: str, times: list[float]) -> None:
    connection = http.client.HTTPConnection(HOST, port, timeout=300)
    began = time.perf_counter()
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    connection.request(
        "POST", f"/api/v1/routers/{slug}/route", json.dumps({"query": query}), headers
    )
    assert connection.getresponse().status == 200
    times.append(time.perf_counter() - began)
    connection.close()


def warm_up(port: int, key: str, slugs: list[str], pool: list[str]) -> float:
    """Wait until both workers have compiled every router (fast answers on fresh connections)."""
    started = time.perf_counter()
    queries = itertools.cycle(pool)
    for slug in slugs:
        fast_rounds = 0
        while fast_rounds < 3:
            times: list[float] = []
            threads = [
                threading.Thread(target=_timed_route, args=(port, key, slug, next(queries), times))
                for _ in range(8)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            fast_rounds = fast_rounds + 1 if max(times) < 0.2 else 0
    return time.perf_counter() - started


def stop_gracefully(process: subprocess.Popen) -> float:
    started = time.perf_counter()
    process.send_signal(signal.SIGTERM)
    process.wait(60)
    return time.perf_counter() - started


def count_logged(env: dict[str, str], decision_ids: list[str]) -> tuple[int, int]:
    path = Path(f"/tmp/semroute-bench-ids-{os.getpid()}.txt")
    path.write_text("\n".join(decision_ids))
    output = manage(env, "shell", "-c", COUNT.format(path=str(path)))
    path.unlink()
    words = output.split()
    return int(words[words.index("FOUND") + 1]), int(words[words.index("TOTAL") + 1])


def config_change_seen_after(port: int, key: str, slug: str) -> float:
    """Seconds from a config PUT returning until 40 consecutive routing calls show the new version."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    connection.request("GET", f"/api/v1/routers/{slug}/config", headers=headers)
    document = json.loads(connection.getresponse().read())
    document["policy"]["threshold"] = round(document["policy"]["threshold"] + 0.01, 4)
    connection.request("PUT", f"/api/v1/routers/{slug}/config", json.dumps(document), headers)
    applied = json.loads(connection.getresponse().read())
    assert applied["applied"], applied
    changed_at, streak, last_stale = time.perf_counter(), 0, 0.0
    while streak < 40:
        connection.request(
            "POST",
            f"/api/v1/routers/{slug}/route",
            json.dumps({"query": "where is my order"}),
            headers,
        )
        decision = json.loads(connection.getresponse().read())
        if decision["router_version"] == applied["version"]:
            streak += 1
        else:
            streak, last_stale = 0, time.perf_counter() - changed_at
        connection.close()  # a new connection may land on the other worker
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
    return last_stale


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--demo-seconds", type=float, default=20)
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=150,
        help="offered load of the paced uncached run (req/s)",
    )
    parser.add_argument("--crash-seconds", type=float, default=10)
    parser.add_argument("--port", type=int, default=8719)
    parser.add_argument(
        "--keep-database", action="store_true", help="do not drop the database at the end"
    )
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="reuse a kept database (skips encoding 15,000 examples)",
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@{HOST}:5432/{DATABASE}",
        "REDIS_URL": f"redis://{HOST}:6379/3",
        "CELERY_BROKER_URL": "",  # eager: vectors are computed while the routers are loaded
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": HOST,
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "semroute_site.settings",
    }
    log_path = Path(f"/tmp/semroute-bench-gunicorn-{os.getpid()}.log")
    print(f"gunicorn log: {log_path}", flush=True)
    subprocess.run(["redis-cli", "-h", HOST, "-n", "3", "FLUSHDB"], check=True, capture_output=True)
    if not args.reuse_database:
        psql(f"DROP DATABASE IF EXISTS {DATABASE}")
        psql(f"CREATE DATABASE {DATABASE}")
    results: dict = {
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    }
    try:
        setup_started = time.perf_counter()
        manage(env, "migrate", "--noinput")
        manage(env, "load_demo")
        key = manage(env, "shell", "-c", SETUP.format(clinc=str(CLINC))).split("KEY", 1)[1].strip()
        print(
            f"setup (migrate, demo, CLINC150 router with 15,000 example vectors): {time.perf_counter() - setup_started:.0f} s",
            flush=True,
        )

        clinc = json.loads(CLINC.read_text())
        distinct = [text for text, _ in clinc["val"] + clinc["oos_val"] + clinc["oos_train"]]
        uncached = (variant.format(text) for variant in VARIANTS for text in distinct)
        warm_pool = [text for text, _ in clinc["train"][::150]]
        cached_pool = [text for text, _ in clinc["train"][1::300]]  # 50 queries, repeated

        process = start_gunicorn(env, args.port, log_path)
        try:
            results["warm-up: both workers compile both routers (s)"] = round(
                warm_up(args.port, key, ["clinc150", "support"], warm_pool), 1
            )
            print("warm-up", results["warm-up: both workers compile both routers (s)"], flush=True)
            load(
                args.port,
                key,
                "clinc150",
                itertools.cycle(cached_pool),
                clients=4,
                seconds=10,
                max_requests=200,
            )
            sent_ids: list[str] = []
            paced = f"uncached, paced at {args.paced_rate:g} req/s (CLINC150 router)"
            phases = (
                # one client, one request at a time: the service time without queueing
                (
                    "uncached, 1 client (CLINC150 router)",
                    "clinc150",
                    uncached,
                    args.demo_seconds,
                    None,
                    1,
                ),
                ("uncached, saturated (CLINC150 router)", "clinc150", uncached, args.seconds, None),
                (paced, "clinc150", uncached, args.seconds, args.paced_rate),
                (
                    "cached, saturated (CLINC150 router)",
                    "clinc150",
                    itertools.cycle(cached_pool),
                    args.seconds,
                    None,
                ),
                (
                    "uncached, saturated (demo router)",
                    "support",
                    (f"{t} (demo)" for t in distinct),
                    args.demo_seconds,
                    None,
                ),
            )
            for name, slug, queries, seconds, rate, *clients in phases:
                outcome = load(
                    args.port,
                    key,
                    slug,
                    queries,
                    clients=clients[0] if clients else args.clients,
                    seconds=seconds,
                    max_requests=args.max_requests,
                    rate=rate,
                )
                sent_ids += outcome.pop("decision_ids")
                results[name] = outcome
                print(name, outcome, flush=True)
            results["config change seen by every worker after (s)"] = round(
                config_change_seen_after(args.port, key, "support"), 3
            )
            print(
                "hot reload:", results["config change seen by every worker after (s)"], flush=True
            )
        finally:
            results["graceful stop (s)"] = round(stop_gracefully(process), 2)
        found, total = count_logged(env, sent_ids)
        results["decision log after graceful stop"] = {
            "successful responses": len(sent_ids),
            "rows found": found,
            "missing": len(sent_ids) - found,
        }
        print("decision log:", results["decision log after graceful stop"], flush=True)

        if args.crash_seconds > 0:
            process = start_gunicorn(env, args.port, log_path)
            warm_up(args.port, key, ["clinc150"], warm_pool)
            cached = itertools.cycle(cached_pool)

            def kill_workers() -> None:
                for pid in worker_pids(process.pid):
                    os.kill(pid, signal.SIGKILL)

            outcome = load(
                args.port,
                key,
                "clinc150",
                cached,
                clients=args.clients,
                seconds=args.crash_seconds,
                max_requests=args.max_requests,
                stop_after=args.crash_seconds / 2,
                on_stop=kill_workers,
            )
            stop_gracefully(process)
            ids = outcome.pop("decision_ids")
            found, _ = count_logged(env, ids)
            results["crash (SIGKILL both workers mid-load)"] = {
                "successful responses": len(ids),
                "rows found": found,
                "lost": len(ids) - found,
                "req_per_s": outcome["req_per_s"],
                "errors": outcome["errors"],
            }
            print("crash:", results["crash (SIGKILL both workers mid-load)"], flush=True)
    finally:
        if not args.keep_database:
            psql(f"DROP DATABASE IF EXISTS {DATABASE}")
        subprocess.run(
            ["redis-cli", "-h", HOST, "-n", "3", "FLUSHDB"], check=False, capture_output=True
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
