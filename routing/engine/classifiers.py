"""Embedding classifiers over example vectors: centroid, kNN and a trained linear head.

Each classifier turns a query vector into one raw score per intent. When every intent has enough
examples, a temperature is fitted on out-of-fold scores so `softmax(scores / T)` is a calibrated
probability; otherwise the raw scores are used as confidence (cosine similarity for centroid and
kNN, the head's own softmax for linear) and the decision says `calibrated=False`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Calibration needs enough examples per intent for out-of-fold scores to mean something;
# below that, raw scores keep the absolute similarity that out-of-scope detection relies on.
MIN_EXAMPLES_PER_INTENT_FOR_CALIBRATION = 10
CALIBRATION_FOLDS = 5
# Above this many examples one held-out fold (of CALIBRATION_FOLDS) is enough and keeps
# compile time low; below it every fold is used.
FULL_CROSS_VALIDATION_MAX_EXAMPLES = 3000
LINEAR_HEAD_C = 10.0
LINEAR_HEAD_MAX_ITER = 300
# In-domain gate: the floor is this percentile of held-out in-scope similarities, so it turns
# away about 1% of in-scope queries. Chosen on CLINC150's train split + oos_train (bench/RESULTS.md):
# 2% scored best there but left no margin for the 95% in-scope operating point.
SIMILARITY_FLOOR_PERCENTILE = 1.0
# Below this many held-out similarities a percentile says little: use a constant floor instead.
MIN_EXAMPLES_FOR_LEARNED_FLOOR = 30
# Cosine similarity below which a query is unrelated to an intent for MiniLM-like encoders
# (unrelated sentences mostly score 0.0-0.2, paraphrases 0.5+).
DEFAULT_SIMILARITY_FLOOR = 0.25
# A query this close to one of the intent's examples passes the gate whatever its centroid says:
# an operator who adds a query as an example expects it to route (no CLINC150 out-of-scope query
# comes within 0.85 of any training example).
NEAR_DUPLICATE_SIMILARITY = 0.9


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of `scores / temperature` (1-D or 2-D)."""
    scaled = scores / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=-1, keepdims=True)


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of `labels` under softmax(scores/T)."""
    rows = np.arange(len(labels))

    def nll(temperature: float) -> float:
        probabilities = softmax(scores, temperature)
        return float(-np.log(np.maximum(probabilities[rows, labels], 1e-12)).mean())

    # A coarse log-spaced grid, then a finer one around the best point: robust and cheap.
    grid = np.logspace(-2, 1.5, 36)
    best = min(grid, key=nll)
    fine = best * np.logspace(-0.1, 0.1, 21)
    return float(min(fine, key=nll))


def stratified_folds(labels: np.ndarray, n_folds: int, seed: int = 0) -> list[np.ndarray]:
    """Index arrays for `n_folds` folds with every label spread evenly across them."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        for position, index in enumerate(members):
            folds[position % n_folds].append(int(index))
    return [np.array(sorted(fold), dtype=np.int64) for fold in folds]


class CentroidHead:
    """Cosine similarity to each intent's normalised mean example vector."""

    def __init__(self, vectors: np.ndarray, labels: np.ndarray, n_classes: int):
        self.centroids = normalised_centroids(vectors, labels, n_classes)
        self.has_examples = np.bincount(labels, minlength=n_classes) > 0

    def scores(self, query_vectors: np.ndarray) -> np.ndarray:
        scores = query_vectors @ self.centroids.T
        scores[:, ~self.has_examples] = -1.0
        return scores


def knn_scores(
    similarities: np.ndarray, labels: np.ndarray, n_classes: int, top_k: int, aggregation: str
) -> np.ndarray:
    """Aggregate each row's top-k neighbour similarities per intent.

    mean: average similarity of the intent's neighbours among the top k; max: the nearest one;
    sum: their summed similarity divided by k (a similarity-weighted vote, on the same scale).
    Intents with no neighbour in the top k score -1.
    """
    n_queries, n_examples = similarities.shape
    k = max(1, min(top_k, n_examples))
    if k < n_examples:
        top = np.argpartition(-similarities, k - 1, axis=1)[:, :k]
    else:
        top = np.broadcast_to(np.arange(n_examples), (n_queries, n_examples))
    top_similarities = np.take_along_axis(similarities, top, axis=1)
    top_labels = labels[top]
    rows = np.repeat(np.arange(n_queries), k)
    flat_labels = top_labels.ravel()
    flat_similarities = top_similarities.ravel().astype(np.float64)
    if aggregation == "max":
        scores = np.full((n_queries, n_classes), -1.0)
        np.maximum.at(scores, (rows, flat_labels), flat_similarities)
        return scores
    sums = np.zeros((n_queries, n_classes))
    np.add.at(sums, (rows, flat_labels), flat_similarities)
    counts = np.zeros((n_queries, n_classes))
    np.add.at(counts, (rows, flat_labels), 1.0)
    if aggregation == "sum":
        scores = sums / k
    else:
        scores = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    scores[counts == 0] = -1.0
    return scores


