"""The compiled router: one snapshot's rules, classifiers and tiers, and the routing cascade.

rules -> embedding classifier -> LLM stage (ambiguous band only) -> fallback, then complexity,
tier policy and cost. Every stage's time goes into the decision's trace in microseconds.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .cache import DecisionCache, decision_cache_key
from .classifiers import (
    NEAR_DUPLICATE_SIMILARITY,
    IntentClassifier,
    SimilarityFloor,
    learn_similarity_floor,
    normalised_centroids,
)
from .complexity import ComplexityClassifier, ComplexityEstimate
from .decision import Decision, IntentScore, NearestExample, StageTiming, Trace
from .encoders import Encoder, count_tokens
from .errors import EncoderMismatch, LLMStageError, SnapshotError
from .llm_stage import IntentLLM
from .rules import RuleOutcome, compile_rules, evaluate_rules
from .snapshot import (
    CLASSIFICATION_METHODS,
    COMPLEXITY_LEVELS,
    KNN_AGGREGATIONS,
    IntentSpec,
    Policy,
    RouterSnapshot,
    TierSpec,
)
from .tier_policy import choose_tier, middle_tier, most_expensive_tier, tier_cost_usd

TOP_INTENTS_IN_TRACE = 5
NEAREST_EXAMPLES_IN_TRACE = 5
# Intents whose examples are searched for the trace's nearest examples (best-scoring first).
NEAREST_EXAMPLE_INTENTS = 3


def _micros_since(start_ns: int) -> int:
    return (time.perf_counter_ns() - start_ns) // 1000


def strategy_key(snapshot: RouterSnapshot, policy: Policy, *, with_llm: bool) -> str:
    """Identify everything besides the query that shapes a decision (for the cache key)."""
    policy_digest = hashlib.blake2b(repr(policy).encode("utf-8"), digest_size=6).hexdigest()
    return (
        f"{snapshot.slug}:{snapshot.fingerprint}:{policy.method}:{policy_digest}:"
        f"{'llm' if with_llm else 'nollm'}"
    )


@dataclass(slots=True)
class _Classification:
    """The embedding stage's result for one query."""

    intent: str | None
    confidence: float
    calibrated: bool
    top_intents: list[IntentScore] = field(default_factory=list)
    nearest_examples: list[NearestExample] = field(default_factory=list)
    outcome: str = ""
    out_of_domain: bool = False  # failed the similarity floor: no intent, and no LLM stage


def _copy_decision(decision: Decision) -> Decision:
    """A copy sharing nothing mutable with `decision` at the Decision/Trace level."""
    trace = decision.trace
    return replace(
        decision,
        trace=Trace(
            stages=list(trace.stages),
            top_intents=list(trace.top_intents),
            nearest_examples=list(trace.nearest_examples),
            matched_rules=list(trace.matched_rules),
            fallback_reason=trace.fallback_reason,
            similarity=trace.similarity,
            similarity_floor=trace.similarity_floor,
            notes=list(trace.notes),
        ),
    )


