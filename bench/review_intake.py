"""What the review queue's intake costs the process that writes the decision log.

    DATABASE_URL=postgres://.../semroute_intake .venv/bin/python bench/review_intake.py [--root DIR]

Under eager Celery (the embedded default, and bench/api_wrk.sh) the intake runs in the web
worker's log-flusher thread, so every millisecond here is taken from routing. The database is
migrated, the demo router loaded and its decision log and review queue emptied first. Then, per
phase, CLINC150 queries (mostly out of scope for the support demo: the worst case, ~70% of them
queue) are decided through the real path, recorded, and flushed in batches of --batch; the time
of the flushes is reported per decision:
  write only     the log's written hook removed: the baseline
  intake, new    the hook on, queries new to the queue (each opens or joins an item)
  intake, again  the same queries again (each joins the item it opened)
`--root DIR` imports semroute from another checkout (a baseline commit) to compare in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
parser.add_argument("--queries", type=int, default=2000)
parser.add_argument("--batch", type=int, default=250)
parser.add_argument("--repeat", type=int, default=3, help="runs per phase; the median is shown")
args = parser.parse_args()
sys.path.insert(0, args.root)
os.chdir(args.root)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from analytics.decision_log import decision_log  # noqa: E402
from analytics.models import DecisionLog  # noqa: E402
from analytics.review.models import ReviewItem  # noqa: E402
from analytics.services import decision_record  # noqa: E402
from routing.decide import decide_batch  # noqa: E402
from routing.models import Router  # noqa: E402

CLINC = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "clinc150" / "clinc150_train_val.json"
)


def flushed_ms_per_row(router: Router, queries: list[str]) -> float:
    """Decide and record `queries`; the flush time per row, batch by batch."""
    spent = 0.0
    for start in range(0, len(queries), args.batch):
        batch = queries[start : start + args.batch]
        for query, decision in zip(batch, decide_batch(router=router, queries=batch), strict=True):
            decision_record(router=router, query=query, decision=decision, principal=None)
        began = time.perf_counter()
        decision_log.flush()
        spent += time.perf_counter() - began
    return spent * 1000 / len(queries)


def main() -> None:
    decision_log.stop()  # flush by hand only: no background thread timing itself in
    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    router = Router.objects.get(slug="support")
    splits = json.loads(CLINC.read_text())
    texts = list(dict.fromkeys(text for split in ("val", "train") for text, _ in splits[split]))
    need = args.queries * (2 * args.repeat + 1)
    if len(texts) < need:
        raise SystemExit(
            f"--queries {args.queries} needs {need} distinct queries, have {len(texts)}"
        )
    hooks = list(decision_log.written_hooks)
    fresh = iter(range(0, need, args.queries))
    results: dict[str, list[float]] = {"write only": [], "intake, new": [], "intake, again": []}
    flushed_ms_per_row(router, texts[: args.queries])  # warm: encoder, snapshot, connections
    next(fresh)
    for _ in range(args.repeat):
        ReviewItem.objects.all().delete()
        DecisionLog.objects.all().delete()
        decision_log.written_hooks[:] = []
        start = next(fresh)
        results["write only"].append(
            flushed_ms_per_row(router, texts[start : start + args.queries])
        )
        decision_log.written_hooks[:] = hooks
        start = next(fresh)
        queries = texts[start : start + args.queries]
        results["intake, new"].append(flushed_ms_per_row(router, queries))
        results["intake, again"].append(flushed_ms_per_row(router, queries))
    print(f"root {args.root}: {args.queries} queries x {args.repeat}, batches of {args.batch}")
    print(f"review items open at the end: {ReviewItem.objects.count()}")
    base = statistics.median(results["write only"])
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:14} {median:6.3f} ms/decision  (x{median / base:.1f} the write)")


main()
