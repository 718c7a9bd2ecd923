"""Review fixtures: decisions routed for real and written through the decision log (whose
after-write hook runs the queue's intake, eagerly), plus the API fixtures."""

from __future__ import annotations

import uuid

import pytest

from analytics.decision_log import decision_log
from analytics.services import decision_record
from routing.decide import decide
from tests.api.conftest import (  # noqa: F401
    APIClient,
    _api_state,
    api,
    client_for,
    error_of,
    make_key,
)


@pytest.fixture
def route_logged():
    """route_logged(router, query, session=None, channel="api", at=None) -> the written decision's id."""

    def route(router, query: str, *, session: str | None = None, channel: str = "api", at=None):
        decision = decide(router=router, query=query)
        decision_id = decision_record(
            router=router,
            query=query,
            decision=decision,
            principal=None,
            session_ref=session,
            channel=channel,
            decision_id=unsampled_id(),  # no test meets the 1% random sample by chance
        )
        if at is not None:
            decision_log.get(decision_id).created_at = at
        decision_log.flush()
        return decision_id

    return route


def sampled_id(rate: float = 0.01) -> uuid.UUID:
    """A decision id inside the random sample at `rate` (the sample is decided by the id)."""
    from analytics.review.intake import decision_sampled

    while True:
        candidate = uuid.uuid4()
        if decision_sampled(candidate, rate):
            return candidate


def unsampled_id(rate: float = 0.01) -> uuid.UUID:
    from analytics.review.intake import decision_sampled

    while True:
        candidate = uuid.uuid4()
        if not decision_sampled(candidate, rate):
            return candidate
