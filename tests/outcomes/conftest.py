"""Outcome fixtures: the demo router, synthetic outcomes whose right answer is known, API clients."""

from __future__ import annotations

import pytest

from analytics.outcomes.parsing import OutcomeIn
from tests.api.conftest import _api_state, api, client_for, make_key  # noqa: F401

CHEAP, MIDDLE, BEST = "gpt-4o-mini", "gpt-4o", "claude-sonnet-4"
# Small talk the cheap tier always gets right; proofs it never does (the best tier always does).
EASY = [f"thanks so much for your help, have a nice day number {i}" for i in range(40)]
HARD = [
    f"prove that the sequence a_{i} = {i} n^2 + 1 converges, with every step" for i in range(40)
]


def known_outcomes() -> list[OutcomeIn]:
    rows = []
    for query in EASY + HARD:
        good = query in EASY
        rows.append(OutcomeIn(query, CHEAP, float(good), good))
        rows.append(OutcomeIn(query, BEST, 1.0, True))
    return rows


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs the after-commit work (the fitting task) when the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client
