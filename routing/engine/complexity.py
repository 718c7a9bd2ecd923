"""Complexity estimate (simple / moderate / complex) from labelled examples plus cheap text features.

Without complexity examples the text features decide alone. With examples, a centroid classifier
over their vectors gives the level, and text features (code, length, several questions, maths,
reasoning words) can only raise it: a query that contains code is never "simple".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import regex

from .classifiers import CentroidHead, softmax
from .errors import SnapshotError
from .snapshot import COMPLEXITY_LEVELS

CODE_PATTERN = regex.compile(
    r"```|^\s{4}\S|\b(def|class|function|return|import|public|static|const|let|var|SELECT|"
    r"FROM|WHERE|#include|lambda)\b|[{};]\s*$|=>|\w+\([^)]*\)\s*[{:]|</?\w+>",
    regex.MULTILINE,
)
MATH_PATTERN = regex.compile(
    r"\\(frac|sum|int|sqrt)|∫|∑|√|\b(integral|derivative|equation|"
    r"theorem|prove|proof|probability|matrix|eigen\w*|polynomial|logarithm)\b",
    regex.IGNORECASE,
)
# One operator ("what's 2+2?") is a lookup; a chain of them ("3*x^2 + 2*x = 7") is work.
OPERATOR_NEAR_DIGIT = regex.compile(r"\d\s*[-+*/^=<>]|[-+*/^=<>]\s*\d")
ARITHMETIC_MIN_OPERATORS = 3
REASONING_PATTERN = regex.compile(
    r"\b(step by step|explain why|compare|trade-?offs?|analy[sz]e|design|architecture|"
    r"optimi[sz]e|evaluate|pros and cons|in detail|derive)\b",
    regex.IGNORECASE,
)
# Generous: these patterns are linear on normal text; the bound only matters for huge odd inputs.
FEATURE_TIMEOUT_SECONDS = 0.05
LONG_QUERY_WORDS = 60
VERY_LONG_QUERY_WORDS = 250
# Centroid similarities are cosine values in [-1, 1]; this temperature makes the softmax usable.
CENTROID_TEMPERATURE = 0.05


def _fires(pattern: regex.Pattern, query: str) -> bool:
    """Whether a feature pattern occurs; a timeout counts as present (never under-estimate)."""
    try:
        return pattern.search(query, timeout=FEATURE_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        return True


def _arithmetic(query: str) -> bool:
    try:
        found = OPERATOR_NEAR_DIGIT.findall(query, timeout=FEATURE_TIMEOUT_SECONDS)
    except TimeoutError:
        return True
    return len(found) >= ARITHMETIC_MIN_OPERATORS


@dataclass(slots=True)
class ComplexityEstimate:
    level: str
    signals: list[str] = field(default_factory=list)  # why, for the trace


def text_signals(query: str) -> tuple[int, list[str]]:
    """A feature-based level index (0..2) and the names of the features that fired."""
    signals: list[str] = []
    words = len(query.split())
    questions = query.count("?") + query.count("？")
    points = 0
    if words >= VERY_LONG_QUERY_WORDS:
        points += 2
        signals.append(f"very long ({words} words)")
    elif words >= LONG_QUERY_WORDS:
        points += 1
        signals.append(f"long ({words} words)")
    if _fires(CODE_PATTERN, query):
        points += 1
        signals.append("code")
    if _fires(MATH_PATTERN, query) or _arithmetic(query):
        points += 1
        signals.append("math")
    if questions >= 2:
        points += 1
        signals.append(f"{questions} questions")
    if _fires(REASONING_PATTERN, query):
        points += 1
        signals.append("reasoning")
    return min(points, 2), signals


class ComplexityClassifier:
    """Compiled once per snapshot from its complexity examples (may be empty)."""

    def __init__(self, vectors: np.ndarray | None, levels: tuple[str, ...]):
        self.head: CentroidHead | None = None
        if not levels:
            return
        unknown = sorted(set(levels) - set(COMPLEXITY_LEVELS))
        if unknown:
            raise SnapshotError(f"unknown complexity levels {unknown} (valid: {COMPLEXITY_LEVELS})")
        if vectors is None or len(vectors) != len(levels):
            raise SnapshotError("complexity_vectors must have one row per complexity example")
        labels = np.array([COMPLEXITY_LEVELS.index(level) for level in levels])
        self.head = CentroidHead(
            np.asarray(vectors, dtype=np.float32), labels, len(COMPLEXITY_LEVELS)
        )

    @property
    def needs_vector(self) -> bool:
        return self.head is not None

    def estimate(self, query: str, vector: np.ndarray | None) -> ComplexityEstimate:
        """The complexity level of `query` (its vector is needed only when examples exist)."""
        try:
            feature_level, signals = text_signals(query)
        except TimeoutError:
            feature_level, signals = 1, ["feature scan timed out"]
        if self.head is None or vector is None:
            return ComplexityEstimate(COMPLEXITY_LEVELS[feature_level], signals)
        scores = self.head.scores(vector[None, :])[0]
        probabilities = softmax(scores, CENTROID_TEMPERATURE)
        probabilities[~self.head.has_examples] = 0.0
        example_level = int(np.argmax(probabilities))
        signals.insert(0, f"examples say {COMPLEXITY_LEVELS[example_level]}")
        # Text features can raise the level the examples suggest, never lower it.
        level = max(example_level, feature_level)
        return ComplexityEstimate(COMPLEXITY_LEVELS[level], signals)
