"""The cascade's stages for hard queries: language, several requests, negation, retrieved context.

CompiledRouter.STAGES runs them between its own (each takes the router, the batch and its
undecided queries, like the router's methods). Every one is off, or inert, unless the policy
turns it on or the caller sends a context, so a router that configures none of them routes
exactly as before (tests/engine/test_hard_queries_off.py pins that).

- `language_stage` (after rules; `detect_language`): the query's language (language.py). A
  language the encoder does not cover sends the query to the LLM band when one is configured
  (trace.llm_reason "language"), else the unsupported-language policy answers: no intent from
  the embedding, the fallback intent and tier, and `unsupported_language_handler` when set.
  A near-duplicate of an example still wins (the example says what the query means).
- `parts_stage` (before encoding; `split_intents`): cut a long message into parts
  (clauses.py); the encode stage embeds them in the same batch as the queries.
- `intent_checks_stage` (after the embedding stage): each part is classified; other intents
  that clear their own thresholds become `secondary_intents`, and a message whose whole gets no
  intent takes its most confident part's. Then negation (`detect_negation`, negation.py): a
  negated top intent goes to the LLM band when one is configured (trace.llm_reason
  "negation"), and its confidence is multiplied by `negation_confidence_factor` either way,
  which drops it below any threshold of 0.3 or more with the default factor (0.98 x 0.3 = 0.29).
- `context_stage` (after complexity): a retrieved context (context.py) and the parts' own
  complexity can raise the level; the tier stage adds the context's tokens to the input cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .clauses import marked_requests, split_parts
from .context import RetrievedContext, context_level
from .decision import MessagePart, SecondaryIntent, Trace
from .errors import SnapshotError
from .language import (
    LanguageGuess,
    detect_language,
    encoder_languages,
    language_covered,
    language_detector,
)
from .negation import EvidenceIndex
from .snapshot import COMPLEXITY_LEVELS, Policy

_DEFAULT_POLICY = Policy()


@dataclass(slots=True)
class QueryFacts:
    """What the hard-query stages learn about one query on its way through the cascade."""

    context: RetrievedContext | None = None
    language: LanguageGuess | None = None
    unsupported_language: bool = False
    parts: list[str] = field(default_factory=list)
    part_vectors: np.ndarray | None = None
    part_level: int = 0  # the highest complexity level index of the parts
    llm_reason: str = ""  # "negation" / "language": ask the LLM whatever the confidence
    handler: str | None = None  # the unsupported-language handler, for a fallback decision
    extra_min_tiers: list[str] = field(default_factory=list)  # the secondary intents' floors

    @property
    def language_code(self) -> str:
        return self.language.code if self.language is not None else ""

    @property
    def context_tokens(self) -> int:
        return self.context.tokens if self.context is not None else 0


def validate_policy(policy: Policy) -> None:
    """Raise SnapshotError for hard-query settings that cannot work."""
    if not 0.0 <= policy.negation_confidence_factor <= 1.0:
        raise SnapshotError(
            f"negation_confidence_factor must be within 0..1, got {policy.negation_confidence_factor}"
        )
    for kind in ("documents", "tokens"):
        moderate = getattr(policy, f"context_{kind}_moderate")
        complex_ = getattr(policy, f"context_{kind}_complex")
        if moderate < 1 or complex_ < moderate:
            raise SnapshotError(
                f"context_{kind}_moderate must be at least 1 and at most context_{kind}_complex, "
                f"got {moderate} and {complex_}"
            )


def prepare(policy: Policy) -> None:
    """Load what the policy's stages need at compile time, not in the first request."""
    if policy.detect_language:
        language_detector()
        detect_language("warm up the detector")  # its first call still pays ~20 ms


def evidence_index(router) -> EvidenceIndex:
    """The router's negation vocabulary, built on first use (a router that never checks
    negation never pays for it); building it twice in a race is harmless."""
    index = getattr(router, "_evidence_index", None)
    if index is None:
        snapshot = router.snapshot
        index = EvidenceIndex(
            [intent.name for intent in snapshot.intents],
            snapshot.example_texts,
            snapshot.example_intents,
        )
        router._evidence_index = index
    return index


def _llm_band(batch) -> bool:
    return batch.llm is not None and batch.policy.ambiguity_high > batch.policy.ambiguity_low


# -- stages -------------------------------------------------------------------------------


def language_stage(router, batch, items) -> None:
    if not batch.policy.detect_language:
        return
    covered = encoder_languages(batch.encoder)
    for item in items:
        if not item.query.strip():
            continue
        with item.trace.timed("language") as clock:
            guess = item.facts.language = detect_language(item.query)
            item.facts.unsupported_language = not language_covered(guess.code, covered)
            clock.outcome = f"{guess.code or 'undetermined'} ({guess.reason})"
            if item.facts.unsupported_language:
                clock.outcome += f"; not covered by encoder {batch.encoder.name}"


def parts_stage(router, batch, items) -> None:
    if not batch.policy.split_intents:
        return
    for item in items:
        if item.stage == "rule" or not item.query.strip():
            continue
        with item.trace.timed("split") as clock:
            item.facts.parts = split_parts(item.query)
            clock.outcome = f"{len(item.facts.parts)} parts" if item.facts.parts else "one request"


def part_texts(items) -> list[str]:
    """The parts of `items`, in order, to encode after the queries themselves."""
    return [text for item in items for text in item.facts.parts]


def assign_part_vectors(items, matrix: np.ndarray) -> None:
    """Hand each item its parts' rows of `matrix` (rows in `part_texts` order)."""
    row = 0
    for item in items:
        count = len(item.facts.parts)
        if count:
            item.facts.part_vectors = matrix[row : row + count]
            row += count


