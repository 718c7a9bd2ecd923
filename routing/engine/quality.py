"""Quality predictor: is a cheaper tier's answer as good as the best tier's for this query?

Inference only (numpy): the head is fitted elsewhere (analytics/outcomes/training.py, from outcome
records) and arrives as a plain document inside the snapshot (`quality_head_from_document`). For
each tier below the best it holds a logistic head over [query vector, cheap text features] or the
outcome vectors of a kNN head, a Platt calibration fitted on held-out outcomes, and the held-out
curve (threshold -> quality kept, share of calls the tier takes) from which a policy's
`quality_target` picks the tier's threshold. The cheapest tier whose calibrated probability clears
its threshold answers; otherwise the best tier does. Intent and rule minimum tiers still apply on
top (routing/engine/tier_policy.py).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import regex

from .complexity import CODE_PATTERN, MATH_PATTERN, REASONING_PATTERN, _fires
from .decision import TierPrediction, Trace
from .errors import SnapshotError
from .snapshot import TierSpec

QUALITY_HEAD_FORMAT = "semroute.quality/1"
QUALITY_METHODS = ("logistic", "knn")
FEATURE_NAMES = (
    "words (log)",
    "characters (log)",
    "digits (log)",
    "questions",
    "lines (log)",
    "code",
    "math",
    "reasoning",
    "choices",
)
CHOICE_PATTERN = regex.compile(r"^\s*\(?[A-Da-d][).:]\s", regex.MULTILINE)
NEVER = math.inf  # a threshold no probability reaches: the tier is never chosen


def quality_features(query: str) -> np.ndarray:
    """Cheap text features of a query, in FEATURE_NAMES order (unscaled)."""
    return np.array(
        [
            math.log1p(len(query.split())),
            math.log1p(len(query)),
            math.log1p(sum(ch.isdigit() for ch in query)),
            float(min(query.count("?"), 5)),
            math.log1p(query.count("\n")),
            float(_fires(CODE_PATTERN, query)),
            float(_fires(MATH_PATTERN, query)),
            float(_fires(REASONING_PATTERN, query)),
            float(len(CHOICE_PATTERN.findall(query)) >= 2),
        ],
        dtype=np.float64,
    )


def _sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    z = math.exp(value)
    return z / (1.0 + z)


def _logit(probability: float) -> float:
    p = min(max(probability, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


@dataclass(frozen=True, slots=True)
class QualityCurve:
    """Held-out outcomes routed at each threshold: the tier takes queries with p >= threshold."""

    thresholds: np.ndarray  # ascending
    quality: np.ndarray  # mean quality as a fraction of the best tier's on the same queries
    tier_share: np.ndarray  # share of held-out queries the tier takes
    held_out: int
    tier_mean: float  # the tier's mean outcome on those queries (random routing's one end)
    best_mean: float  # the best tier's (the other end)

    def threshold_for(self, target: float) -> float:
        """The lowest threshold from which every higher one keeps at least `target` (NEVER if none).

        Requiring it of every higher threshold keeps a noisy bump of the held-out curve from
        choosing an operating point its neighbours do not support.
        """
        meets = self.quality >= target - 1e-12
        if not len(meets) or not meets[-1]:
            return NEVER
        # Index of the last threshold that misses the target; the answer is the one after it.
        misses = np.flatnonzero(~meets)
        start = int(misses[-1]) + 1 if len(misses) else 0
        return float(self.thresholds[start])

    def at(self, threshold: float) -> tuple[float, float]:
        """(quality, tier share) on held-out outcomes at `threshold` (NEVER: all to the best)."""
        if threshold == NEVER or not len(self.thresholds):
            return 1.0, 0.0
        index = int(np.searchsorted(self.thresholds, threshold, side="left"))
        index = min(index, len(self.thresholds) - 1)
        return float(self.quality[index]), float(self.tier_share[index])


@dataclass(frozen=True, slots=True)
class TierQualityModel:
    """One tier below the best: the probability that its answer is as good as the best tier's."""

    tier: str
    method: str  # one of QUALITY_METHODS
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    platt: tuple[float, float]  # calibrated p = sigmoid(a * raw_logit + b)
    curve: QualityCurve
    weights: np.ndarray | None = None  # logistic: (dim + n_features,)
    bias: float = 0.0
    neighbour_vectors: np.ndarray | None = None  # knn: (n, dim) float32, L2-normalised
    neighbour_labels: np.ndarray | None = None  # knn: (n,) 0/1
    k: int = 25

    def raw_logit(self, vector: np.ndarray, features: np.ndarray) -> float:
        if self.method == "knn":
            similarities = self.neighbour_vectors @ vector
            k = min(self.k, len(similarities))
            nearest = np.argpartition(-similarities, k - 1)[:k]
            return _logit(float(self.neighbour_labels[nearest].mean()))
        scaled = (features - self.feature_mean) / self.feature_scale
        dim = len(vector)
        return float(self.weights[:dim] @ vector + self.weights[dim:] @ scaled + self.bias)

    def probability(self, vector: np.ndarray, features: np.ndarray) -> float:
        a, b = self.platt
        return _sigmoid(a * self.raw_logit(vector, features) + b)


