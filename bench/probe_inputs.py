"""Bad-input probe of the public API: every case must answer 4xx in the one error shape, never 5xx,
and the decision log must keep writing afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/semroute_probe .venv/bin/python bench/probe_inputs.py

Runs in-process through Django's full middleware stack (test client) against the database named by
DATABASE_URL (migrated and given the demo router here; use a scratch database). Prints a table of
cases by endpoint and status, then the log check: 20 good decisions after all the poison, 20 rows.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

NUL, SURROGATE = "\u0000", "\udc00"
BAD_TEXTS = [NUL, f"a{NUL}b", SURROGATE, "\ud800", f"x{SURROGATE}y"]
HUGE = 2**63
BAD_NUMBERS = [float("nan"), float("inf"), -float("inf"), 1e12, 2**40, HUGE, -HUGE, "1", True]


def dumps(value) -> str:
    # json.dumps writes NaN/Infinity and lone surrogates as Python does, as a hostile client might.
    return json.dumps(value, allow_nan=True)


def route_cases():
    for text in BAD_TEXTS:
        yield "route query", {"query": f"refund{text}please"}
        yield "route user_id", {"query": "refund", "user_id": text}
        yield "route session_id", {"query": "refund", "session_id": text}
        yield "route metadata value", {"query": "refund", "metadata": {"k": text}}
        yield "route metadata key", {"query": "refund", "metadata": {text: "v"}}
        yield "route metadata nested", {"query": "refund", "metadata": {"a": [{"b": text}]}}
    for number in (float("nan"), float("inf")):
        yield "route metadata number", {"query": "refund", "metadata": {"n": number}}
    yield "route metadata 1 MB", {"query": "refund", "metadata": {"blob": "x" * 1_000_000}}
    yield "route metadata 17 kB", {"query": "refund", "metadata": {"blob": "x" * 17_000}}
    for query in ("", " ", "\t\n ", None, 5, [], {}, "x" * 9000):
        yield "route query shape", {"query": query}
    for explain in (0, 1, "yes", "false"):
        yield "route explain", {"query": "refund", "explain": explain}
    yield "route extra field", {"query": "refund", "bogus": 1}


def batch_cases():
    for queries in ([""], ["ok", ""], ["ok", "  "], [], ["x"] * 257, [NUL], ["ok", SURROGATE], [5]):
        yield "batch queries", {"queries": queries}


def config_cases(good: dict):
    def with_tier(**change):
        document = json.loads(json.dumps(good))
        document["tiers"][0].update(change)
        return document

    def with_policy(**change):
        document = json.loads(json.dumps(good))
        document["policy"].update(change)
        return document

    def with_example(text):
        document = json.loads(json.dumps(good))
        document["intents"][0]["examples"].append(text)
        return document

    def with_rule(**change):
        document = json.loads(json.dumps(good))
        document["rules"].append(
            {"kind": "keyword", "pattern": "zz", "priority": 1, "action": "block", **change}
        )
        return document

    for field in ("price_in_per_mtok", "price_out_per_mtok", "quality", "rank", "latency_ms"):
        for number in BAD_NUMBERS:
            yield f"config tier {field}", with_tier(**{field: number})
    for field in ("threshold", "cache_ttl_seconds", "latency_budget_ms", "ambiguity_low"):
        for number in BAD_NUMBERS:
            yield f"config policy {field}", with_policy(**{field: number})
    for number in (HUGE, -HUGE, float("nan")):
        yield "config rule priority", with_rule(priority=number)
    for text in BAD_TEXTS + ["x" * 2001, "", "   "]:
        yield "config example", with_example(text)
    for url in ("not a url", "ftp://x", "javascript:alert(1)", "http://"):
        yield "config tier base_url", with_tier(base_url=url)
    for variable in ("SECRET_KEY", "DATABASE_URL", "SEMROUTE_ADMIN_PASSWORD", "REDIS_URL", "PATH"):
        yield "config tier api_key_env", with_tier(api_key_env=variable)
    yield (
        "config rules over the cap",
        {
            **good,
            "rules": [
                {"kind": "keyword", "pattern": f"w{i}", "priority": i, "action": "block"}
                for i in range(500)
            ],
        },
    )


def main() -> int:
    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    from analytics.decision_log import decision_log
    from analytics.models import DecisionLog
    from routing.services.api_keys import api_key_create

    _, raw = api_key_create(
        name="probe",
        scopes=["route", "feedback", "decisions:read", "config:read", "config:write"],
    )
    client = Client(HTTP_X_API_KEY=raw, raise_request_exception=False)
    good = client.get("/api/v1/routers/support/config").json()

    tally: Counter[tuple[str, int]] = Counter()
    failures: list[str] = []

    def check(name: str, response) -> None:
        tally[(name, response.status_code)] += 1
        shaped = False
        try:
            body = response.json()
            shaped = set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
        except ValueError:
            pass
        if response.status_code >= 500 or response.status_code < 400 or not shaped:
            failures.append(f"{name}: {response.status_code} {response.content[:160]!r}")

    def post(url: str, payload) -> object:
        return client.post(url, dumps(payload), content_type="application/json")

    for name, payload in route_cases():
        check(name, post("/api/v1/routers/support/route", payload))
    for name, payload in batch_cases():
        check(name, post("/api/v1/routers/support/route/batch", payload))
    for name, document in config_cases(good):
        check(
            name,
            client.put(
                "/api/v1/routers/support/config", dumps(document), content_type="application/json"
            ),
        )
    for body in ("{", "[]", '{"query": "a"', "\x00", '"just a string"'):
        check(
            "route malformed JSON",
            client.post("/api/v1/routers/support/route", body, content_type="application/json"),
        )
    check(
        "config gzip bomb",
        client.put(
            "/api/v1/routers/support/config",
            gzip.compress(b"[" + b"0," * 40_000_000 + b"0]"),
            content_type="application/json",
            HTTP_CONTENT_ENCODING="gzip",
        ),
    )
    for path in ("/api/v1/routers/%00/route", "/api/v1/routers/%ED%B0%80/route"):
        check("route bad slug", post(path, {"query": "refund"}))
    decision = post("/api/v1/routers/support/route", {"query": "where is my parcel"}).json()
    for comment in BAD_TEXTS:
        check(
            "feedback comment",
            post(
                f"/api/v1/decisions/{decision['decision_id']}/feedback",
                {"rating": "down", "comment": comment},
            ),
        )
    for query in (
        "intent=a%00b",
        "since=0807-06-04T01:43:37%2B19:04",
        "until=0.5",
        "since=99999-01-01",
        "limit=-1",
        "limit=100000000000",
        "cursor=%00",
    ):
        check("decisions list", client.get(f"/api/v1/decisions?{query}"))
    check("unknown API path", client.get("/api/v1/nope"))
    check("wrong method", client.delete("/api/v1/routers/support/route"))

    # The log still writes after all of that: 20 good decisions, 20 rows.
    decision_log.flush()
    before = DecisionLog.objects.count()
    ids = [
        post("/api/v1/routers/support/route", {"query": f"where is my parcel number {i}"}).json()[
            "decision_id"
        ]
        for i in range(20)
    ]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and DecisionLog.objects.filter(id__in=ids).count() < 20:
        decision_log.flush()
        time.sleep(0.1)
    written = DecisionLog.objects.filter(id__in=ids).count()

    total = sum(tally.values())
    print(f"{'case':40} status  count")
    for (name, status), count in sorted(tally.items()):
        print(f"{name:40} {status:6} {count:6}")
    print(
        f"\n{total} bad inputs, {total - len(failures)} answered 4xx in the error shape, "
        f"{sum(c for (_, s), c in tally.items() if s >= 500)} answered 5xx"
    )
    print(
        f"decision log after the probe: {written} of 20 good decisions written "
        f"({DecisionLog.objects.count() - before} new rows)"
    )
    for failure in failures:
        print("  NOT CLEAN:", failure)
    return 1 if failures or written != 20 else 0


if __name__ == "__main__":
    raise SystemExit(main())
