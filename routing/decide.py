"""Route queries with a router's current configuration: the one entry point for API and console.

Wires the engine to Django: the compiled snapshot for the router's current version, the active
encoder, the decision cache (Redis-backed when REDIS_URL is set) and the LLM stage's client.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from routing.decision_hooks import hooks
from routing.engine import CompiledRouter, Decision, IntentLLM, LocalDecisionCache
from routing.engine.context import RetrievedContext
from routing.engine.errors import SnapshotError
from routing.engine.experiments import ArmPlan, ExperimentPlan, control_decision
from routing.engine.snapshot import Policy, RouterSnapshot
from routing.models import Router
from routing.providers import registry as providers
from routing.runtime import runtime_cache, runtime_register
from routing.snapshots import compiled_router, policy_with_changes
from routing.vectors import active_encoder

logger = logging.getLogger("semroute.decide")

_local_decisions = runtime_register("decisions", LocalDecisionCache(max_entries=20_000))
_llm_by_revision = runtime_cache("llm_stage_by_revision", max_entries=256)
# (experiment id, arm, snapshot fingerprint) -> the arm's Policy: built once, not per request.
_arm_policies = runtime_cache("experiment_arm_policies", max_entries=256)


class SharedDecisionCache:
    """The engine's DecisionCache protocol over Django's cache (Redis in production), with a
    short-lived copy in this process in front of it, so a warm decision costs no round trip.

    A copy lives at most `near_seconds`. Keys carry the router's version and the strategy, so a
    configuration change is never answered from an old copy; the copy only lets an entry outlive
    its Redis TTL by that much in this worker.
    """

    prefix = "semroute:decision:"
    near_seconds = 10

    def __init__(self, near: LocalDecisionCache):
        self.near = near

    def get_many(self, keys: list[str]) -> dict[str, Decision]:
        found = self.near.get_many(keys)
        missing = [self.prefix + key for key in keys if key not in found]
        if missing:
            for key, decision in cache.get_many(missing).items():
                key = key.removeprefix(self.prefix)
                found[key] = decision
                self.near.set(key, decision, self.near_seconds)
        return found

    def set_many(self, decisions: dict[str, Decision], ttl_seconds: int) -> None:
        if ttl_seconds > 0 and decisions:
            cache.set_many(
                {self.prefix + key: decision for key, decision in decisions.items()},
                timeout=ttl_seconds,
            )
            self.near.set_many(decisions, min(ttl_seconds, self.near_seconds))


_shared_decisions = SharedDecisionCache(
    runtime_register("decisions_near", LocalDecisionCache(max_entries=20_000))
)


def decision_cache():
    """Shared across workers when a Redis cache is configured, else in this process."""
    return _shared_decisions if settings.REDIS_URL else _local_decisions


def intent_llm_for(snapshot: RouterSnapshot) -> IntentLLM | None:
    """The LLM stage's classifier: the cheapest enabled tier the provider registry can call.

    None when no tier has a key (the embedded default): ambiguous queries then keep the
    embedding stage's answer. The engine calls it only for confidences inside the policy's
    ambiguity band, with the policy's timeout and budget. Chosen once per revision.
    """
    return _llm_by_revision.get_or_set(
        snapshot.fingerprint, lambda: providers.intent_llm_for(snapshot.tiers)
    )


def decide(
    *,
    router: Router,
    query: str,
    policy: Policy | None = None,
    allow_stale: bool = False,
    context: RetrievedContext | None = None,
    earlier_turns: Sequence[str] = (),
) -> Decision:
    """Route one query with `router`'s current version (or an unsaved `policy` override).

    `allow_stale`: keep answering from the previous version while a new one compiles (API path).
    `context`: the query's retrieved context (routing.retrieved_context parses the API's).
    `earlier_turns`: the conversation's user turns before `query`, oldest first (rules
    with scope "conversation" search them too).
    """
    return decide_batch(
        router=router,
        queries=[query],
        policy=policy,
        allow_stale=allow_stale,
        contexts=[context],
        conversations=[earlier_turns],
    )[0]


def decide_batch(
    *,
    router: Router,
    queries: Sequence[str],
    policy: Policy | None = None,
    allow_stale: bool = False,
    contexts: Sequence[RetrievedContext | None] | None = None,
    conversations: Sequence[Sequence[str]] | None = None,
) -> list[Decision]:
    """Route many queries at once (one encoder batch for the uncached ones), results in order.

    `contexts`: one retrieved context (or None) per query; `conversations`: one tuple of
    earlier user turns (oldest first) per query."""
    compiled = compiled_router(router, allow_stale=allow_stale)
    return compiled.route_batch(
        list(queries),
        encoder=active_encoder(),
        llm=intent_llm_for(compiled.snapshot),
        cache=decision_cache(),
        policy=policy,
        contexts=contexts,
        conversations=conversations,
    )


@dataclass(frozen=True, slots=True)
class ExperimentAssignment:
    """Which experiment and arm decided, and the key that chose the arm (user_id, session_id,
    request)."""

    id: int
    name: str
    arm: str
    assigned_by: str

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "arm": self.arm, "assigned_by": self.assigned_by}


def arm_policy(plan: ExperimentPlan, arm: ArmPlan, snapshot: RouterSnapshot) -> Policy:
    """The arm's policy: its changes over the policy of the version it routes with."""
    if not arm.policy_changes:
        return snapshot.policy
    return _arm_policies.get_or_set(
        (plan.id, arm.name, snapshot.fingerprint),
        lambda: policy_with_changes(snapshot.policy, dict(arm.policy_changes)),
    )


