"""The gateway takes the route API's retrieved `context`: it raises the routed tier (complexity
and cost), is never sent on to a provider, and a bad one is a 4xx the OpenAI SDK parses."""

import openai
import pytest

from tests.gateway.conftest import MINI, SIMPLE, SONNET, logged
from tests.wire.anthropic_server import MessageReply
from tests.wire.openai_server import ChatReply

HEAVY = {"documents": 6, "tokens": 9000}  # past the demo policy's complex thresholds (5, 8000)


def _ask(client, **extra_body):
    return client.chat.completions.with_raw_response.create(
        model="support", messages=[{"role": "user", "content": SIMPLE}], extra_body=extra_body
    )


def test_a_heavy_context_routes_a_simple_question_to_the_strong_tier(
    client, openai_server, anthropic_server
):
    openai_server.replies_for(MINI).append(ChatReply("light"))
    light = _ask(client)
    assert light.headers["x-semroute-tier"] == "gpt-4o-mini"

    anthropic_server.replies_for(SONNET).append(MessageReply("read all six"))
    heavy = _ask(client, context=HEAVY)

    assert heavy.headers["x-semroute-tier"] == "claude-sonnet-4"
    assert heavy.parse().choices[0].message.content == "read all six"
    row = logged(heavy.headers["x-semroute-decision-id"])
    assert (row.complexity, row.tier) == ("complex", "claude-sonnet-4")
    [request] = anthropic_server.requests_to("/v1/messages")
    assert "context" not in request


def test_the_context_is_not_passed_through_to_an_openai_tier(client, openai_server):
    openai_server.replies_for(MINI).append(ChatReply("ok"))
    _ask(client, context={"documents": ["The Johnson account renewed in May."]})
    [request] = openai_server.requests_to("/v1/chat/completions")
    assert "context" not in request


@pytest.mark.parametrize(
    "context, error, status",
    [
        ({"documents": "not a list"}, openai.UnprocessableEntityError, 422),
        ({"documents": ["x" * 200_001]}, openai.APIStatusError, 413),
    ],
)
def test_a_bad_context_is_a_4xx_the_sdk_parses(client, openai_server, context, error, status):
    with pytest.raises(error) as raised:
        _ask(client, context=context)
    assert raised.value.status_code == status
    assert "context" in raised.value.message.lower()
    assert openai_server.requests_to("/v1/chat/completions") == []


def test_a_long_conversation_is_a_heavy_request_and_a_short_one_is_not(
    client, openai_server, anthropic_server
):
    """Without a `context`, the conversation's other messages are what the tier will also read."""
    earlier = [
        {"role": "user", "content": "here is our whole design document " + "detail " * 9000},
        {"role": "assistant", "content": "Noted."},
    ]
    anthropic_server.replies_for(SONNET).append(MessageReply("read it all"))
    heavy = client.chat.completions.with_raw_response.create(
        model="support", messages=[*earlier, {"role": "user", "content": SIMPLE}]
    )
    openai_server.replies_for(MINI).append(ChatReply("short"))
    light = client.chat.completions.with_raw_response.create(
        model="support",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": SIMPLE},
        ],
    )

    assert heavy.headers["x-semroute-tier"] == "claude-sonnet-4"
    assert light.headers["x-semroute-tier"] == "gpt-4o-mini"
    heavy_row = logged(heavy.headers["x-semroute-decision-id"])
    light_row = logged(light.headers["x-semroute-decision-id"])
    assert (heavy_row.query, heavy_row.complexity) == (SIMPLE, "complex")
    # The estimate counts the conversation's tokens as input.
    assert heavy_row.estimated_cost_usd > light_row.estimated_cost_usd * 100