@dataclass(frozen=True, slots=True)
class QualityHead:
    """A fitted predictor for one router: its tiers below `best_tier`, cheapest first."""

    encoder_name: str
    best_tier: str
    tiers: tuple[TierQualityModel, ...]
    outcomes: int = 0  # outcome records it was fitted on
    trained_at: str = ""
    label: str = ""  # e.g. "training 12", for the trace


@dataclass(slots=True)
class QualityChoice:
    tier: str  # the tier the predictor chose (a lower one, or the best)
    predictions: list[TierPrediction] = field(default_factory=list)
    note: str = ""


class QualityPredictor:
    """A QualityHead bound to one snapshot's tiers; thresholds cached per quality target."""

    def __init__(self, head: QualityHead, tiers: Sequence[TierSpec], encoder_name: str):
        self.head = head
        self.problem = ""
        by_name = {tier.name: tier for tier in tiers if tier.enabled}
        if head.encoder_name != encoder_name:
            self.problem = (
                f"quality head was fitted with encoder {head.encoder_name!r}, not "
                f"{encoder_name!r}: retrain it"
            )
        elif head.best_tier not in by_name:
            self.problem = f"quality head's best tier {head.best_tier!r} is not an enabled tier"
        self.models = [model for model in head.tiers if model.tier in by_name]
        self._thresholds: dict[float, list[float]] = {}

    @property
    def usable(self) -> bool:
        return not self.problem and bool(self.models)

    def thresholds(self, target: float) -> list[float]:
        found = self._thresholds.get(target)
        if found is None:
            found = [model.curve.threshold_for(target) for model in self.models]
            self._thresholds[target] = found
        return found

    def choose(self, query: str, vector: np.ndarray, target: float) -> QualityChoice:
        """The cheapest tier predicted good enough for `query` at `target`, else the best tier."""
        features = quality_features(query)
        choice = QualityChoice(tier=self.head.best_tier)
        for model, threshold in zip(self.models, self.thresholds(target), strict=True):
            probability = model.probability(vector, features)
            good = threshold != NEVER and probability >= threshold
            choice.predictions.append(
                TierPrediction(
                    model.tier, probability, None if threshold == NEVER else threshold, good
                )
            )
            if good and choice.tier == self.head.best_tier:
                choice.tier = model.tier
        picked = next((p for p in choice.predictions if p.tier == choice.tier), None)
        target_text = f"{target:.0%} of {self.head.best_tier}'s quality"
        if picked is not None:
            choice.note = (
                f"quality predictor: {picked.tier} is good enough (p {picked.probability:.2f} >= "
                f"{picked.threshold:.2f}, the threshold for {target_text})"
            )
        else:
            below = ", ".join(
                f"{p.tier} p {p.probability:.2f} < "
                + ("never at this target" if p.threshold is None else f"{p.threshold:.2f}")
                for p in choice.predictions
            )
            choice.note = f"quality predictor: {self.head.best_tier} ({below}; for {target_text})"
        return choice


# -- the document the head travels in (JSON-safe; made by analytics, read at compile) ----------


def _floats(values) -> list[float]:
    return [float(value) for value in np.asarray(values, dtype=np.float64).ravel()]


def _b64(array: np.ndarray, dtype) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def _from_b64(text: str, dtype) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).copy()


