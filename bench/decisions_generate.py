"""Bulk-generate decisions (and their feedback) for benchmarks of the pages that read the log.

    DATABASE_URL=postgres://... .venv/bin/python bench/decisions_generate.py --rows 1000000 --days 30
    DATABASE_URL=postgres://... .venv/bin/python bench/decisions_generate.py --remove

The rows look like the demo router's traffic: its example texts as queries (some with a few
words added so they are not all identical), about 8% out of scope, the stages, complexities and
tiers the demo's policy produces, lognormal latencies, costs from the tiers' prices, 30% of rows
answered through the gateway (attempts, 5% escalated, actual cost, provider latency, time to
first token), a few languages, 2% re-asked, and 3% thumbs-down / 5% thumbs-up feedback. Rows
are spread evenly over the last `--days` days. This is NOT the real decision path (for that,
see `manage.py demo_traffic`): it exists to fill a database with a million rows in minutes.

Every generated row carries `metadata.generated = "bench"`; `--remove` deletes them and their
feedback. PostgreSQL is written with COPY; any other database with bulk_create (slow).
Columns the generator does not know (added by later migrations) get the field's default.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from analytics.models import DecisionLog, Feedback  # noqa: E402
from routing.models import Router  # noqa: E402

MARK = "bench"
CHUNK = 20_000
OUT_OF_SCOPE = [
    "what is the weather in lisbon tomorrow",
    "write me a poem about the sea",
    "who won the football game last night",
    "how tall is mount everest",
    "recommend a good pizza place",
    "translate good morning into japanese",
]
TAILS = ["", "", "", "", " please", "?", " asap", " thanks", ", quick question", " again"]
LANGUAGES = (["en"] * 90) + ["es"] * 4 + ["de"] * 3 + ["fr"] * 2 + ["pt"]
STAGES = ["embedding"] * 82 + ["rule"] * 5 + ["llm"] * 6 + ["cache"] * 7
COMPLEXITIES = ["simple"] * 55 + ["moderate"] * 30 + ["complex"] * 15
TIER_BY_COMPLEXITY = {"simple": 0, "moderate": 1, "complex": 2}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--router", default="support", help="router slug (the demo by default)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--experiment", type=int, default=None, help="tag rows with this experiment id"
    )
    parser.add_argument("--arms", default="a,b,control", help="arm names with --experiment")
    parser.add_argument("--remove", action="store_true", help="delete generated rows and stop")
    return parser.parse_args()


def generated_remove() -> tuple[int, int]:
    decisions = DecisionLog.objects.filter(metadata__generated=MARK)
    with transaction.atomic():
        feedback, _ = Feedback.objects.filter(
            decision_id__in=decisions.values("id"), comment=f"generated:{MARK}"
        ).delete()
        removed, _ = decisions.delete()
    return removed, feedback


def router_for(slug: str) -> Router:
    router = Router.objects.filter(slug=slug).first()
    if router is None and slug == "support":
        call_command("load_demo", verbosity=0)
        router = Router.objects.get(slug=slug)
    if router is None:
        raise SystemExit(f"No router {slug!r}.")
    return router


def vocabulary(router: Router) -> tuple[list[str], list[str | None], list[str | None]]:
    """(queries, their intent, their handler): the router's examples plus out-of-scope ones."""
    texts, intents, handlers = [], [], []
    for intent in router.intents.filter(enabled=True).prefetch_related("examples"):
        for example in intent.examples.all():
            texts.append(example.text)
            intents.append(intent.name)
            handlers.append(intent.handler or None)
    if not texts:
        raise SystemExit(f"Router {router.slug!r} has no examples to draw queries from.")
    for text in OUT_OF_SCOPE:
        texts.append(text)
        intents.append(None)
        handlers.append(None)
    return texts, intents, handlers


def _default(field):
    value = field.get_default()
    if field.get_internal_type() == "JSONField":
        return json.dumps(value)
    return value