class KnnHead:
    """Top-k nearest examples, aggregated per intent."""

    def __init__(
        self, vectors: np.ndarray, labels: np.ndarray, n_classes: int, top_k: int, aggregation: str
    ):
        self.vectors = vectors
        self.labels = labels
        self.n_classes = n_classes
        self.top_k = top_k
        self.aggregation = aggregation

    def scores(
        self, query_vectors: np.ndarray, similarities: np.ndarray | None = None
    ) -> np.ndarray:
        if similarities is None:
            similarities = query_vectors @ self.vectors.T
        return knn_scores(similarities, self.labels, self.n_classes, self.top_k, self.aggregation)


class LinearHead:
    """Multinomial logistic regression on the example vectors; scores are log-probabilities."""

    def __init__(
        self,
        vectors: np.ndarray,
        labels: np.ndarray,
        n_classes: int,
        *,
        warm_start: LinearHead | None = None,
    ):
        from sklearn.linear_model import LogisticRegression

        present = np.unique(labels)
        self.model = None
        self.n_classes = n_classes
        self.coef = np.zeros((n_classes, vectors.shape[1]), dtype=np.float32)
        self.intercept = np.full(n_classes, -1e4, dtype=np.float32)
        if len(present) == 1:
            # One intent only: it always wins; its confidence comes from nothing else.
            self.intercept[present[0]] = 0.0
            return
        model = LogisticRegression(C=LINEAR_HEAD_C, max_iter=LINEAR_HEAD_MAX_ITER)
        previous = warm_start.model if warm_start is not None else None
        if previous is not None and np.array_equal(previous.classes_, present):
            # Start from a fold model's solution: the full fit then needs far fewer iterations.
            model.warm_start = True
            model.coef_ = previous.coef_.copy()
            model.intercept_ = previous.intercept_.copy()
        model.fit(vectors, labels)
        self.model = model
        coef = model.coef_
        intercept = model.intercept_
        if len(present) == 2:
            # sklearn stores one row for binary problems: expand to two symmetric logits.
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        self.coef[present] = coef
        self.intercept[present] = intercept

    def scores(self, query_vectors: np.ndarray) -> np.ndarray:
        logits = query_vectors @ self.coef.T + self.intercept
        return np.log(np.maximum(softmax(logits), 1e-12))


