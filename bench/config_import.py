"""Import a 100,000-example configuration document through PUT /api/v1/routers/<slug>/config.

Runs the real endpoint in process (Django's test client: body reading, JSON, the schema, the
cross-reference check, the apply, the version record) against DATABASE_URL (default: a scratch
SQLite file in /tmp). Vectors are left to the Celery task the import enqueues (not run here: at
~2.5 ms per example they are a separate, background cost). Prints wall time and peak RSS per phase:
create the router, re-import the same document (no change), re-import with one example added.

    python bench/config_import.py [--examples 100000] [--intents 200] [--chars 200] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/semroute-bench-config.sqlite3")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

import routing.services.config_apply as config_apply  # noqa: E402
from routing.models import Router  # noqa: E402
from routing.services.api_keys import api_key_create  # noqa: E402

SLUG = "bench-config"
WORDS = (
    "order refund invoice account password delivery parcel charge card subscription plan cancel "
    "upgrade price discount warranty broken screen battery login email address payment twice "
    "yesterday please help urgent again still waiting week month customer support manager"
).split()


def document(examples: int, intents: int, chars: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    per_intent = examples // intents
    intent_docs = []
    for i in range(intents):
        texts = []
        for j in range(per_intent):
            words = [f"#{i}-{j}"]
            while sum(len(w) + 1 for w in words) < chars:
                words.append(rng.choice(WORDS))
            texts.append(" ".join(words))
        intent_docs.append(
            {"name": f"intent_{i:04d}", "handler": f"handler.{i}", "examples": texts}
        )
    return {
        "format": "semroute.router/1",
        "slug": SLUG,
        "name": "Config import benchmark",
        "tiers": [
            {
                "name": "cheap",
                "rank": 1,
                "provider": "openai",
                "model": "gpt-4o-mini",
                "price_in_per_mtok": 0.15,
                "price_out_per_mtok": 0.6,
                "quality": 0.7,
            }
        ],
        "intents": intent_docs,
    }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--intents", type=int, default=200)
    parser.add_argument("--chars", type=int, default=200, help="length of each example")
    parser.add_argument("--gzip", action="store_true", help="send the body gzip-compressed")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    Router.objects.filter(slug=SLUG).delete()
    _, raw_key = api_key_create(name="bench", scopes=["config:read", "config:write"])
    # The vector task is a separate background job; the benchmark measures the import itself.
    config_apply.example_vectors_enqueue = lambda router_id: None
    client = Client()

    def put(doc: dict, label: str) -> None:
        started_rss = peak_rss_mb()
        body = json.dumps(doc).encode()
        headers = {"X-API-Key": raw_key}
        if args.gzip:
            body = gzip.compress(body, compresslevel=6)
            headers["Content-Encoding"] = "gzip"
        started = time.perf_counter()
        response = client.put(
            f"/api/v1/routers/{SLUG}/config", body, content_type="application/json", headers=headers
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{label}: {response.status_code} {response.content[:500]!r}")
        result = response.json()
        print(
            f"{label:<28} {elapsed:7.2f} s  body {len(body) / 1e6:6.1f} MB  "
            f"peak RSS {peak_rss_mb():7.0f} MB (was {started_rss:.0f})  "
            f"applied={result['applied']} version={result['version']} changes={len(result['changes'])}"
        )

    doc = document(args.examples, args.intents, args.chars)
    total = sum(len(intent["examples"]) for intent in doc["intents"])
    database = django.db.connection.vendor
    print(
        f"{total:,} examples in {args.intents} intents, {args.chars} chars each, {database}, "
        f"gzip={args.gzip}; RSS before: {peak_rss_mb():.0f} MB"
    )
    put(doc, "create (new router)")
    put(doc, "same document again")
    doc["intents"][0]["examples"].append("one more example, added by the benchmark")
    put(doc, "one example added")


if __name__ == "__main__":
    main()
