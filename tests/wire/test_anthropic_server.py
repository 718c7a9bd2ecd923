import anthropic
import pytest

from tests.wire.anthropic_server import MessageReply


@pytest.fixture
def client(anthropic_server):
    return anthropic.Anthropic(base_url=anthropic_server.base_url, api_key="test", max_retries=0)


def test_message_reply_is_served_to_the_real_sdk(anthropic_server, client):
    anthropic_server.replies.append(MessageReply(text="hello there"))

    message = client.messages.create(
        model="claude-local",
        max_tokens=50,
        system="be brief",
        messages=[{"role": "user", "content": "hi"}],
    )

    assert [block.text for block in message.content] == ["hello there"]
    assert (message.stop_reason, message.usage.output_tokens) == ("end_turn", 6)
    [request] = anthropic_server.requests_to("/v1/messages")
    assert (request["model"], request["system"], request["max_tokens"]) == (
        "claude-local",
        "be brief",
        50,
    )
    [headers] = anthropic_server.headers_of("/v1/messages")
    # SDK versions differ in where the key goes (x-api-key, or Authorization: Bearer).
    assert "test" in (
        headers.get("x-api-key"),
        headers.get("authorization", "").removeprefix("Bearer "),
    )
    assert "anthropic-version" in headers


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (429, anthropic.RateLimitError),
        (500, anthropic.InternalServerError),
        (529, anthropic.APIStatusError),
    ],
)
def test_scripted_http_errors_raise_the_sdks_own_errors(
    anthropic_server, client, status, error_class
):
    anthropic_server.replies.append(MessageReply(status=status))

    with pytest.raises(error_class) as raised:
        client.messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )

    assert raised.value.status_code == status
