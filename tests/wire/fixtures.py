"""Reusable pytest fixtures for the local OpenAI and Anthropic wire servers.

tests/conftest.py loads them for the whole suite (`pytest_plugins`).
"""

from __future__ import annotations

import pytest

from tests.wire.anthropic_server import AnthropicWireServer
from tests.wire.openai_server import OpenAIWireServer


@pytest.fixture(scope="session")
def openai_wire():
    """One server for the whole session; prefer `openai_server`, which resets it per test."""
    with OpenAIWireServer() as server:
        yield server


@pytest.fixture
def openai_server(openai_wire):
    """The session's server with no scripted replies and no recorded requests."""
    openai_wire.reset()
    yield openai_wire
    openai_wire.reset()


@pytest.fixture
def openai_client(openai_server):
    """A real `openai.OpenAI` client pointed at the local server, without retries."""
    import openai

    return openai.OpenAI(base_url=openai_server.base_url, api_key="test-key", max_retries=0)


@pytest.fixture(scope="session")
def anthropic_wire():
    """One server for the whole session; prefer `anthropic_server`, which resets it per test."""
    with AnthropicWireServer() as server:
        yield server


@pytest.fixture
def anthropic_server(anthropic_wire):
    """The session's Anthropic server with no scripted replies and no recorded requests."""
    anthropic_wire.reset()
    yield anthropic_wire
    anthropic_wire.reset()