class Batch:
    """One chunk of generated rows, column by column (numpy draws, then plain lists)."""

    def __init__(self, rng, router, tiers, vocab, start, span_seconds, n, experiment, arms):
        texts, intents, handlers = vocab
        pick = rng.integers(0, len(texts), n)
        # ~8% out of scope: the last len(OUT_OF_SCOPE) entries of the vocabulary
        oos = rng.random(n) < 0.08
        pick[oos] = len(texts) - 1 - rng.integers(0, len(OUT_OF_SCOPE), int(oos.sum()))
        self.n = n
        self.ids = [uuid.uuid4() for _ in range(n)]
        tails = rng.integers(0, len(TAILS), n)
        self.query = [texts[i] + TAILS[t] for i, t in zip(pick, tails, strict=True)]
        self.intent = [intents[i] for i in pick]
        self.handler = [handlers[i] for i in pick]
        self.stage = [STAGES[i] for i in rng.integers(0, len(STAGES), n)]
        self.complexity = [COMPLEXITIES[i] for i in rng.integers(0, len(COMPLEXITIES), n)]
        self.confidence = np.clip(rng.normal(0.78, 0.12, n), 0.05, 0.999)
        self.confidence[oos] = np.clip(rng.normal(0.35, 0.1, int(oos.sum())), 0.01, 0.6)
        self.tier_index = np.array([TIER_BY_COMPLEXITY[c] for c in self.complexity])
        self.language = [LANGUAGES[i] for i in rng.integers(0, len(LANGUAGES), n)]
        self.latency_ms = rng.lognormal(np.log(2.5), 0.5, n)
        self.cached = np.array([s == "cache" for s in self.stage])
        self.latency_ms[self.cached] = rng.lognormal(np.log(0.3), 0.3, int(self.cached.sum()))
        self.prompt_tokens = (np.array([len(q) for q in self.query]) // 4 + 40).astype(int)
        self.completion_tokens = rng.integers(40, 600, n)
        prices_in = np.array([float(t.price_in_per_mtok) for t in tiers])
        prices_out = np.array([float(t.price_out_per_mtok) for t in tiers])
        self.estimated = (
            self.prompt_tokens * prices_in[self.tier_index]
            + self.completion_tokens * prices_out[self.tier_index]
        ) / 1e6
        self.baseline = (
            self.prompt_tokens * prices_in[-1] + self.completion_tokens * prices_out[-1]
        ) / 1e6
        self.gateway = rng.random(n) < 0.30
        self.escalated = self.gateway & (rng.random(n) < 0.05) & (self.tier_index < len(tiers) - 1)
        self.reasked = rng.random(n) < 0.02
        offsets = np.sort(rng.random(n)) * span_seconds
        self.created = [start + timedelta(seconds=float(o)) for o in offsets]
        self.session = [f"s{i}" for i in rng.integers(0, max(1, n // 5), n)]
        self.user = [f"u{i}" for i in rng.integers(0, max(1, n // 20), n)]
        self.arm = [""] * n
        if experiment is not None:
            self.arm = [arms[i] for i in rng.integers(0, len(arms), n)]
        self.provider_latency = rng.lognormal(np.log(900), 0.6, n)
        self.ttft = self.provider_latency * rng.uniform(0.1, 0.4, n)
        self.feedback = rng.random(n)
        self.router, self.tiers, self.experiment = router, tiers, experiment

    def attempts(self, i: int, tier_index: int) -> list[dict]:
        tier = self.tiers[tier_index]
        cost = float(self.estimated[i])
        done = {
            "tier": tier.name,
            "model": tier.model,
            "provider": tier.provider,
            "outcome": "ok",
            "latency_ms": round(float(self.provider_latency[i]), 1),
            "ttft_ms": round(float(self.ttft[i]), 1),
            "prompt_tokens": int(self.prompt_tokens[i]),
            "completion_tokens": int(self.completion_tokens[i]),
            "cost_usd": cost,
            "error": "",
        }
        if not self.escalated[i]:
            return [done]
        failed = {**done, "outcome": "truncated", "error": "finish_reason length"}
        upper = self.tiers[tier_index + 1]
        return [failed, {**done, "tier": upper.name, "model": upper.model}]

    def row(self, i: int) -> dict:
        tier_index = int(self.tier_index[i])
        tier = self.tiers[tier_index]
        gateway = bool(self.gateway[i])
        attempts = self.attempts(i, tier_index) if gateway else []
        answer_tier = attempts[-1]["tier"] if attempts else None
        return {
            "id": self.ids[i],
            "router_id": self.router.pk,
            "router_version": self.router.version,
            "experiment_id": self.experiment,
            "experiment_arm": self.arm[i],
            "query": self.query[i],
            "user_ref": self.user[i],
            "session_ref": self.session[i],
            "metadata": json.dumps({"generated": MARK}),
            "intent": self.intent[i],
            "handler": self.handler[i],
            "confidence": float(self.confidence[i]),
            "language": self.language[i],
            "stage": self.stage[i],
            "complexity": self.complexity[i],
            "tier": tier.name,
            "model": tier.model,
            "provider": tier.provider,
            "estimated_cost_usd": float(self.estimated[i]),
            "baseline_cost_usd": float(self.baseline[i]),
            "latency_ms": float(self.latency_ms[i]),
            "cached": bool(self.cached[i]),
            "trace": json.dumps({}),
            "channel": "gateway" if gateway else "api",
            "attempts": json.dumps(attempts),
            "answer_tier": answer_tier,
            "escalations": len(attempts) - 1 if attempts else 0,
            "actual_cost_usd": float(self.estimated[i]) * len(attempts) if gateway else None,
            "provider_latency_ms": float(self.provider_latency[i]) if gateway else None,
            "ttft_ms": float(self.ttft[i]) if gateway else None,
            "prompt_tokens": int(self.prompt_tokens[i]) if gateway else None,
            "completion_tokens": int(self.completion_tokens[i]) if gateway else None,
            "reasked": bool(self.reasked[i]),
            "created_at": self.created[i],
        }

    def feedback_rows(self) -> list[dict]:
        rows = []
        for i in range(self.n):
            rating = (
                "down" if self.feedback[i] < 0.03 else "up" if self.feedback[i] < 0.08 else None
            )
            if rating:
                rows.append(
                    {
                        "decision_id": self.ids[i],
                        "rating": rating,
                        "comment": f"generated:{MARK}",
                        "expected_intent": "",
                        "created_at": self.created[i] + timedelta(seconds=30),
                        "updated_at": self.created[i] + timedelta(seconds=30),
                    }
                )
        return rows


def rows_write(model, rows: list[dict]) -> None:
    fields = [
        f
        for f in model._meta.concrete_fields
        if f.get_internal_type() not in ("AutoField", "BigAutoField")
    ]
    columns = [f.column for f in fields]
    defaults = {f.column: _default(f) for f in fields}
    if connection.vendor == "postgresql":
        names = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row.get(c, defaults[c]) for c in columns])
        return
    objects = []
    for row in rows:
        values = {f.attname: row.get(f.column, defaults[f.column]) for f in fields}
        for f in fields:
            if f.get_internal_type() == "JSONField" and isinstance(values[f.attname], str):
                values[f.attname] = json.loads(values[f.attname])
        objects.append(model(**values))
    model.objects.bulk_create(objects, batch_size=2_000)


def generate(args) -> None:
    router = router_for(args.router)
    tiers = list(router.tiers.filter(enabled=True).order_by("rank"))
    if not tiers:
        raise SystemExit(f"Router {router.slug!r} has no enabled tiers.")
    vocab = vocabulary(router)
    rng = np.random.default_rng(args.seed)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    span = args.days * 86_400
    start = timezone.now() - timedelta(seconds=span)
    started = time.perf_counter()
    written = feedback = 0
    for offset in range(0, args.rows, CHUNK):
        n = min(CHUNK, args.rows - offset)
        chunk_start = start + timedelta(seconds=span * offset / args.rows)
        batch = Batch(
            rng, router, tiers, vocab, chunk_start, span * n / args.rows, n, args.experiment, arms
        )
        with transaction.atomic():
            rows_write(DecisionLog, [batch.row(i) for i in range(n)])
            extra = batch.feedback_rows()
            rows_write(Feedback, extra)
        written += n
        feedback += len(extra)
        rate = written / (time.perf_counter() - started)
        print(f"\r{written:,}/{args.rows:,} decisions ({rate:,.0f}/s)", end="", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {DecisionLog._meta.db_table}")
            cursor.execute(f"ANALYZE {Feedback._meta.db_table}")
    elapsed = time.perf_counter() - started
    print(
        f"\n{written:,} decisions and {feedback:,} feedback rows for router {router.slug!r} "
        f"over {args.days} days in {elapsed:.1f} s ({connection.vendor})"
    )


def main() -> None:
    args = arguments()
    if args.remove:
        removed, feedback = generated_remove()
        print(f"removed {removed:,} rows ({feedback:,} feedback)")
        return
    if args.rows <= 0 or args.days <= 0:
        raise SystemExit("--rows and --days must be positive.")
    generate(args)


if __name__ == "__main__":
    main()