def _arm_routing(
    router: Router, plan: ExperimentPlan, user_id: str | None, session_id: str | None, allow_stale
) -> tuple[ArmPlan, str, CompiledRouter, Policy] | None:
    """The caller's arm, how it was assigned, and what it routes with; None when the arm cannot
    be built (checked when the experiment was made, so rare): live traffic must not fail, it is
    routed with the configuration, outside the experiment."""
    arm, assigned_by = plan.arm_for(user_id=user_id, session_id=session_id)
    try:
        compiled: CompiledRouter = (
            arm.compiled(router)
            if arm.compiled is not None
            else compiled_router(router, allow_stale=allow_stale)
        )
        return arm, assigned_by, compiled, arm_policy(plan, arm, compiled.snapshot)
    except SnapshotError:
        logger.exception("experiment %s arm %s cannot route; routing without it", plan.id, arm.name)
        return None


def decide_for_caller(
    *,
    router: Router,
    queries: Sequence[str],
    user_id: str | None = None,
    session_id: str | None = None,
    allow_stale: bool = False,
    contexts: Sequence[RetrievedContext | None] | None = None,
    conversations: Sequence[Sequence[str]] | None = None,
) -> tuple[list[Decision], ExperimentAssignment | None]:
    """Route a caller's queries, in the arm of the router's running experiment if there is one.

    Every caller that routes live traffic (the route API, the gateway) comes here, so all of them
    assign arms the same way: sticky by user id (or session id, or per request), the arm's
    version and policy, and the control arm answering with the most expensive tier.
    `contexts`, `conversations`: per query, as for decide_batch.
    """
    plan: ExperimentPlan | None = hooks.experiment_for(router)
    arm_routing = (
        _arm_routing(router, plan, user_id, session_id, allow_stale) if plan is not None else None
    )
    if arm_routing is None:
        decisions = decide_batch(
            router=router,
            queries=queries,
            allow_stale=allow_stale,
            contexts=contexts,
            conversations=conversations,
        )
        return decisions, None
    arm, assigned_by, compiled, policy = arm_routing
    decisions = compiled.route_batch(
        list(queries),
        encoder=active_encoder(),
        llm=intent_llm_for(compiled.snapshot),
        cache=decision_cache(),
        policy=policy,
        contexts=contexts,
        conversations=conversations,
    )
    if arm.control:
        decisions = [control_decision(decision, compiled.snapshot.tiers) for decision in decisions]
    return decisions, ExperimentAssignment(plan.id, plan.name, arm.name, assigned_by)