class CompiledRouter:
    """A router version ready to route: build it with `compile_router(snapshot)`."""

    def __init__(self, snapshot: RouterSnapshot):
        self.snapshot = snapshot
        _validate(snapshot)
        self.intents: tuple[IntentSpec, ...] = snapshot.intents
        self.intent_index = {intent.name: i for i, intent in enumerate(self.intents)}
        self.intent_by_name = {intent.name: intent for intent in self.intents}
        self.tier_by_name = {tier.name: tier for tier in snapshot.tiers}
        self.enabled_tiers = [tier for tier in snapshot.tiers if tier.enabled]
        self.example_vectors = np.ascontiguousarray(snapshot.example_vectors, dtype=np.float32)
        self.example_labels = np.array(
            [self.intent_index[name] for name in snapshot.example_intents], dtype=np.int64
        )
        self.examples_by_intent = [
            _as_slice(np.flatnonzero(self.example_labels == i)) for i in range(len(self.intents))
        ]
        self.centroids = normalised_centroids(
            self.example_vectors, self.example_labels, len(self.intents)
        )
        self.learned_similarity_floor = learn_similarity_floor(
            self.example_vectors, self.example_labels, len(self.intents)
        )
        self.rules = compile_rules(snapshot.rules)
        self.complexity = ComplexityClassifier(
            snapshot.complexity_vectors, snapshot.complexity_levels
        )
        self._classifiers: dict[tuple, IntentClassifier] = {}
        self._classifiers_lock = threading.Lock()
        count_tokens("")  # load the tokenizer now rather than inside the first request
        if len(self.example_labels):
            self.classifier_for(snapshot.policy)

    @property
    def version(self) -> int:
        return self.snapshot.version

    def classifier_for(self, policy: Policy) -> IntentClassifier | None:
        """The classifier for the policy's method, trained on first use and kept."""
        if not len(self.example_labels):
            return None
        key = (
            (policy.method, policy.top_k, policy.aggregation)
            if policy.method == "knn"
            else (policy.method,)
        )
        classifier = self._classifiers.get(key)
        if classifier is not None:
            return classifier
        with self._classifiers_lock:
            classifier = self._classifiers.get(key)
            if classifier is None:
                classifier = IntentClassifier(
                    policy.method,
                    self.example_vectors,
                    self.example_labels,
                    len(self.intents),
                    top_k=policy.top_k,
                    aggregation=policy.aggregation,
                )
                self._classifiers[key] = classifier
        return classifier

    # -- routing --------------------------------------------------------------------------

    def route(
        self,
        query: str,
        *,
        encoder: Encoder,
        llm: IntentLLM | None = None,
        cache: DecisionCache | None = None,
        policy: Policy | None = None,
    ) -> Decision:
        """Route one query through the cascade; see the module docstring for the stages."""
        return self.route_batch([query], encoder=encoder, llm=llm, cache=cache, policy=policy)[0]

    def route_batch(
        self,
        queries: Sequence[str],
        *,
        encoder: Encoder,
        llm: IntentLLM | None = None,
        cache: DecisionCache | None = None,
        policy: Policy | None = None,
    ) -> list[Decision]:
        """Route several queries; the uncached ones that need a vector are encoded in one batch."""
        self._check_encoder(encoder)
        policy = policy or self.snapshot.policy
        if policy is not self.snapshot.policy:
            _validate_policy(self.snapshot, policy)
        strategy = strategy_key(self.snapshot, policy, with_llm=llm is not None)
        decisions: list[Decision | None] = [None] * len(queries)
        pending: list[tuple[int, int, Trace, RuleOutcome, str]] = []
        to_store: dict[str, Decision] = {}
        keys = [decision_cache_key(q, version=self.version, strategy=strategy) for q in queries]
        lookup_start = time.perf_counter_ns()
        hits = cache.get_many(keys) if cache is not None and queries else {}
        # Each query's latency includes its share of the one cache lookup.
        lookup_share_ns = (time.perf_counter_ns() - lookup_start) // max(1, len(queries))
        for position, (query, cache_key) in enumerate(zip(queries, keys, strict=True)):
            start_ns = time.perf_counter_ns() - lookup_share_ns
            hit = hits.get(cache_key)
            if hit is not None:
                decisions[position] = self._cache_hit(hit, start_ns)
                continue
            trace = Trace()
            rules_start = time.perf_counter_ns()
            outcome = evaluate_rules(self.rules, query)
            trace.stages.append(
                StageTiming("rules", _micros_since(rules_start), _rules_summary(outcome))
            )
            trace.matched_rules = [rule.id for rule in outcome.matched]
            for rule_id in outcome.timed_out:
                trace.notes.append(
                    f"rule {rule_id} timed out (min-tier rules still apply, others skipped)"
                )
            if outcome.decisive is not None and outcome.decisive.action == "block":
                decisions[position] = to_store[cache_key] = self._blocked(outcome, trace, start_ns)
                continue
            pending.append((position, start_ns, trace, outcome, cache_key))

        # Encode every query that still needs a vector in one batch.
        needs_vector = [
            item
            for item in pending
            if queries[item[0]].strip()
            and (item[3].decisive is None or self.complexity.needs_vector)
        ]
        vectors: dict[int, np.ndarray] = {}
        if needs_vector:
            encode_start = time.perf_counter_ns()
            matrix = encoder.encode([queries[item[0]] for item in needs_vector])
            encode_micros = _micros_since(encode_start)
            per_query = max(1, encode_micros // len(needs_vector))
            for row, item in enumerate(needs_vector):
                vectors[item[0]] = matrix[row]
                item[2].stages.append(
                    StageTiming(
                        "encode",
                        encode_micros if len(needs_vector) == 1 else per_query,
                        encoder.name
                        if len(needs_vector) == 1
                        else f"{encoder.name}, batch of {len(needs_vector)}",
                    )
                )

        for position, start_ns, trace, outcome, cache_key in pending:
            decisions[position] = to_store[cache_key] = self._decide(
                queries[position], vectors.get(position), outcome, trace, policy, llm, start_ns
            )
        if cache is not None and policy.cache_ttl_seconds > 0 and to_store:
            cache.set_many(
                {key: _copy_decision(decision) for key, decision in to_store.items()},
                policy.cache_ttl_seconds,
            )
        return decisions

    def _check_encoder(self, encoder: Encoder) -> None:
        if encoder.name != self.snapshot.encoder_name:
            raise EncoderMismatch(
                f"router {self.snapshot.slug!r} v{self.version} was built with encoder "
                f"{self.snapshot.encoder_name!r}, but the query encoder is {encoder.name!r}"
            )

    def _cache_hit(self, cached: Decision, start_ns: int) -> Decision:
        decision = _copy_decision(cached)
        decision.trace.notes.insert(0, f"cache hit (first decided by stage {cached.stage!r})")
        decision.trace.stages.insert(0, StageTiming("cache", _micros_since(start_ns), "hit"))
        decision.cached = True
        decision.stage = "cache"
        decision.latency_ms = (time.perf_counter_ns() - start_ns) / 1e6
        return decision

    def _blocked(self, outcome: RuleOutcome, trace: Trace, start_ns: int) -> Decision:
        rule = outcome.decisive
        return Decision(
            intent=None,
            handler=None,
            confidence=1.0,
            calibrated=False,
            stage="rule",
            complexity=COMPLEXITY_LEVELS[0],
            tier=None,
            model=None,
            provider=None,
            estimated_cost_usd=0.0,
            baseline_cost_usd=0.0,
            latency_ms=(time.perf_counter_ns() - start_ns) / 1e6,
            router_version=self.version,
            blocked=True,
            block_reason=rule.reason or f"blocked by rule {rule.id}",
            trace=trace,
        )

    def _decide(
        self,
        query: str,
        vector: np.ndarray | None,
        outcome: RuleOutcome,
        trace: Trace,
        policy: Policy,
        llm: IntentLLM | None,
        start_ns: int,
    ) -> Decision:
        intent: str | None = None
        confidence = 0.0
        calibrated = False
        stage = "fallback"
        fallback_reason = ""

        if outcome.decisive is not None:
            intent, confidence, stage = outcome.decisive.intent, 1.0, "rule"
        elif vector is None:
            fallback_reason = "empty query"
        else:
            classification = self._classify(vector, policy, trace)
            confidence = classification.confidence
            calibrated = classification.calibrated
            in_band = policy.ambiguity_low <= confidence < policy.ambiguity_high
            if llm is not None and in_band and not classification.out_of_domain:
                llm_start = time.perf_counter_ns()
                try:
                    chosen = llm.classify(query, self.intents, timeout=policy.llm_timeout_seconds)
                except LLMStageError as error:
                    fallback_reason = f"LLM stage failed: {error}"
                    trace.stages.append(
                        StageTiming("llm", _micros_since(llm_start), f"failed: {error}")
                    )
                except Exception as error:  # noqa: BLE001 - an LLM failure must never escape
                    fallback_reason = f"LLM stage failed: {type(error).__name__}: {error}"
                    trace.stages.append(
                        StageTiming("llm", _micros_since(llm_start), f"failed: {error}")
                    )
                else:
                    trace.stages.append(
                        StageTiming("llm", _micros_since(llm_start), f"chose {chosen or 'none'}")
                    )
                    if chosen is None:
                        fallback_reason = "LLM stage found no matching intent"
                    else:
                        intent, stage = chosen, "llm"
            elif classification.intent is not None:
                intent, stage = classification.intent, "embedding"
            else:
                fallback_reason = classification.outcome

        if stage == "fallback":
            trace.fallback_reason = fallback_reason
            intent = policy.fallback_intent

        complexity = self._complexity(query, vector, trace)
        tier, input_tokens, output_tokens = self._choose_tier(
            query, intent, complexity.level, outcome, policy, trace, fallback=stage == "fallback"
        )
        baseline = most_expensive_tier(self.enabled_tiers, input_tokens, output_tokens)
        intent_spec = self.intent_by_name.get(intent) if intent else None
        return Decision(
            intent=intent,
            handler=intent_spec.handler if intent_spec else None,
            confidence=float(confidence),
            calibrated=calibrated,
            stage=stage,
            complexity=complexity.level,
            tier=tier.name if tier else None,
            model=tier.model if tier else None,
            provider=tier.provider if tier else None,
            estimated_cost_usd=tier_cost_usd(tier, input_tokens, output_tokens) if tier else 0.0,
            baseline_cost_usd=(
                tier_cost_usd(baseline, input_tokens, output_tokens) if baseline else 0.0
            ),
            latency_ms=(time.perf_counter_ns() - start_ns) / 1e6,
            router_version=self.version,
            trace=trace,
        )

    def _classify(self, vector: np.ndarray, policy: Policy, trace: Trace) -> _Classification:
        stage_start = time.perf_counter_ns()
        classifier = self.classifier_for(policy)
        if classifier is None:
            result = _Classification(None, 0.0, False, outcome="router has no examples")
            trace.stages.append(
                StageTiming("embedding", _micros_since(stage_start), result.outcome)
            )
            return result
        query_vectors = vector[None, :]
        similarities = None
        if policy.method == "knn":
            similarities = query_vectors @ self.example_vectors.T
        confidences = classifier.confidences(query_vectors, similarities)[0]
        n_top = min(TOP_INTENTS_IN_TRACE, len(confidences))
        top = np.argpartition(-confidences, n_top - 1)[:n_top]
        top = top[np.argsort(-confidences[top])]
        top_intents = [
            IntentScore(
                intent=self.intents[i].name,
                score=float(confidences[i]),
                threshold=self._threshold(self.intents[i], policy),
            )
            for i in top
        ]
        best = top_intents[0]
        floor = self._similarity_floor(policy)
        similarity = float(self.centroids[top[0]] @ vector)
        # Similarity to every example of the best intents: the nearest examples in the trace,
        # and the best intent's nearest example for the in-domain check.
        candidates, candidate_similarities = self._example_similarities(
            vector, top[:NEAREST_EXAMPLE_INTENTS], similarities
        )
        own_count = _count(self.examples_by_intent[top[0]])
        nearest_own = float(candidate_similarities[:own_count].max()) if own_count else -1.0
        trace.similarity, trace.similarity_floor = similarity, floor.value
        result = _Classification(
            intent=None,
            confidence=best.score,
            calibrated=classifier.calibration.calibrated,
            top_intents=top_intents,
        )
        if best.score < best.threshold:
            result.outcome = (
                f"no intent cleared its threshold (best {best.intent} "
                f"{best.score:.3f} < {best.threshold:.3f})"
            )
        elif similarity < floor.value and nearest_own < NEAR_DUPLICATE_SIMILARITY:
            # Confidence only ranks the router's intents; far from all of them is out of scope.
            result.outcome = (
                f"out of domain: similarity to {best.intent} {similarity:.3f} < "
                f"{floor.source} floor {floor.value:.3f} (confidence {best.score:.3f})"
            )
            result.out_of_domain = True
            trace.notes.append(result.outcome)
        else:
            result.intent = best.intent
            in_domain = (
                f"similarity {similarity:.3f} >= {floor.value:.3f}"
                if similarity >= floor.value
                else f"near-duplicate example {nearest_own:.3f}"
            )
            result.outcome = f"{best.intent} {best.score:.3f} ({in_domain})"
        result.nearest_examples = self._nearest_examples(candidates, candidate_similarities)
        trace.top_intents = result.top_intents
        trace.nearest_examples = result.nearest_examples
        trace.stages.append(StageTiming("embedding", _micros_since(stage_start), result.outcome))
        return result

    def _example_similarities(
        self, vector: np.ndarray, intents: np.ndarray, similarities: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices and similarities of the examples of `intents`, in that intent order."""
        indices, values = [], []
        for intent in intents:
            members = self.examples_by_intent[intent]
            if similarities is not None:
                values.append(similarities[0, members])
            else:
                # A slice is a view: no copy of the intent's vectors when examples are grouped.
                values.append(self.example_vectors[members] @ vector)
            indices.append(
                np.arange(members.start, members.stop) if isinstance(members, slice) else members
            )
        if not indices:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        return np.concatenate(indices), np.concatenate(values)

    def _nearest_examples(
        self, candidates: np.ndarray, candidate_similarities: np.ndarray
    ) -> list[NearestExample]:
        if not len(candidates):
            return []
        n_nearest = min(NEAREST_EXAMPLES_IN_TRACE, len(candidates))
        order = np.argpartition(-candidate_similarities, n_nearest - 1)[:n_nearest]
        order = order[np.argsort(-candidate_similarities[order], kind="stable")]
        return [
            NearestExample(
                intent=self.snapshot.example_intents[candidates[i]],
                text=self.snapshot.example_texts[candidates[i]],
                similarity=float(candidate_similarities[i]),
            )
            for i in order
        ]

    def _similarity_floor(self, policy: Policy) -> SimilarityFloor:
        if policy.similarity_floor is not None:
            return SimilarityFloor(policy.similarity_floor, "policy")
        return self.learned_similarity_floor

    def _threshold(self, intent: IntentSpec, policy: Policy) -> float:
        return intent.threshold if intent.threshold is not None else policy.threshold

    def _complexity(
        self, query: str, vector: np.ndarray | None, trace: Trace
    ) -> ComplexityEstimate:
        stage_start = time.perf_counter_ns()
        estimate = self.complexity.estimate(query, vector)
        summary = estimate.level + (f" ({', '.join(estimate.signals)})" if estimate.signals else "")
        trace.stages.append(StageTiming("complexity", _micros_since(stage_start), summary))
        return estimate

    def _choose_tier(
        self,
        query: str,
        intent: str | None,
        level: str,
        outcome: RuleOutcome,
        policy: Policy,
        trace: Trace,
        *,
        fallback: bool,
    ) -> tuple[TierSpec | None, int, int]:
        stage_start = time.perf_counter_ns()
        input_tokens = count_tokens(query)
        output_tokens = int(policy.expected_output_tokens.get(level, 0))
        floors = [float(policy.complexity_min_quality.get(level, 0.0))]
        intent_spec = self.intent_by_name.get(intent) if intent else None
        if intent_spec is not None and intent_spec.min_tier:
            floors.append(self.tier_by_name[intent_spec.min_tier].quality)
        for tier_name in outcome.min_tiers:
            floors.append(self.tier_by_name[tier_name].quality)
        fallback_tier = None
        if fallback:
            fallback_tier = (
                self.tier_by_name[policy.fallback_tier]
                if policy.fallback_tier
                else middle_tier(self.enabled_tiers)
            )
            if fallback_tier is not None:
                floors.append(fallback_tier.quality)
        required = max(floors)
        if (
            fallback_tier is not None
            and fallback_tier.enabled
            and fallback_tier.quality >= required
        ):
            # The configured (or middle) fallback tier, unless a floor demands a better one.
            tier, notes = fallback_tier, [f"fallback tier {fallback_tier.name}"]
        else:
            choice = choose_tier(
                self.enabled_tiers,
                required_quality=required,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                latency_budget_ms=policy.latency_budget_ms,
            )
            tier, notes = choice.tier, choice.notes
        trace.notes.extend(notes)
        summary = f"{tier.name if tier else 'none'} (quality >= {required:g})"
        trace.stages.append(StageTiming("tier_policy", _micros_since(stage_start), summary))
        return tier, input_tokens, output_tokens


def _as_slice(indices: np.ndarray) -> slice | np.ndarray:
    """`indices` as a slice when they are one contiguous run (a view instead of a copy)."""
    if len(indices) and indices[-1] - indices[0] + 1 == len(indices):
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices


def _count(members: slice | np.ndarray) -> int:
    return members.stop - members.start if isinstance(members, slice) else len(members)


def _rules_summary(outcome: RuleOutcome) -> str:
    if not outcome.matched:
        return "no match"
    ids = ", ".join(str(rule.id) for rule in outcome.matched)
    if outcome.decisive is not None:
        return f"matched {ids}; rule {outcome.decisive.id} decides ({outcome.decisive.action})"
    return f"matched {ids}"


def _validate_policy(snapshot: RouterSnapshot, policy: Policy) -> None:
    intent_names = {intent.name for intent in snapshot.intents}
    tier_names = {tier.name for tier in snapshot.tiers}
    if policy.method not in CLASSIFICATION_METHODS:
        raise SnapshotError(
            f"unknown method {policy.method!r} (valid: {', '.join(CLASSIFICATION_METHODS)})"
        )
    if policy.aggregation not in KNN_AGGREGATIONS:
        raise SnapshotError(
            f"unknown kNN aggregation {policy.aggregation!r} (valid: {', '.join(KNN_AGGREGATIONS)})"
        )
    if policy.top_k < 1:
        raise SnapshotError(f"top_k must be at least 1, got {policy.top_k}")
    if policy.fallback_intent is not None and policy.fallback_intent not in intent_names:
        raise SnapshotError(f"fallback intent {policy.fallback_intent!r} is not an intent")
    if policy.fallback_tier is not None and policy.fallback_tier not in tier_names:
        raise SnapshotError(f"fallback tier {policy.fallback_tier!r} is not a tier")


def _validate(snapshot: RouterSnapshot) -> None:
    """Raise SnapshotError for anything that would make routing wrong rather than just slow."""
    intent_names = [intent.name for intent in snapshot.intents]
    if len(set(intent_names)) != len(intent_names):
        raise SnapshotError("intent names must be unique")
    tier_names = [tier.name for tier in snapshot.tiers]
    if len(set(tier_names)) != len(tier_names):
        raise SnapshotError("tier names must be unique")
    known_intents = set(intent_names)
    known_tiers = set(tier_names)
    for intent in snapshot.intents:
        if intent.min_tier is not None and intent.min_tier not in known_tiers:
            raise SnapshotError(f"intent {intent.name!r}: minimum tier {intent.min_tier!r} unknown")
    n_examples = len(snapshot.example_texts)
    if len(snapshot.example_intents) != n_examples:
        raise SnapshotError("example_texts and example_intents differ in length")
    vectors = snapshot.example_vectors
    if vectors is None or vectors.ndim != 2 or vectors.shape[0] != n_examples:
        raise SnapshotError(
            f"example_vectors must be ({n_examples}, dim); got "
            f"{None if vectors is None else vectors.shape}"
        )
    unknown = sorted(set(snapshot.example_intents) - known_intents)
    if unknown:
        raise SnapshotError(f"examples refer to unknown intents: {unknown[:10]}")
    for rule in snapshot.rules:
        if rule.action == "route" and rule.intent not in known_intents:
            raise SnapshotError(f"rule {rule.id} routes to unknown intent {rule.intent!r}")
        if rule.action == "min_tier" and rule.tier not in known_tiers:
            raise SnapshotError(f"rule {rule.id} forces unknown tier {rule.tier!r}")
    if snapshot.complexity_vectors is not None and len(snapshot.complexity_levels):
        if snapshot.complexity_vectors.shape[1:] != vectors.shape[1:] and n_examples:
            raise SnapshotError("complexity vectors and example vectors differ in dimension")
    _validate_policy(snapshot, snapshot.policy)


def compile_router(snapshot: RouterSnapshot) -> CompiledRouter:
    """Validate a snapshot, compile its rules and train the policy's classifier.

    Classifiers for other methods (used by policy overrides) are trained on first use.
    Raises SnapshotError when the snapshot is inconsistent.
    """
    return CompiledRouter(snapshot)
