import openai
import pytest

from tests.wire.openai_server import ChatReply


def test_chat_reply_is_served_to_the_real_sdk(openai_server, openai_client):
    openai_server.chat_replies.append(ChatReply(content='{"intent": "billing"}'))

    completion = openai_client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == '{"intent": "billing"}'
    assert openai_server.requests_to("/v1/chat/completions")[0]["model"] == "local"


def test_scripted_http_error_raises_status_error(openai_server, openai_client):
    openai_server.chat_replies.append(ChatReply(status=503))

    with pytest.raises(openai.APIStatusError):
        openai_client.chat.completions.create(model="local", messages=[])


def test_embeddings_are_deterministic_per_text(openai_server, openai_client):
    first = openai_client.embeddings.create(model="local", input=["a", "b"])
    again = openai_client.embeddings.create(model="local", input=["a"])

    assert len(first.data) == 2
    assert first.data[0].embedding == pytest.approx(again.data[0].embedding, rel=1e-6)
    assert first.data[0].embedding != first.data[1].embedding
