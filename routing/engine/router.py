"""The compiled router: one snapshot's rules, classifiers and tiers, and the routing cascade.

rules -> encode -> embedding classifier -> LLM stage (ambiguous band only) -> complexity -> tier
policy (CompiledRouter.STAGES). Every stage's time goes into the decision's trace in
microseconds. "No intent" is a result: its tier follows complexity and rules. Only a failure
(empty query, LLM failure, timeout or exhausted budget without an embedding answer) takes the
fallback tier, which is never the cheapest.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from . import hard_queries
from . import rules as rules_module
from .cache import DecisionCache, conversation_suffix, decision_cache_key, normalise_query
from .classifiers import (
    NEAR_DUPLICATE_SIMILARITY,
    IntentClassifier,
    SimilarityFloor,
    learn_similarity_floor,
    normalised_centroids,
)
from .complexity import ComplexityClassifier, ComplexityEstimate
from .context import RetrievedContext
from .decision import Decision, IntentScore, NearestExample, StageTiming, Trace
from .encoders import Encoder, count_tokens
from .errors import EncoderMismatch, SnapshotError
from .llm_stage import IntentLLM, classify_many
from .quality import QualityPredictor, predicted_tier
from .rules import RuleOutcome, compile_rules, evaluate_rules
from .snapshot import (
    CLASSIFICATION_METHODS,
    COMPLEXITY_LEVELS,
    KNN_AGGREGATIONS,
    IntentSpec,
    Policy,
    RouterSnapshot,
    TierSpec,
    policy_repr,
)
from .tier_policy import decision_tier, fallback_tier, most_expensive_tier, tier_cost_usd

TOP_INTENTS_IN_TRACE = 5
NEAREST_EXAMPLES_IN_TRACE = 5
# Intents whose examples are searched for the trace's nearest examples (best-scoring first).
NEAREST_EXAMPLE_INTENTS = 3


def _micros_since(start_ns: int) -> int:
    return (time.perf_counter_ns() - start_ns) // 1000


def policy_digest(policy: Policy) -> str:
    """A short hash of every policy field: which strategy made a decision (log, cache key)."""
    text = policy_repr(policy)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()


def strategy_key(
    snapshot: RouterSnapshot, policy: Policy, *, with_llm: bool, digest: str | None = None
) -> str:
    """Identify everything besides the query that shapes a decision (for the cache key).

    `digest`: the policy's `policy_digest`, when the caller has it already.
    """
    digest = digest or policy_digest(policy)
    return (
        f"{snapshot.slug}:{snapshot.fingerprint}:{policy.method}:{digest}:"
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
    matched_example: bool = False  # a near-duplicate example decided: no LLM stage either


@dataclass(slots=True)
class _Pending:
    """One uncached query on its way through the stages; `decision` is set once it is decided."""

    position: int
    query: str
    cache_key: str
    start_ns: int
    trace: Trace
    rules: RuleOutcome = field(default_factory=RuleOutcome)
    vector: np.ndarray | None = None
    classification: _Classification | None = None
    intent: str | None = None
    confidence: float = 0.0
    calibrated: bool = False
    stage: str = "fallback"
    fallback_reason: str = ""
    failed: bool = False  # a stage failed (not "no intent"): the fallback tier answers
    cacheable: bool = True  # degraded answers (LLM down) are not cached
    complexity: ComplexityEstimate | None = None
    tier: TierSpec | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    decision: Decision | None = None
    facts: hard_queries.QueryFacts = field(default_factory=hard_queries.QueryFacts)
    earlier_turns: tuple[str, ...] = ()  # for conversation rules, oldest first


@dataclass(slots=True)
class _Batch:
    """What every stage of one `route_batch` call shares."""

    policy: Policy
    policy_digest: str
    encoder: Encoder
    llm: IntentLLM | None
    items: list[_Pending]

    def undecided(self) -> list[_Pending]:
        return [item for item in self.items if item.decision is None]


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
            parts=list(trace.parts),
            secondary_intents=list(trace.secondary_intents),
            negated=list(trace.negated),
            llm_reason=trace.llm_reason,
            tier_predictions=list(trace.tier_predictions),
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
        # Exact (normalised) example texts: a query that is an example is found whatever the
        # method ranks its intent; later examples win (the services refuse duplicates anyway).
        self.example_by_text = {
            normalise_query(text): i for i, text in enumerate(snapshot.example_texts)
        }
        self.centroids = normalised_centroids(
            self.example_vectors, self.example_labels, len(self.intents)
        )
        self.learned_similarity_floor = learn_similarity_floor(
            self.example_vectors, self.example_labels, len(self.intents)
        )
        self.rules = compile_rules(snapshot.rules)
        self.conversation_rules = any(rule.spec.scope == "conversation" for rule in self.rules)
        self.complexity = ComplexityClassifier(
            snapshot.complexity_vectors, snapshot.complexity_levels
        )
        self.policy_digest = policy_digest(snapshot.policy)
        self.quality = (
            QualityPredictor(snapshot.quality_head, snapshot.tiers, snapshot.encoder_name)
            if snapshot.quality_head is not None
            else None
        )
        self._classifiers: dict[tuple, IntentClassifier] = {}
        self._classifiers_lock = threading.Lock()
        count_tokens("")  # load the tokenizer now rather than inside the first request
        hard_queries.prepare(snapshot.policy)
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
        context: RetrievedContext | None = None,
        earlier_turns: Sequence[str] = (),
    ) -> Decision:
        """Route one query through the cascade; see the module docstring for the stages."""
        return self.route_batch(
            [query],
            encoder=encoder,
            llm=llm,
            cache=cache,
            policy=policy,
            contexts=[context],
            conversations=[earlier_turns],
        )[0]

    def route_batch(
        self,
        queries: Sequence[str],
        *,
        encoder: Encoder,
        llm: IntentLLM | None = None,
        cache: DecisionCache | None = None,
        policy: Policy | None = None,
        contexts: Sequence[RetrievedContext | None] | None = None,
        conversations: Sequence[Sequence[str]] | None = None,
    ) -> list[Decision]:
        """Route several queries; the uncached ones that need a vector are encoded in one batch.

        `contexts`: each query's retrieved context (or None), aligned with `queries`.
        `conversations`: each query's earlier user turns, oldest first (or empty), which
        rules with scope "conversation" also search; aligned with `queries`.

        Each stage in STAGES runs once over the batch's undecided queries, in order; a stage
        may decide a query (a block rule), which the later stages then skip.
        """
        self._check_encoder(encoder)
        policy = policy or self.snapshot.policy
        if policy is self.snapshot.policy:
            digest = self.policy_digest
        else:
            _validate_policy(self.snapshot, policy)
            digest = policy_digest(policy)
        strategy = strategy_key(self.snapshot, policy, with_llm=llm is not None, digest=digest)
        decisions: list[Decision | None] = [None] * len(queries)
        contexts = contexts or [None] * len(queries)
        # Earlier turns shape a decision only through conversation rules: without any, they are
        # neither kept nor part of the cache key.
        conversations = (
            [tuple(turns) for turns in (conversations or [()] * len(queries))]
            if self.conversation_rules
            else [()] * len(queries)
        )
        keys = [
            decision_cache_key(
                q,
                version=self.version,
                strategy=strategy + (c.cache_suffix() if c else "") + conversation_suffix(turns),
            )
            for q, c, turns in zip(queries, contexts, conversations, strict=True)
        ]
        lookup_start = time.perf_counter_ns()
        hits = cache.get_many(keys) if cache is not None and queries else {}
        # Each query's latency includes its share of the one cache lookup.
        lookup_share_ns = (time.perf_counter_ns() - lookup_start) // max(1, len(queries))
        batch = _Batch(policy, digest, encoder, llm, items=[])
        for position, (query, cache_key) in enumerate(zip(queries, keys, strict=True)):
            start_ns = time.perf_counter_ns() - lookup_share_ns
            hit = hits.get(cache_key)
            if hit is not None:
                decisions[position] = self._cache_hit(hit, start_ns)
            else:
                item = _Pending(position, query, cache_key, start_ns, Trace())
                item.facts.context = contexts[position]
                item.earlier_turns = conversations[position]
                batch.items.append(item)

        for stage in self.STAGES:
            undecided = batch.undecided()
            if not undecided:
                break
            stage(self, batch, undecided)

        to_store: dict[str, Decision] = {}
        for item in batch.items:
            if item.decision is None:
                item.decision = self._decision(item, batch)
            decisions[item.position] = item.decision
            if item.cacheable:
                to_store[item.cache_key] = item.decision
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

    # -- stages: each takes the batch and its undecided queries -----------------------------

    def _rules_stage(self, batch: _Batch, items: list[_Pending]) -> None:
        per_query = rules_module.RULES_BUDGET_SECONDS
        request_deadline = time.monotonic() + rules_module.RULES_REQUEST_BUDGET_SECONDS
        for item in items:
            trace = item.trace
            with trace.timed("rules") as clock:
                budget = min(per_query, request_deadline - time.monotonic())
                outcome = item.rules = evaluate_rules(
                    self.rules, item.query, earlier_turns=item.earlier_turns, budget_seconds=budget
                )
                clock.outcome = _rules_summary(outcome)
            trace.matched_rules = [rule.id for rule in outcome.matched]
            if outcome.in_earlier_turns:
                trace.notes.append(
                    f"rules {_ids(outcome.in_earlier_turns)} matched an earlier turn "
                    "of the conversation"
                )
            if outcome.timed_out:
                trace.notes.append(
                    f"rules {_ids(outcome.timed_out)} timed out "
                    "(min-tier rules still apply, others skipped)"
                )
            if outcome.over_budget:
                trace.notes.append(
                    f"rules {_ids(outcome.over_budget)} skipped: rules budget spent "
                    f"({per_query * 1000:g} ms per query, "
                    f"{rules_module.RULES_REQUEST_BUDGET_SECONDS:g} s per request; "
                    "min-tier rules still apply)"
                )
            decisive = outcome.decisive
            if decisive is not None and decisive.action == "block":
                item.decision = self._blocked(item, batch)
            elif decisive is not None:
                item.intent, item.confidence, item.stage = decisive.intent, 1.0, "rule"

    def _encode_stage(self, batch: _Batch, items: list[_Pending]) -> None:
        """Encode every query that still needs a vector, in one batch."""
        needs_vector = [
            item
            for item in items
            if item.query.strip()
            and (item.stage != "rule" or self.complexity.needs_vector or self.quality is not None)
        ]
        if not needs_vector:
            return
        encoder = batch.encoder
        encode_start = time.perf_counter_ns()
        parts = hard_queries.part_texts(needs_vector)
        matrix = encoder.encode([item.query for item in needs_vector] + parts)
        hard_queries.assign_part_vectors(needs_vector, matrix[len(needs_vector) :])
        encode_micros = _micros_since(encode_start)
        if len(needs_vector) == 1:
            share, outcome = encode_micros, encoder.name
        else:
            share = max(1, encode_micros // len(needs_vector))
            outcome = f"{encoder.name}, batch of {len(needs_vector)}"
        for row, item in enumerate(needs_vector):
            item.vector = matrix[row]
            item.trace.stages.append(StageTiming("encode", share, outcome))

    def _embedding_stage(self, batch: _Batch, items: list[_Pending]) -> None:
        for item in items:
            if item.stage == "rule":
                continue
            if item.vector is None:
                item.fallback_reason, item.failed = "empty query", True
                continue
            result = item.classification = self._classify(
                item.query, item.vector, batch.policy, item.trace
            )
            item.confidence, item.calibrated = result.confidence, result.calibrated
            if result.intent is not None:
                item.intent, item.stage = result.intent, "embedding"
            else:
                item.fallback_reason = result.outcome

    def _llm_stage(self, batch: _Batch, items: list[_Pending]) -> None:
        """Ask the LLM about queries in the ambiguous band, concurrently, within the budget.

        A failed, skipped or unfinished call keeps an embedding answer that cleared its
        threshold; without one the query fails over to the fallback tier.
        """
        policy = batch.policy
        if batch.llm is None:
            return
        asking = [
            item
            for item in items
            if item.classification is not None
            and (
                item.facts.llm_reason  # negation or language: asked whatever the confidence
                or (
                    not item.classification.out_of_domain
                    and not item.classification.matched_example
                    and policy.ambiguity_low <= item.confidence < policy.ambiguity_high
                )
            )
        ]
        if not asking:
            return
        answers = classify_many(
            batch.llm,
            [item.query for item in asking],
            self.intents,
            timeout=policy.llm_timeout_seconds,
            budget_seconds=policy.llm_budget_seconds,
        )
        for item, answer in zip(asking, answers, strict=True):
            if answer.skipped:
                problem, outcome = answer.skipped, answer.skipped
            elif answer.error:
                problem, outcome = f"LLM stage failed: {answer.error}", f"failed: {answer.error}"
            else:
                outcome = f"chose {answer.intent or 'none'}"
                problem = ""
            item.trace.stages.append(StageTiming("llm", answer.micros, outcome))
            item.trace.llm_reason = item.facts.llm_reason or "ambiguous"
            if not problem:
                if answer.intent is None:
                    item.intent, item.stage = None, "fallback"
                    item.fallback_reason = "LLM stage found no matching intent"
                else:
                    item.intent, item.stage = answer.intent, "llm"
                continue
            item.cacheable = False
            if item.intent is not None:
                item.trace.notes.append(
                    f"{problem}; kept the embedding answer {item.intent} {item.confidence:.3f}"
                )
            else:
                item.trace.notes.append(problem)
                item.fallback_reason, item.failed = problem, True

    def _complexity_stage(self, batch: _Batch, items: list[_Pending]) -> None:
        for item in items:
            with item.trace.timed("complexity") as clock:
                estimate = item.complexity = self.complexity.estimate(item.query, item.vector)
                clock.outcome = estimate.level + (
                    f" ({', '.join(estimate.signals)})" if estimate.signals else ""
                )

    def _tier_stage(self, batch: _Batch, items: list[_Pending]) -> None:
        policy = batch.policy
        for item in items:
            with item.trace.timed("tier_policy") as clock:
                level = item.complexity.level
                item.input_tokens = count_tokens(item.query) + item.facts.context_tokens
                item.output_tokens = int(policy.expected_output_tokens.get(level, 0))
                if item.stage == "fallback":
                    item.intent = policy.fallback_intent
                    if not item.failed:
                        item.trace.notes.append("no intent: the tier follows complexity and rules")
                intent_spec = self.intent_by_name.get(item.intent) if item.intent else None
                min_tiers = [
                    self.tier_by_name[name]
                    for name in (*item.rules.min_tiers, *item.facts.extra_min_tiers)
                ]
                if intent_spec is not None and intent_spec.min_tier:
                    min_tiers.insert(0, self.tier_by_name[intent_spec.min_tier])
                choice = decision_tier(
                    self.enabled_tiers,
                    complexity=level,
                    policy=policy,
                    min_tiers=min_tiers,
                    failure_tier=fallback_tier(policy, self.snapshot.tiers)
                    if item.failed
                    else None,
                    predicted_tier=predicted_tier(
                        self.quality,
                        query=item.query,
                        vector=item.vector,
                        quality_target=policy.quality_target,
                        failed=item.failed,
                        tiers=self.tier_by_name,
                        trace=item.trace,
                    ),
                    input_tokens=item.input_tokens,
                    output_tokens=item.output_tokens,
                )
                item.tier = choice.tier
                item.trace.notes.extend(choice.notes)
                clock.outcome = (
                    f"{choice.tier.name if choice.tier else 'none'} "
                    f"(quality >= {choice.required_quality:g})"
                )

    STAGES = (
        _rules_stage,
        hard_queries.language_stage,
        hard_queries.parts_stage,
        _encode_stage,
        _embedding_stage,
        hard_queries.intent_checks_stage,
        _llm_stage,
        _complexity_stage,
        hard_queries.context_stage,
        _tier_stage,
    )

    # -- decisions -------------------------------------------------------------------------

    def _blocked(self, item: _Pending, batch: _Batch) -> Decision:
        rule = item.rules.decisive
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
            latency_ms=(time.perf_counter_ns() - item.start_ns) / 1e6,
            router_version=self.version,
            policy_digest=batch.policy_digest,
            blocked=True,
            block_reason=rule.reason or f"blocked by rule {rule.id}",
            trace=item.trace,
        )

    def _decision(self, item: _Pending, batch: _Batch) -> Decision:
        if item.stage == "fallback":
            item.trace.fallback_reason = item.fallback_reason
        tier, input_tokens, output_tokens = item.tier, item.input_tokens, item.output_tokens
        baseline = most_expensive_tier(self.enabled_tiers, input_tokens, output_tokens)
        intent_spec = self.intent_by_name.get(item.intent) if item.intent else None
        handler = item.facts.handler if item.stage == "fallback" else None
        return Decision(
            intent=item.intent,
            handler=handler or (intent_spec.handler if intent_spec else None),
            confidence=float(item.confidence),
            calibrated=item.calibrated,
            stage=item.stage,
            complexity=item.complexity.level,
            tier=tier.name if tier else None,
            model=tier.model if tier else None,
            provider=tier.provider if tier else None,
            estimated_cost_usd=tier_cost_usd(tier, input_tokens, output_tokens) if tier else 0.0,
            baseline_cost_usd=(
                tier_cost_usd(baseline, input_tokens, output_tokens) if baseline else 0.0
            ),
            latency_ms=(time.perf_counter_ns() - item.start_ns) / 1e6,
            router_version=self.version,
            policy_digest=batch.policy_digest,
            language=item.facts.language_code,
            trace=item.trace,
        )

    # -- the embedding classifier ---------------------------------------------------------

    def _classify(
        self, query: str, vector: np.ndarray, policy: Policy, trace: Trace
    ) -> _Classification:
        with trace.timed("embedding") as clock:
            result = self._classification(query, vector, policy, trace)
            clock.outcome = result.outcome
        return result

    def _classification(
        self, query: str, vector: np.ndarray, policy: Policy, trace: Trace
    ) -> _Classification:
        classifier = self.classifier_for(policy)
        if classifier is None:
            return _Classification(None, 0.0, False, outcome="router has no examples")
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
        result.nearest_examples = self._nearest_examples(candidates, candidate_similarities)
        trace.top_intents = result.top_intents
        trace.nearest_examples = result.nearest_examples
        matched = self._matched_example(query, vector, result.nearest_examples, policy)
        if matched is not None:
            # A near-duplicate of an example is routed as that example is labelled, whatever the
            # classifier says: an operator's correction takes effect for that query every time.
            result.intent, result.matched_example = matched.intent, True
            result.outcome = (
                f"{matched.intent} (matched example, near-duplicate example "
                f"{matched.similarity:.3f} >= {policy.near_duplicate_similarity:g})"
            )
            trace.notes.append(
                f"matched example {matched.text!r} of {matched.intent} "
                f"(similarity {matched.similarity:.3f})"
            )
        elif best.score < best.threshold:
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
        return result

    def _matched_example(
        self, query: str, vector: np.ndarray, nearest: list[NearestExample], policy: Policy
    ) -> NearestExample | None:
        """The example this query nearly duplicates (cosine >= the policy's bound), if any.

        Searched among the best intents' examples (already scored for the trace) plus an exact
        text match anywhere, so the check costs no pass over every example.
        """
        bound = policy.near_duplicate_similarity
        best = nearest[0] if nearest and nearest[0].similarity >= bound else None
        index = self.example_by_text.get(normalise_query(query))
        if index is not None:
            exact = float(self.example_vectors[index] @ vector)
            if exact >= bound and (best is None or exact > best.similarity):
                best = NearestExample(
                    intent=self.snapshot.example_intents[index],
                    text=self.snapshot.example_texts[index],
                    similarity=exact,
                )
        return best

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


def _as_slice(indices: np.ndarray) -> slice | np.ndarray:
    """`indices` as a slice when they are one contiguous run (a view instead of a copy)."""
    if len(indices) and indices[-1] - indices[0] + 1 == len(indices):
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices


def _count(members: slice | np.ndarray) -> int:
    return members.stop - members.start if isinstance(members, slice) else len(members)


def _ids(rule_ids: list[int]) -> str:
    return ", ".join(str(rule_id) for rule_id in rule_ids)


def _rules_summary(outcome: RuleOutcome) -> str:
    if not outcome.matched:
        summary = "no match"
    else:
        summary = f"matched {_ids([rule.id for rule in outcome.matched])}"
        if outcome.decisive is not None:
            summary += f"; rule {outcome.decisive.id} decides ({outcome.decisive.action})"
    if outcome.timed_out:
        summary += f"; timed out: {_ids(outcome.timed_out)}"
    if outcome.over_budget:
        summary += f"; over budget, skipped: {_ids(outcome.over_budget)}"
    return summary


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
    for name in ("llm_timeout_seconds", "llm_budget_seconds"):
        if not getattr(policy, name) > 0:  # also refuses NaN
            raise SnapshotError(f"{name} must be positive, got {getattr(policy, name)}")
    if not 0.0 < policy.near_duplicate_similarity:
        raise SnapshotError(
            f"near_duplicate_similarity must be positive (above 1.0 turns it off), "
            f"got {policy.near_duplicate_similarity}"
        )
    if policy.quality_target is not None and not 0.0 <= policy.quality_target <= 1.0:
        raise SnapshotError(f"quality_target must be between 0 and 1, got {policy.quality_target}")
    if policy.fallback_intent is not None and policy.fallback_intent not in intent_names:
        raise SnapshotError(f"fallback intent {policy.fallback_intent!r} is not an intent")
    if policy.fallback_tier is not None and policy.fallback_tier not in tier_names:
        raise SnapshotError(f"fallback tier {policy.fallback_tier!r} is not a tier")
    hard_queries.validate_policy(policy)


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
