"""Fit the quality predictor from outcome records (scikit-learn here; numpy at inference).

For each tier below the best: label = "its answer was as good as the best tier's" (when the best
tier's outcome for the same query is known) or "it was good" (when only its own is). A logistic
head over [query vector, scaled text features] (regularisation chosen by cross-validation on the
training part) or a kNN over outcome vectors gives a raw score; Platt scaling on the held-out part
calibrates it, and the held-out part's curve (threshold -> quality kept, share of calls) is what a
policy's quality target reads. The split is by a hash of the query, so it is stable across fits.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import roc_auc_score

from routing.engine.quality import (
    FEATURE_NAMES,
    QualityCurve,
    QualityHead,
    TierQualityModel,
    quality_features,
)

MIN_TRAIN_OUTCOMES = 20
MIN_HELD_OUT_OUTCOMES = 10
CURVE_POINTS = 200
KNN_K = 25
LOGISTIC_CS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


@dataclass(slots=True)
class FitResult:
    head: QualityHead | None
    metrics: dict = field(default_factory=dict)  # per tier: auc, counts, or why it was skipped


def held_out_mask(queries: list[str], *, fraction: float, seed: int) -> np.ndarray:
    """Which queries are held out: a hash of (seed, query) below `fraction`; stable across fits."""
    mask = np.zeros(len(queries), dtype=bool)
    for i, query in enumerate(queries):
        digest = hashlib.blake2b(f"{seed}:{query}".encode(), digest_size=8).digest()
        mask[i] = int.from_bytes(digest, "big") / 2**64 < fraction
    return mask


def _platt(raw: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    model = LogisticRegression(C=1e4, max_iter=1000).fit(raw[:, None], labels)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def quality_curve(
    probabilities: np.ndarray, tier_scores: np.ndarray, best_scores: np.ndarray
) -> QualityCurve:
    """Route held-out queries with p >= t to the tier, the rest to the best, at each threshold t."""
    best_total = float(best_scores.sum()) or 1.0
    order = np.sort(np.unique(probabilities))
    if len(order) > CURVE_POINTS:
        order = np.unique(np.quantile(probabilities, np.linspace(0, 1, CURVE_POINTS)))
    # Midpoints between neighbouring probabilities: the same split of the held-out queries as the
    # probabilities themselves, with a margin on both sides for new queries.
    thresholds = np.concatenate([order[:1], (order[1:] + order[:-1]) / 2, [order[-1] + 1e-6]])
    quality, share = [], []
    for threshold in thresholds:
        to_tier = probabilities >= threshold
        kept = float(np.where(to_tier, tier_scores, best_scores).sum())
        quality.append(kept / best_total)
        share.append(float(to_tier.mean()))
    return QualityCurve(
        thresholds=thresholds,
        quality=np.array(quality),
        tier_share=np.array(share),
        held_out=len(probabilities),
        tier_mean=float(tier_scores.mean()),
        best_mean=float(best_scores.mean()),
    )


def design_matrix(vectors: np.ndarray, features: np.ndarray, mean, scale) -> np.ndarray:
    return np.hstack([vectors.astype(np.float64), (features - mean) / scale])


def quality_head_fit(
    *,
    queries: list[str],
    vectors: np.ndarray,
    scores: dict[str, dict[int, float]],
    tier_order: list[str],
    encoder_name: str,
    method: str = "logistic",
    held_out_fraction: float = 0.3,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> FitResult:
    """Fit one model per tier of `tier_order` below its last (the best); see the module docstring.

    `scores[tier][i]`: tier's outcome (0-1) for queries[i]. A tier without enough outcomes of
    both kinds on both sides of the split is skipped; its entry in metrics says why.
    """
    best = tier_order[-1]
    best_scores = scores.get(best, {})
    held = held_out_mask(queries, fraction=held_out_fraction, seed=seed)
    features = np.array([quality_features(query) for query in queries]).reshape(
        len(queries), len(FEATURE_NAMES)
    )
    models, metrics = [], {}
    for step, tier in enumerate(tier_order[:-1], start=1):
        entry = _fit_tier(
            tier, scores.get(tier, {}), best_scores, vectors, features, held, method, seed
        )
        metrics[tier] = entry["metrics"]
        if entry["model"] is not None:
            models.append(entry["model"])
        if progress:
            progress(step)
    outcomes = sum(len(by_query) for by_query in scores.values())
    head = QualityHead(encoder_name, best, tuple(models), outcomes=outcomes) if models else None
    return FitResult(head=head, metrics=metrics)


def _fit_tier(tier, tier_scores, best_scores, vectors, features, held, method, seed) -> dict:
    index = np.array(sorted(tier_scores), dtype=np.int64)
    y_tier = np.array([tier_scores[i] for i in index], dtype=np.float64)
    known_best = np.array([i in best_scores for i in index], dtype=bool)
    y_best = np.array([best_scores.get(i, np.nan) for i in index], dtype=np.float64)
    best_mean = float(np.nanmean(y_best)) if known_best.any() else 1.0
    y_best_filled = np.where(known_best, y_best, best_mean)
    labels = np.where(known_best, y_tier >= y_best_filled - 1e-9, y_tier >= 0.5).astype(int)
    train, test = ~held[index], held[index]
    counts = {
        "outcomes": len(index),
        "paired": int(known_best.sum()),
        "train": int(train.sum()),
        "held_out": int(test.sum()),
        "good_enough_share": float(labels.mean()) if len(labels) else 0.0,
    }
    problem = ""
    if train.sum() < MIN_TRAIN_OUTCOMES or test.sum() < MIN_HELD_OUT_OUTCOMES:
        problem = (
            f"needs {MIN_TRAIN_OUTCOMES} training and {MIN_HELD_OUT_OUTCOMES} held-out outcomes"
        )
    elif len(set(labels[train])) < 2 or len(set(labels[test])) < 2:
        problem = "needs outcomes of both kinds (good enough and not) on both sides of the split"
    if problem:
        return {"model": None, "metrics": {**counts, "skipped": problem}}
    mean = features[index][train].mean(axis=0)
    scale = features[index][train].std(axis=0)
    scale[scale < 1e-9] = 1.0
    design = design_matrix(vectors[index], features[index], mean, scale)
    extra: dict = {}
    if method == "knn":
        neighbours = vectors[index][train].astype(np.float32)
        neighbour_labels = labels[train].astype(np.float64)
        model = TierQualityModel(
            tier=tier,
            method="knn",
            feature_mean=mean,
            feature_scale=scale,
            platt=(1.0, 0.0),
            curve=None,
            neighbour_vectors=neighbours,
            neighbour_labels=neighbour_labels,
            k=min(KNN_K, len(neighbours)),
        )
    else:
        folds = int(min(3, np.bincount(labels[train]).min()))
        if folds >= 2:
            with warnings.catch_warnings():
                # scikit-learn 1.8 announces attribute changes of LogisticRegressionCV for 1.10.
                warnings.simplefilter("ignore", FutureWarning)
                fitted = LogisticRegressionCV(
                    Cs=list(LOGISTIC_CS), cv=folds, scoring="roc_auc", max_iter=3000
                ).fit(design[train], labels[train])
            extra["C"] = float(fitted.C_[0])
        else:
            fitted = LogisticRegression(C=0.1, max_iter=3000).fit(design[train], labels[train])
            extra["C"] = 0.1
        model = TierQualityModel(
            tier=tier,
            method="logistic",
            feature_mean=mean,
            feature_scale=scale,
            platt=(1.0, 0.0),
            curve=None,
            weights=fitted.coef_[0].astype(np.float64),
            bias=float(fitted.intercept_[0]),
        )
    held_rows = np.flatnonzero(test)
    raw = np.array(
        [model.raw_logit(vectors[index[i]], features[index[i]]) for i in held_rows],
        dtype=np.float64,
    )
    platt = _platt(raw, labels[test])
    calibrated = 1.0 / (1.0 + np.exp(-(platt[0] * raw + platt[1])))
    curve = quality_curve(calibrated, y_tier[test], y_best_filled[test])

    model = replace(model, platt=platt, curve=curve)
    auc = float(roc_auc_score(labels[test], calibrated))
    return {"model": model, "metrics": {**counts, **extra, "method": method, "auc": auc}}
