"""Shared helpers for the engine benchmarks: CLINC150 loading, vectors, the 150-intent snapshot."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.engine import (  # noqa: E402
    LOCAL_ENCODER_NAME,
    LOCAL_FAST_ENCODER_NAME,
    IntentSpec,
    LocalOnnxEncoder,
    Policy,
    RouterSnapshot,
    TierSpec,
)

CLINC = ROOT.parent / "shared" / "data" / "clinc150" / "clinc150_train_val.json"
CACHE_DIR = Path(os.environ.get("SEMROUTE_BENCH_CACHE", "/tmp/semroute-bench"))
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
SPLITS = ("train", "val", "oos_train", "oos_val")
TIERS = (
    TierSpec("cheap", 1, "openai", "gpt-4o-mini", 0.15, 0.60, quality=0.5, latency_ms=400),
    TierSpec("middle", 2, "openai", "gpt-4o", 2.50, 10.0, quality=0.8, latency_ms=900),
    TierSpec("powerful", 3, "anthropic", "claude-opus", 15.0, 75.0, quality=0.95, latency_ms=2500),
)


def load_clinc() -> dict[str, list[tuple[str, str]]]:
    raw = json.loads(CLINC.read_text())
    return {split: [(text, intent) for text, intent in raw[split]] for split in SPLITS}


def local_encoder(name: str = LOCAL_ENCODER_NAME, **options) -> LocalOnnxEncoder:
    """The local encoder called `name` (float32 or int8 arithmetic)."""
    if name not in (LOCAL_ENCODER_NAME, LOCAL_FAST_ENCODER_NAME):
        raise SystemExit(f"unknown local encoder {name!r}")
    return LocalOnnxEncoder(int8_compute=name == LOCAL_FAST_ENCODER_NAME, **options)


def clinc_vectors(
    clinc, *, threads: int = 2, encoder_name: str = LOCAL_ENCODER_NAME
) -> dict[str, np.ndarray]:
    """Vectors of every split from a local encoder, cached on disk between runs."""
    digest = hashlib.sha256(CLINC.read_bytes()).hexdigest()[:16]
    path = CACHE_DIR / f"clinc150-{encoder_name}-{digest}.npz"
    if path.exists():
        stored = np.load(path)
        return {split: stored[split] for split in SPLITS}
    encoder = local_encoder(encoder_name, threads=threads, cache_size=0)
    vectors = {split: encoder.encode([text for text, _ in clinc[split]]) for split in SPLITS}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, **vectors)
    return vectors


def clinc_snapshot(
    clinc, vectors, policy: Policy, *, encoder_name: str = LOCAL_ENCODER_NAME
) -> RouterSnapshot:
    names = sorted({intent for _, intent in clinc["train"]})
    return RouterSnapshot(
        slug="clinc150",
        version=1,
        encoder_name=encoder_name,
        intents=tuple(
            IntentSpec(name, f"handlers.{name}", name.replace("_", " ")) for name in names
        ),
        example_texts=tuple(text for text, _ in clinc["train"]),
        example_intents=tuple(intent for _, intent in clinc["train"]),
        example_vectors=vectors["train"],
        tiers=TIERS,
        policy=policy,
    )


def rss_mb() -> float:
    """Current resident set size in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_semantic_router_side(command: str, payload: dict) -> dict | None:
    """Run bench/semantic_router_side.py in the benchmark-only venv; None if it is missing."""
    try:
        import semantic_router  # noqa: F401

        python = sys.executable
    except ImportError:
        if not BENCH_PYTHON.exists():
            print(f"semantic-router not installed and {BENCH_PYTHON} missing: skipping it")
            return None
        python = str(BENCH_PYTHON)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    request = CACHE_DIR / f"sr-{command}-request.json"
    request.write_text(json.dumps(payload))
    result = subprocess.run(
        [python, str(ROOT / "bench" / "semantic_router_side.py"), command, str(request)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if result.returncode != 0:
        print("semantic-router side failed:\n" + result.stderr[-3000:])
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))
