"""RouteLLM's MMLU and GSM8K correctness through the outcome feature: when is Mixtral enough?

Run: .venv/bin/python bench/outcome_routing.py [--method logistic|knn] [--json FILE]

Data: ../shared/data/routellm/mmlu_gsm8k_dev.csv (Mixtral-8x7B and GPT-4-1106 correct or not on
7,640 questions). Per benchmark, a hash of the prompt splits it in halves: the training half is
imported through the outcome import (RouteLLM's CSV shape, the console's parser and service) and
fitted by the quality training (the Celery task's code, eager; 30% of that half held out for
calibration and the threshold); the scoring half is routed with `routing.decide.decide_batch`,
so what is measured is what users get. One router per benchmark, two tiers: `mixtral` ($0.24
per million tokens in and out) and `gpt-4` ($24.7), one intent.

Compared on the scoring half, per benchmark:
- the quality predictor: the share of calls to GPT-4 needed to reach 95% of GPT-4's accuracy
  (sweeping a threshold over the probabilities the decisions' traces carry), its AUC for "Mixtral
  is as good as GPT-4", and the decisions at quality_target 0.95 (threshold chosen on the training
  half's held-out part: what the product does unattended);
- today's complexity classifier: the training half as complexity examples ("simple" when Mixtral
  was as good as GPT-4, else "complex"; prompts over the 2,000-character example limit left out),
  policy floors simple -> mixtral, moderate/complex -> gpt-4; its decisions, and the same sweep
  over its centroid probability of "simple" (the engine's own ComplexityClassifier);
- random routing: the share s with (1-s) acc_mixtral + s acc_gpt4 = 0.95 acc_gpt4, AUC 0.5.
Cost: each decision's estimated_cost_usd (prompt tokens by the local tokenizer plus the policy's
expected output tokens: 5 for MMLU's letter, 250 for GSM8K's worked answer) against the
baseline of everything on GPT-4. A throwaway SQLite database in the bench cache.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "routellm" / "mmlu_gsm8k_dev.csv"
CACHE_DIR = Path(os.environ.get("SEMROUTE_BENCH_CACHE", "/tmp/semroute-bench"))
DATABASE = CACHE_DIR / "outcome_routing.sqlite3"
TARGET = 0.95
OUTPUT_TOKENS = {"mmlu": 5, "gsm8k": 250}
CHEAP, STRONG = "mixtral", "gpt-4"


def django_setup() -> None:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{DATABASE}"
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)  # eager tasks, local cache: nothing shared is touched
    os.environ.setdefault("SEMROUTE_ENCODER_THREADS", "2")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "semroute_site.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def scoring_half(prompt: str) -> bool:
    digest = hashlib.blake2b(f"routellm-bench:{prompt}".encode(), digest_size=8).digest()
    return digest[0] % 2 == 1


def router_document(benchmark: str, train: list[dict]) -> dict:
    from routing.config_schema import MAX_EXAMPLE_CHARS

    simple = [r["prompt"] for r in train if r["cheap"] >= r["strong"]]
    complex_ = [r["prompt"] for r in train if r["cheap"] < r["strong"]]
    tokens = OUTPUT_TOKENS[benchmark]

    def fits(texts):
        return sorted({t for t in texts if len(t) <= MAX_EXAMPLE_CHARS and t.strip()})

    return {
        "format": "semroute.router/1",
        "slug": f"routellm-{benchmark}",
        "name": f"RouteLLM {benchmark}",
        "policy": {
            "method": "centroid",
            "threshold": 0.0,
            "similarity_floor": -1.0,
            "cache_ttl_seconds": 0,
            "min_quality_simple": 0.0,
            "min_quality_moderate": 0.9,
            "min_quality_complex": 0.9,
            "output_tokens_simple": tokens,
            "output_tokens_moderate": tokens,
            "output_tokens_complex": tokens,
        },
        "tiers": [
            {
                "name": CHEAP,
                "rank": 1,
                "provider": "openai-compatible",
                "model": "mixtral-8x7b-instruct",
                "price_in_per_mtok": 0.24,
                "price_out_per_mtok": 0.24,
                "quality": 0.6,
            },
            {
                "name": STRONG,
                "rank": 2,
                "provider": "openai",
                "model": "gpt-4-1106-preview",
                "price_in_per_mtok": 24.7,
                "price_out_per_mtok": 24.7,
                "quality": 0.9,
            },
        ],
        "intents": [
            {
                "name": "question",
                "handler": "answer",
                "examples": ["answer this exam question", "solve this word problem"],
            }
        ],
        "complexity_examples": {"simple": fits(simple), "complex": fits(complex_)},
    }


def routellm_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["benchmark", "subset", "prompt", "mixtral_8x7b_correct", "gpt4_1106_correct"])
    for row in rows:
        writer.writerow(
            [row["benchmark"], row["subset"], row["prompt"], row["cheap"], row["strong"]]
        )
    return out.getvalue().encode()


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def share_for_target(score: np.ndarray, cheap: np.ndarray, strong: np.ndarray) -> float:
    """Fewest calls to the strong tier (lowest score first) that reach TARGET of its accuracy."""
    order = np.argsort(score, kind="stable")
    need = TARGET * strong.sum()
    # Sending the k lowest-scored queries to the strong tier gains strong - cheap on each.
    gained = np.concatenate([[0.0], np.cumsum((strong - cheap)[order])])
    reached = np.flatnonzero(cheap.sum() + gained >= need - 1e-9)
    return float(reached[0] / len(score))


def cost_cut(share: float, costs_cheap: np.ndarray, costs_strong: np.ndarray) -> float:
    """Cost cut against all-GPT-4 when `share` of calls (average-priced) go to GPT-4."""
    total_strong = costs_strong.sum()
    routed = share * total_strong + (1 - share) * costs_cheap.sum()
    return float(1 - routed / total_strong)


def routed(router, queries: list[str], batch: int = 256) -> list:
    from routing.decide import decide_batch

    decisions = []
    for start in range(0, len(queries), batch):
        decisions += decide_batch(router=router, queries=queries[start : start + batch])
    return decisions


def run_benchmark(benchmark: str, rows: list[dict], method: str) -> dict:
    from analytics.outcomes.models import QualityTraining
    from analytics.outcomes.parsing import outcome_file_parse
    from analytics.outcomes.services import (
        outcomes_import,
        quality_training_start,
        router_tier_names,
    )
    from routing.engine.classifiers import softmax
    from routing.engine.complexity import CENTROID_TEMPERATURE
    from routing.engine.tier_policy import tier_cost_usd
    from routing.models import Router
    from routing.services.config_apply import router_config_apply
    from routing.services.versioning import router_policy_update
    from routing.snapshots import compiled_router

    train = [r for r in rows if not scoring_half(r["prompt"])]
    test = [r for r in rows if scoring_half(r["prompt"])]
    timings = {}
    start = time.perf_counter()
    result = router_config_apply(document=router_document(benchmark, train), summary="bench")
    assert result.applied, result.problems
    router = result.router
    timings["router with complexity examples (s)"] = time.perf_counter() - start

    start = time.perf_counter()
    parse = outcome_file_parse(
        routellm_csv(train), tiers=router_tier_names(router), cheap_tier=CHEAP, strong_tier=STRONG
    )
    assert not parse.refused, parse.report()
    outcomes_import(router=router, rows=parse.rows)
    training = quality_training_start(router=router, method=method)
    training = QualityTraining.objects.get(pk=training.pk)
    assert training.state == "done", training.error
    timings["import + fit (s)"] = time.perf_counter() - start

    queries = [r["prompt"] for r in test]
    cheap = np.array([r["cheap"] for r in test], dtype=float)
    strong = np.array([r["strong"] for r in test], dtype=float)
    as_good = (cheap >= strong).astype(int)

    # Today's complexity classifier: the router as configured, no quality target.
    router = Router.objects.get(pk=router.pk)
    start = time.perf_counter()
    plain = routed(router, queries)
    timings["route scoring half, complexity (s)"] = time.perf_counter() - start
    compiled = compiled_router(router)
    from routing.vectors import active_encoder

    vectors = active_encoder().encode(queries)  # the encoder's LRU: these were just encoded
    head = compiled.complexity.head
    probabilities = np.vstack([softmax(row, CENTROID_TEMPERATURE) for row in head.scores(vectors)])
    probabilities[:, ~head.has_examples] = 0.0  # as ComplexityClassifier.estimate does
    simple_probability = probabilities[:, 0] / probabilities.sum(axis=1)

    # The quality predictor at the target, through decide.
    router = router_policy_update(router=router, changes={"quality_target": TARGET})
    start = time.perf_counter()
    predicted = routed(router, queries)
    timings["route scoring half, predictor (s)"] = time.perf_counter() - start
    p_cheap = np.array([d.trace.tier_predictions[0].probability for d in predicted])

    tiers = {t.name: t for t in compiled.snapshot.tiers}
    # Each decision's baseline is its tokens at GPT-4's flat price; Mixtral's is the same tokens.
    costs_strong = np.array([d.baseline_cost_usd for d in plain])
    price_ratio = tier_cost_usd(tiers[CHEAP], 10**6, 0) / tier_cost_usd(tiers[STRONG], 10**6, 0)
    costs_cheap = costs_strong * price_ratio

    def decided(decisions) -> dict:
        to_strong = np.array([d.tier == STRONG for d in decisions])
        accuracy = np.where(to_strong, strong, cheap).mean()
        spent = sum(d.estimated_cost_usd for d in decisions)
        baseline = sum(d.baseline_cost_usd for d in decisions)
        return {
            "strong_share": float(to_strong.mean()),
            "quality": float(accuracy / strong.mean()),
            "cost_usd": spent,
            "baseline_usd": baseline,
            "cost_cut": 1 - spent / baseline,
        }

    random_share = float((TARGET * strong.mean() - cheap.mean()) / (strong.mean() - cheap.mean()))
    report = {
        "benchmark": benchmark,
        "train": len(train),
        "scored": len(test),
        "mixtral_accuracy": float(cheap.mean()),
        "gpt4_accuracy": float(strong.mean()),
        "fit": training.metrics["tiers"][CHEAP],
        "predictor": {
            "auc": auc(p_cheap, as_good),
            "share_for_95": share_for_target(p_cheap, cheap, strong),
            "at_target": decided(predicted),
        },
        "complexity": {
            "auc": auc(simple_probability, as_good),
            "share_for_95": share_for_target(simple_probability, cheap, strong),
            "decisions": decided(plain),
        },
        "random": {"auc": 0.5, "share_for_95": random_share},
        "timings": timings,
    }
    for name in ("predictor", "complexity", "random"):
        entry = report[name]
        entry["cost_cut_for_95"] = cost_cut(entry["share_for_95"], costs_cheap, costs_strong)
        entry["cost_usd_for_95"] = float(
            entry["share_for_95"] * costs_strong.sum()
            + (1 - entry["share_for_95"]) * costs_cheap.sum()
        )
    report["all_gpt4_usd"] = float(costs_strong.sum())
    return report


def markdown(reports: list[dict], method: str, seconds: float) -> str:
    lines = [
        f"## Outcome-learned tiers on RouteLLM's MMLU and GSM8K ({time.strftime('%Y-%m-%d')})",
        "",
        f"- Command: `.venv/bin/python bench/outcome_routing.py --method {method}` "
        f"({seconds:.0f} s; {platform.processor() or platform.machine()}, 2 cores shared with "
        "five other helpers' work at the time).",
        "- Through the product: the training half imported as RouteLLM's CSV by the outcome "
        "import, fitted by the quality training (30% of it held out: calibration and threshold), "
        "the scoring half routed by `decide_batch`. Shares are of calls to GPT-4 on the scoring "
        'half; AUC is for "Mixtral is as good as GPT-4"; dollars with $24.7 / $0.24 per million '
        "tokens (prompt tokens + 5 output tokens for MMLU, 250 for GSM8K).",
        "",
        "| benchmark (scored) | router | AUC | GPT-4 share for 95% | cost cut for 95% | $ for 95% (all GPT-4) |",
        "|---|---|---|---|---|---|",
    ]
    for r in reports:
        for name, label in (
            ("predictor", "quality predictor"),
            ("complexity", "complexity classifier"),
            ("random", "random"),
        ):
            e = r[name]
            lines.append(
                f"| {r['benchmark']} ({r['scored']}) | {label} | {e['auc']:.3f} | "
                f"{e['share_for_95']:.1%} | {e['cost_cut_for_95']:.1%} | "
                f"${e['cost_usd_for_95']:.3f} (${r['all_gpt4_usd']:.3f}) |"
            )
    lines += [
        "",
        "Unattended operating points (the decisions themselves):",
        "",
        "| benchmark | router | GPT-4 share | quality (of GPT-4's) | cost cut | $ (all GPT-4) |",
        "|---|---|---|---|---|---|",
    ]
    for r in reports:
        for name, key, label in (
            ("predictor", "at_target", "predictor, quality_target 0.95"),
            ("complexity", "decisions", "complexity floors"),
        ):
            d = r[name][key]
            lines.append(
                f"| {r['benchmark']} | {label} | {d['strong_share']:.1%} | {d['quality']:.1%} | "
                f"{d['cost_cut']:.1%} | ${d['cost_usd']:.3f} (${d['baseline_usd']:.3f}) |"
            )
    lines.append("")
    for r in reports:
        fit = r["fit"]
        lines.append(
            f"- {r['benchmark']}: Mixtral {r['mixtral_accuracy']:.1%}, GPT-4 "
            f"{r['gpt4_accuracy']:.1%} on the scoring half; fit on {fit['train']} outcomes "
            f"(C {fit.get('C', '-')}), held-out AUC {fit['auc']:.3f} on {fit['held_out']}; "
            + ", ".join(f"{k} {v:.0f}" for k, v in r["timings"].items())
            + "."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", choices=("logistic", "knn"), default="logistic")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    django_setup()
    started = time.perf_counter()
    with DATA.open(newline="") as handle:
        data = [
            {
                "benchmark": row["benchmark"],
                "subset": row["subset"],
                "prompt": row["prompt"],
                "cheap": int(row["mixtral_8x7b_correct"]),
                "strong": int(row["gpt4_1106_correct"]),
            }
            for row in csv.DictReader(handle)
        ]
    reports = []
    for benchmark in ("mmlu", "gsm8k"):
        rows = [row for row in data if row["benchmark"] == benchmark]
        reports.append(run_benchmark(benchmark, rows, args.method))
        print(json.dumps(reports[-1], indent=1), file=sys.stderr)
    text = markdown(reports, args.method, time.perf_counter() - started)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))


if __name__ == "__main__":
    main()
