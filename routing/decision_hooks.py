"""The one seam between routing and analytics: the arrows point analytics -> routing, never back.

routing records decisions, and reads the little traffic its configuration pages show (today's
decision count per router, recent queries for the policy preview and the rule tester), through
these hooks. analytics installs its implementations at start-up (AnalyticsConfig.ready). Without
them decisions are not logged and there is no traffic: all routing alone could know.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


def _record_nothing(**_: Any) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in _["decisions"]]


@dataclass(slots=True)
class DecisionLogHooks:
    # record(router=, queries=, decisions=, principal=, user_ref=, session_ref=, metadata=,
    #        channel=, experiment_id=, experiment_arm=, decision_ids=, gateway_facts=)
    #   -> one decision id per decision, in order; must never block or raise.
    #   decision_ids: ids made earlier (the gateway's headers go out before its answer ends);
    #   gateway_facts: the gateway's attempts and totals, by DecisionLog field name.
    record: Callable[..., list[uuid.UUID]] = _record_nothing
    # recent_queries(router, limit) -> distinct logged queries, newest first
    recent_queries: Callable[[Any, int], Sequence[str]] = lambda router, limit: []
    # traffic_today() -> {router id: decisions since local midnight}
    traffic_today: Callable[[], dict[int, int]] = dict
    # gateway_answered(router=, decision_id=, decision=, messages=, answer=, tier=) -> None:
    #   the gateway answered a request (after the last byte); the LLM judge samples these.
    #   Called off the response's critical path; must never block or raise.
    gateway_answered: Callable[..., None] = lambda **_: None
    # experiment_for(router) -> routing.engine.experiments.ExperimentPlan | None: the router's
    #   running experiment. On every routing call: must be an in-process lookup, never a query
    #   per call (analytics caches plans and re-checks them at most every half second).
    experiment_for: Callable[[Any], Any] = lambda router: None


hooks = DecisionLogHooks()


def decision_log_install(**implementations: Callable) -> None:
    """Replace some or all hooks (analytics calls this once, at start-up)."""
    for name, function in implementations.items():
        setattr(hooks, name, function)