def intent_sums(vectors: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-intent sum of example vectors, float64 (np.add.at is ~50x slower at 15k x 384)."""
    sums = np.zeros((n_classes, vectors.shape[1]), dtype=np.float64)
    if not len(labels):
        return sums
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sums[sorted_labels[starts]] = np.add.reduceat(vectors[order].astype(np.float64), starts, axis=0)
    return sums


def normalised_centroids(vectors: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Each intent's mean example vector, L2-normalised (zero rows for intents with no examples)."""
    centroids = intent_sums(vectors, labels, n_classes)
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(centroids / norms, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class SimilarityFloor:
    value: float
    source: str  # "learned", "default" or "policy", for the trace


def learn_similarity_floor(
    vectors: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    percentile: float = SIMILARITY_FLOOR_PERCENTILE,
) -> SimilarityFloor:
    """The in-domain similarity floor, learned from the examples alone.

    Held-out part: each example is held out in turn and compared with the centroid of the rest
    of its intent (leave-one-out: exact, and O(examples x dim)); the floor is a low percentile of
    those similarities. Small routers with varied examples make that percentile very low, so the
    floor never goes below what examples of *other* intents commonly reach (the 75th percentile
    of their similarity to an intent's centroid): a query no closer than that is not in the
    intent's domain. That bound is in the encoder's own scale, unlike a constant. With neither
    available (one intent, few examples) the floor is DEFAULT_SIMILARITY_FLOOR.
    """
    counts = np.bincount(labels, minlength=n_classes)
    present = np.flatnonzero(counts)
    candidates = []
    held_out = counts[labels] > 1
    if held_out.sum() >= MIN_EXAMPLES_FOR_LEARNED_FLOOR:
        sums = intent_sums(vectors, labels, n_classes)
        rest = sums[labels[held_out]] - vectors[held_out]
        similarities = np.einsum("ij,ij->i", vectors[held_out], rest) / np.maximum(
            np.linalg.norm(rest, axis=1), 1e-12
        )
        candidates.append(float(np.percentile(similarities, percentile)))
    if len(present) >= 2:
        to_centroids = vectors @ normalised_centroids(vectors, labels, n_classes)[present].T
        other = labels[:, None] != present[None, :]
        candidates.append(float(np.percentile(to_centroids[other], 75)))
    if not candidates:
        return SimilarityFloor(DEFAULT_SIMILARITY_FLOOR, "default")
    return SimilarityFloor(max(candidates), "learned")


@dataclass(slots=True)
class Calibration:
    temperature: float
    calibrated: bool


def _build_head(method: str, vectors, labels, n_classes, top_k, aggregation, warm_start=None):
    if method == "centroid":
        return CentroidHead(vectors, labels, n_classes)
    if method == "knn":
        return KnnHead(vectors, labels, n_classes, top_k, aggregation)
    return LinearHead(vectors, labels, n_classes, warm_start=warm_start)


def calibrate(
    method: str,
    vectors: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    *,
    top_k: int,
    aggregation: str,
) -> tuple[Calibration, object | None]:
    """Fit a softmax temperature on out-of-fold scores, or report that calibration is impossible.

    Also returns the last fold's head, which the linear method uses to warm-start its full fit.

    kNN uses leave-one-out (each example scored against all the others); centroid and linear
    use stratified k-fold (one held-out fold for large routers, to bound compile time).
    """
    counts = np.bincount(labels, minlength=n_classes)
    present = counts[counts > 0]
    if len(present) < 2 or present.min() < MIN_EXAMPLES_PER_INTENT_FOR_CALIBRATION:
        return Calibration(temperature=1.0, calibrated=False), None

    if method == "knn":
        rng = np.random.default_rng(0)
        sample = np.arange(len(labels))
        if len(sample) > 3000:
            sample = np.sort(rng.choice(sample, 3000, replace=False))
        similarities = vectors[sample] @ vectors.T
        # Leave-one-out: an example must not find itself.
        similarities[np.arange(len(sample)), sample] = -np.inf
        scores = knn_scores(similarities, labels, n_classes, top_k, aggregation)
        return Calibration(fit_temperature(scores, labels[sample]), calibrated=True), None

    folds = stratified_folds(labels, CALIBRATION_FOLDS)
    if len(labels) > FULL_CROSS_VALIDATION_MAX_EXAMPLES:
        folds = folds[:1]
    out_of_fold_scores = []
    out_of_fold_labels = []
    for held_out in folds:
        train = np.ones(len(labels), dtype=bool)
        train[held_out] = False
        head = _build_head(method, vectors[train], labels[train], n_classes, top_k, aggregation)
        out_of_fold_scores.append(head.scores(vectors[held_out]))
        out_of_fold_labels.append(labels[held_out])
    scores = np.vstack(out_of_fold_scores)
    temperature = fit_temperature(scores, np.concatenate(out_of_fold_labels))
    if method == "linear":
        # In-scope folds cannot show how confident to be on out-of-scope queries: calibration
        # may soften the head's probabilities but never sharpen them (on CLINC150, sharpening
        # to T=0.6 cut out-of-scope recall at 95% in-scope accuracy from 75% to 62%).
        temperature = max(temperature, 1.0)
    return Calibration(temperature, calibrated=True), head


class IntentClassifier:
    """One method's head plus its calibration, built lazily by the compiled router."""

    def __init__(
        self,
        method: str,
        vectors: np.ndarray,
        labels: np.ndarray,
        n_classes: int,
        *,
        top_k: int,
        aggregation: str,
    ):
        self.method = method
        self.calibration, fold_head = calibrate(
            method, vectors, labels, n_classes, top_k=top_k, aggregation=aggregation
        )
        self.head = _build_head(
            method, vectors, labels, n_classes, top_k, aggregation, warm_start=fold_head
        )

    def confidences(
        self, query_vectors: np.ndarray, similarities: np.ndarray | None = None
    ) -> np.ndarray:
        """Per-intent confidence for each query row: calibrated probabilities when possible."""
        if self.method == "knn":
            scores = self.head.scores(query_vectors, similarities)
        else:
            scores = self.head.scores(query_vectors)
        if self.calibration.calibrated:
            return softmax(scores, self.calibration.temperature)
        if self.method == "linear":
            return np.exp(scores)
        return scores
