from tests.wire.fixtures import openai_client, openai_server, openai_wire  # noqa: F401
