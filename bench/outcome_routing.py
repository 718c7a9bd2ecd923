"""RouteLLM's MMLU and GSM8K correctness through the outcome feature: when is Mixtral enough?

Run: .venv/bin/python bench/outcome_routing.py [--method logistic|knn] [--json FILE]

Data: ../shared/data/routellm/mmlu_gsm8k_dev.csv (Mixtral-8x7B and GPT-4-1106 correct or not on
7,640 questions). Per benchmark, a hash of the prompt splits it in halves: the training half is
imported through the outcome import (RouteLLM's CSV shape, the console's parser and service) and
fitted by the quality training (the Celery task's code, eager; 30% of that half held out for
calibration and the threshold); the scoring half is routed with `routing.decide.decide_batch`,
so what is measured is what users get. One router per benchmark (or, with --shared-router, one
router taught both training halves, as the issue's own measurement did), two tiers: `mixtral`
($0.24 per million tokens in and out) and `gpt-4` ($24.7), one intent.

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
Query and example vectors come from the encoder's LRU, pre-filled from a disk cache made by the
same encoder on the first run (as evaluation_clinc150.py does). Cost per query: its prompt
tokens (the local tokenizer) plus 5 output tokens for MMLU's letter or 250 for GSM8K's worked
answer, at the chosen tier's price, against everything on GPT-4. A throwaway SQLite database in
the bench cache.
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


def router_document(slug: str, train: list[dict], tokens: int) -> dict:
    from routing.config_schema import MAX_EXAMPLE_CHARS

    simple = [r["prompt"] for r in train if r["cheap"] >= r["strong"]]
    complex_ = [r["prompt"] for r in train if r["cheap"] < r["strong"]]

    def fits(texts):
        return sorted({t for t in texts if len(t) <= MAX_EXAMPLE_CHARS and t.strip()})

    return {
        "format": "semroute.router/1",
        "slug": slug,
        "name": slug,
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


def sweep_for_target(score, cheap, strong, costs_cheap, costs_strong) -> dict:
    """Fewest calls to the strong tier (lowest score first) that reach TARGET of its accuracy,
    and the dollars of exactly those calls."""
    order = np.argsort(score, kind="stable")
    need = TARGET * strong.sum()
    # Sending the k lowest-scored queries to the strong tier gains strong - cheap on each.
    gained = np.concatenate([[0.0], np.cumsum((strong - cheap)[order])])
    k = int(np.flatnonzero(cheap.sum() + gained >= need - 1e-9)[0])
    to_strong = np.zeros(len(score), dtype=bool)
    to_strong[order[:k]] = True
    cost = float(costs_strong[to_strong].sum() + costs_cheap[~to_strong].sum())
    return {
        "share_for_95": k / len(score),
        "cost_usd_for_95": cost,
        "cost_cut_for_95": 1 - cost / float(costs_strong.sum()),
    }


def random_for_target(cheap, strong, costs_cheap, costs_strong) -> dict:
    """Random routing: the share s with (1-s) acc_cheap + s acc_strong = TARGET acc_strong;
    its expected dollars (random picks are average-priced)."""
    share = float((TARGET * strong.mean() - cheap.mean()) / (strong.mean() - cheap.mean()))
    cost = float(share * costs_strong.sum() + (1 - share) * costs_cheap.sum())
    return {
        "share_for_95": share,
        "cost_usd_for_95": cost,
        "cost_cut_for_95": 1 - cost / float(costs_strong.sum()),
    }


def vectors_prefill(rows: list[dict]) -> None:
    """Pre-fill the encoder's LRU with every prompt's vector (cached on disk between runs), as
    evaluation_clinc150.py does: the run then measures routing, not the encoder on 2 shared cores."""
    from routing.vectors import active_encoder

    encoder = active_encoder()
    prompts = [row["prompt"] for row in rows]
    digest = hashlib.sha256(DATA.read_bytes()).hexdigest()[:16]
    path = CACHE_DIR / f"routellm-{encoder.name}-{digest}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        vectors = np.vstack(
            [encoder.encode(prompts[i : i + 64]) for i in range(0, len(prompts), 64)]
        )
        np.save(path, vectors)
    encoder._cache.max_entries = 25_000
    for prompt, vector in zip(prompts, vectors, strict=True):
        encoder._cache.put(prompt, vector)


def routed(router, queries: list[str], *, policy=None, batch: int = 256) -> list:
    from routing.decide import decide_batch

    decisions = []
    for start in range(0, len(queries), batch):
        decisions += decide_batch(
            router=router, queries=queries[start : start + batch], policy=policy
        )
    return decisions


def router_fit(slug: str, train: list[dict], method: str, output_tokens: int):
    """A router for `train`: complexity examples from it, its outcomes imported and fitted."""
    from analytics.outcomes.models import QualityTraining
    from analytics.outcomes.parsing import outcome_file_parse
    from analytics.outcomes.services import (
        outcomes_import,
        quality_training_start,
        router_tier_names,
    )
    from routing.services.config_apply import router_config_apply

    timings = {}
    start = time.perf_counter()
    result = router_config_apply(
        document=router_document(slug, train, output_tokens), summary="bench"
    )
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
    return router, training, timings


def benchmark_score(router, training, benchmark: str, test: list[dict], timings: dict) -> dict:
    """Route `test` with and without the quality target and score both against random."""
    from routing.engine.classifiers import softmax
    from routing.engine.complexity import CENTROID_TEMPERATURE
    from routing.engine.encoders import count_tokens
    from routing.engine.tier_policy import tier_cost_usd
    from routing.models import Router
    from routing.services.versioning import router_policy_update
    from routing.snapshots import compiled_router, policy_with_changes
    from routing.vectors import active_encoder

    timings = dict(timings)
    queries = [r["prompt"] for r in test]
    cheap = np.array([r["cheap"] for r in test], dtype=float)
    strong = np.array([r["strong"] for r in test], dtype=float)
    as_good = (cheap >= strong).astype(int)

    # The router's saved policy carries the target; today's behaviour is the same policy without.
    router = router_policy_update(
        router=Router.objects.get(pk=router.pk), changes={"quality_target": TARGET}
    )
    compiled = compiled_router(router)
    without_target = policy_with_changes(compiled.snapshot.policy, {"quality_target": None})
    start = time.perf_counter()
    plain = routed(router, queries, policy=without_target)
    timings["route, complexity (s)"] = time.perf_counter() - start
    start = time.perf_counter()
    predicted = routed(router, queries)
    timings["route, predictor (s)"] = time.perf_counter() - start
    p_cheap = np.array([d.trace.tier_predictions[0].probability for d in predicted])

    vectors = active_encoder().encode(queries)  # from the encoder's LRU
    head = compiled.complexity.head
    probabilities = np.vstack([softmax(row, CENTROID_TEMPERATURE) for row in head.scores(vectors)])
    probabilities[:, ~head.has_examples] = 0.0  # as ComplexityClassifier.estimate does
    simple_probability = probabilities[:, 0] / probabilities.sum(axis=1)

    # Dollars per query: its prompt tokens plus the benchmark's output tokens, at each price.
    tiers = {t.name: t for t in compiled.snapshot.tiers}
    tokens = [count_tokens(query) for query in queries]
    output = OUTPUT_TOKENS[benchmark]
    costs_strong = np.array([tier_cost_usd(tiers[STRONG], n, output) for n in tokens])
    costs_cheap = np.array([tier_cost_usd(tiers[CHEAP], n, output) for n in tokens])

    def decided(decisions) -> dict:
        to_strong = np.array([d.tier == STRONG for d in decisions])
        spent = float(np.where(to_strong, costs_strong, costs_cheap).sum())
        return {
            "strong_share": float(to_strong.mean()),
            "quality": float(np.where(to_strong, strong, cheap).mean() / strong.mean()),
            "cost_usd": spent,
            "baseline_usd": float(costs_strong.sum()),
            "cost_cut": 1 - spent / float(costs_strong.sum()),
        }

    return {
        "benchmark": benchmark,
        "router": router.slug,
        "train": training.metrics["queries"],
        "scored": len(test),
        "mixtral_accuracy": float(cheap.mean()),
        "gpt4_accuracy": float(strong.mean()),
        "fit": training.metrics["tiers"][CHEAP],
        "predictor": {
            "auc": auc(p_cheap, as_good),
            **sweep_for_target(p_cheap, cheap, strong, costs_cheap, costs_strong),
            "at_target": decided(predicted),
        },
        "complexity": {
            "auc": auc(simple_probability, as_good),
            **sweep_for_target(simple_probability, cheap, strong, costs_cheap, costs_strong),
            "decisions": decided(plain),
        },
        "random": {"auc": 0.5, **random_for_target(cheap, strong, costs_cheap, costs_strong)},
        "timings": timings,
        "all_gpt4_usd": float(costs_strong.sum()),
    }


def call_cut(share: float) -> float:
    """Cost cut against all-GPT-4 when every call costs the same tokens."""
    return 1 - (share + (1 - share) * 0.24 / 24.7)


def markdown(reports: list[dict], args, seconds: float) -> str:
    flags = f"--method {args.method}" + (" --shared-router" if args.shared_router else "")
    lines = [
        f"## Outcome-learned tiers on RouteLLM's MMLU and GSM8K ({time.strftime('%Y-%m-%d')})",
        "",
        f"- Command: `.venv/bin/python bench/outcome_routing.py {flags}` "
        f"({seconds:.0f} s; {platform.processor() or platform.machine()}, 2 cores shared with "
        "five other helpers' work at the time).",
        "- Through the product: the training half imported as RouteLLM's CSV by the outcome "
        "import, fitted by the quality training (30% of it held out: calibration and threshold), "
        "the scoring half routed by `decide_batch`. Shares are of calls to GPT-4 on the scoring "
        'half; AUC is for "Mixtral is as good as GPT-4"; dollars with $24.7 / $0.24 per million '
        'tokens. "cut, calls" prices every call alike (RouteLLM\'s convention: the share of '
        'calls at the price ratio); "cut, tokens" weighs each call by its own tokens (prompt + '
        "5 output tokens for MMLU, 250 for GSM8K) and is the dollars column.",
        "",
        "| benchmark (scored) | router | AUC | GPT-4 share for 95% | cut, calls | cut, tokens | $ for 95% (all GPT-4) |",
        "|---|---|---|---|---|---|---|",
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
                f"{e['share_for_95']:.1%} | {call_cut(e['share_for_95']):.1%} | "
                f"{e['cost_cut_for_95']:.1%} | "
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
    parser.add_argument(
        "--shared-router",
        action="store_true",
        help="one router fitted on both benchmarks' training halves (default: one per benchmark)",
    )
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
    vectors_prefill(data)
    reports = []
    train = [row for row in data if not scoring_half(row["prompt"])]
    scored = {
        benchmark: [r for r in data if r["benchmark"] == benchmark and scoring_half(r["prompt"])]
        for benchmark in ("mmlu", "gsm8k")
    }
    if args.shared_router:
        # One router taught both benchmarks' training halves (the issue's own measurement).
        router, training, timings = router_fit("routellm", train, args.method, 100)
        for benchmark, test in scored.items():
            reports.append(benchmark_score(router, training, benchmark, test, timings))
            print(json.dumps(reports[-1], indent=1), file=sys.stderr)
    else:
        for benchmark, test in scored.items():
            mine = [row for row in train if row["benchmark"] == benchmark]
            fitted = router_fit(
                f"routellm-{benchmark}", mine, args.method, OUTPUT_TOKENS[benchmark]
            )
            reports.append(benchmark_score(*fitted[:2], benchmark, test, fitted[2]))
            print(json.dumps(reports[-1], indent=1), file=sys.stderr)
    text = markdown(reports, args, time.perf_counter() - started)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))


if __name__ == "__main__":
    main()