def intent_checks_stage(router, batch, items) -> None:
    policy = batch.policy
    llm_band = _llm_band(batch)
    for item in items:
        if item.classification is None:
            continue  # decided by a rule, or an empty query
        if item.facts.unsupported_language:
            _unsupported_language(batch, item, llm_band)
            continue
        if item.facts.part_vectors is not None:
            _score_parts(router, policy, item)
        if policy.detect_negation:
            _check_negation(router, policy, item, llm_band)


def context_stage(router, batch, items) -> None:
    for item in items:
        facts = item.facts
        if facts.context is None and not facts.part_level:
            continue
        with item.trace.timed("context") as clock:
            estimate = item.complexity
            level = max(COMPLEXITY_LEVELS.index(estimate.level), facts.part_level)
            if facts.part_level:
                estimate.signals.append(f"a part is {COMPLEXITY_LEVELS[facts.part_level]}")
            if facts.context is not None:
                context_index, signal = context_level(facts.context, batch.policy)
                level = max(level, context_index)
                estimate.signals.append(signal)
            estimate.level = COMPLEXITY_LEVELS[level]
            clock.outcome = f"{estimate.level} ({'; '.join(estimate.signals)})"


# -- the checks ---------------------------------------------------------------------------


def _unsupported_language(batch, item, llm_band: bool) -> None:
    if item.classification.matched_example:
        item.trace.notes.append(
            f"language {item.facts.language_code}: kept, the query is a near-duplicate example"
        )
        return
    covers = ", ".join(sorted(encoder_languages(batch.encoder) or ()))
    reason = (
        f"language {item.facts.language_code} is not covered by encoder "
        f"{batch.encoder.name} (covers {covers})"
    )
    if item.intent is not None:
        reason += f"; the embedding answer {item.intent} {item.confidence:.3f} is not used"
    item.intent, item.stage = None, "fallback"
    item.facts.handler = batch.policy.unsupported_language_handler or None
    if llm_band:
        item.facts.llm_reason = "language"
        item.fallback_reason = reason
        item.trace.notes.append(f"{reason}; asking the LLM stage")
    else:
        item.fallback_reason, item.failed = f"{reason}: unsupported-language policy", True
        item.trace.notes.append(item.fallback_reason)


def _nearest_example_of(classification, intent: str) -> str | None:
    for example in classification.nearest_examples:
        if example.intent == intent:
            return example.text
    return None


def _score_parts(router, policy: Policy, item) -> None:
    facts = item.facts
    with item.trace.timed("parts") as clock:
        parts: list[MessagePart] = []
        for text, vector in zip(facts.parts, facts.part_vectors, strict=True):
            result = router._classification(text, vector, policy, Trace())
            intent = result.intent
            if (
                intent is not None
                and policy.detect_negation
                and not result.matched_example
                and evidence_index(router)
                .check(text, intent, _nearest_example_of(result, intent))
                .negated
            ):
                item.trace.negated.append(intent)
                intent = None
            parts.append(MessagePart(text, intent, float(result.confidence)))
            level = router.complexity.estimate(text, vector).level
            facts.part_level = max(facts.part_level, COMPLEXITY_LEVELS.index(level))
        item.trace.parts = parts
        if item.intent is None and not item.failed and any(part.intent for part in parts):
            best = max((part for part in parts if part.intent), key=lambda part: part.confidence)
            item.intent, item.confidence, item.stage = best.intent, best.confidence, "embedding"
            item.fallback_reason = ""
            item.trace.notes.append(f"the whole message got no intent; its part {best.text!r} did")
        seen = {item.intent}
        for part, marked in zip(parts, marked_requests(facts.parts), strict=True):
            if marked and part.intent is not None and part.intent not in seen:
                seen.add(part.intent)
                item.trace.secondary_intents.append(
                    SecondaryIntent(part.intent, part.confidence, part.text)
                )
                spec = router.intent_by_name[part.intent]
                if spec.min_tier:
                    facts.extra_min_tiers.append(spec.min_tier)
        secondary = [entry.intent for entry in item.trace.secondary_intents]
        clock.outcome = (
            f"{len(parts)} parts; secondary: {', '.join(secondary)}"
            if secondary
            else f"{len(parts)} parts; no other intent"
        )


def _check_negation(router, policy: Policy, item, llm_band: bool) -> None:
    if item.stage != "embedding" or item.classification.matched_example:
        return
    intent = item.intent
    with item.trace.timed("negation") as clock:
        check = evidence_index(router).check(
            item.query, intent, _nearest_example_of(item.classification, intent)
        )
        clock.outcome = f"negated: {intent}" if check.negated else (check.reason or "no cue")
    if not check.negated:
        return
    item.trace.negated.insert(0, intent)
    lowered = item.confidence * policy.negation_confidence_factor
    threshold = router._threshold(router.intent_by_name[intent], policy)
    rule = (
        f"negated: {intent} ({check.reason}); confidence {item.confidence:.3f} x "
        f"{policy.negation_confidence_factor:g} = {lowered:.3f}"
    )
    item.confidence = lowered
    if lowered < threshold:
        item.intent, item.stage = None, "fallback"
        item.fallback_reason = f"{rule} < threshold {threshold:.3f}"
        item.trace.notes.append(item.fallback_reason)
    else:
        item.trace.notes.append(f"{rule} >= threshold {threshold:.3f}: kept")
    if llm_band:
        item.facts.llm_reason = "negation"