def quality_head_document(head: QualityHead) -> dict:
    """`head` as a JSON-safe document (the inverse of quality_head_from_document)."""
    tiers = []
    for model in head.tiers:
        entry = {
            "tier": model.tier,
            "method": model.method,
            "feature_mean": _floats(model.feature_mean),
            "feature_scale": _floats(model.feature_scale),
            "platt": [float(model.platt[0]), float(model.platt[1])],
            "curve": {
                "thresholds": _floats(model.curve.thresholds),
                "quality": _floats(model.curve.quality),
                "tier_share": _floats(model.curve.tier_share),
                "held_out": int(model.curve.held_out),
                "tier_mean": float(model.curve.tier_mean),
                "best_mean": float(model.curve.best_mean),
            },
        }
        if model.method == "knn":
            entry["k"] = int(model.k)
            entry["dim"] = int(model.neighbour_vectors.shape[1])
            entry["neighbour_vectors"] = _b64(model.neighbour_vectors, np.float32)
            entry["neighbour_labels"] = _floats(model.neighbour_labels)
        else:
            entry["weights"] = _floats(model.weights)
            entry["bias"] = float(model.bias)
        tiers.append(entry)
    return {
        "format": QUALITY_HEAD_FORMAT,
        "encoder": head.encoder_name,
        "best_tier": head.best_tier,
        "outcomes": int(head.outcomes),
        "trained_at": head.trained_at,
        "label": head.label,
        "features": list(FEATURE_NAMES),
        "tiers": tiers,
    }


def quality_head_from_document(document: dict) -> QualityHead:
    """Read a head document; SnapshotError names what is wrong with it."""
    if not isinstance(document, dict) or document.get("format") != QUALITY_HEAD_FORMAT:
        raise SnapshotError(f"quality head document is not {QUALITY_HEAD_FORMAT}")
    if list(document.get("features", [])) != list(FEATURE_NAMES):
        raise SnapshotError("quality head was fitted on other text features: retrain it")
    try:
        models = []
        for entry in document["tiers"]:
            curve = entry["curve"]
            method = entry["method"]
            if method not in QUALITY_METHODS:
                raise SnapshotError(f"quality head method {method!r} unknown")
            common = dict(
                tier=str(entry["tier"]),
                method=method,
                feature_mean=np.array(entry["feature_mean"], dtype=np.float64),
                feature_scale=np.array(entry["feature_scale"], dtype=np.float64),
                platt=(float(entry["platt"][0]), float(entry["platt"][1])),
                curve=QualityCurve(
                    thresholds=np.array(curve["thresholds"], dtype=np.float64),
                    quality=np.array(curve["quality"], dtype=np.float64),
                    tier_share=np.array(curve["tier_share"], dtype=np.float64),
                    held_out=int(curve["held_out"]),
                    tier_mean=float(curve["tier_mean"]),
                    best_mean=float(curve["best_mean"]),
                ),
            )
            if method == "knn":
                vectors = _from_b64(entry["neighbour_vectors"], np.float32)
                models.append(
                    TierQualityModel(
                        **common,
                        neighbour_vectors=vectors.reshape(-1, int(entry["dim"])),
                        neighbour_labels=np.array(entry["neighbour_labels"], dtype=np.float64),
                        k=int(entry["k"]),
                    )
                )
            else:
                models.append(
                    TierQualityModel(
                        **common,
                        weights=np.array(entry["weights"], dtype=np.float64),
                        bias=float(entry["bias"]),
                    )
                )
        return QualityHead(
            encoder_name=str(document["encoder"]),
            best_tier=str(document["best_tier"]),
            tiers=tuple(models),
            outcomes=int(document.get("outcomes", 0)),
            trained_at=str(document.get("trained_at", "")),
            label=str(document.get("label", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SnapshotError(f"quality head document is malformed: {exc}") from exc


def predicted_tier(
    predictor: QualityPredictor | None,
    *,
    query: str,
    vector: np.ndarray | None,
    quality_target: float | None,
    failed: bool,
    tiers: dict[str, TierSpec],
    trace: Trace,
) -> TierSpec | None:
    """The tier the quality predictor picks for one decision (None: the complexity floors decide).

    Off without a quality target or a usable head, for a failed decision (its fallback tier
    answers) and without a query vector; the trace gets the probabilities and the reason.
    """
    if predictor is None or quality_target is None or failed:
        return None
    if not predictor.usable:
        trace.notes.append(
            f"{predictor.problem or 'quality head has no enabled tier'}; complexity decides"
        )
        return None
    if vector is None:
        return None
    choice = predictor.choose(query, vector, quality_target)
    trace.tier_predictions = choice.predictions
    trace.notes.append(choice.note)
    return tiers.get(choice.tier)
