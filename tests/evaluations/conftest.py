"""Evaluation fixtures: the demo router, a small labelled set of it, API clients (from tests/api)."""

from __future__ import annotations

import pytest

from analytics.evaluations.services import labelled_set_from_examples
from tests.api.conftest import _api_state, api, client_for, make_key  # noqa: F401

# Demo queries with the intent they belong to (None: out of scope), chosen to be unambiguous.
DEMO_LABELLED = [
    ("I want a refund for my last order", "refund"),
    ("why was I charged twice this month", "billing"),
    ("the app crashes every time I open it", "technical_support"),
    ("I can't log in to my account, the password reset never arrives", "account_access"),
    ("what is the weather like in Paris tomorrow", None),
    ("recommend me a good pizza recipe", None),
]


@pytest.fixture
def demo_set(demo_router):
    return labelled_set_from_examples(router=demo_router, examples=DEMO_LABELLED, name="demo")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs the after-commit work (the evaluation task) when the block ends,
    as a real commit would (tests run inside a transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
