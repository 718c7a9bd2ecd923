"""The OpenAI-compatible gateway: `POST /api/v1/chat/completions` routes the conversation's last
user turn with `routing.decide.decide`, calls the routed tier through `routing/providers/`,
escalates to the next qualifying tier on a failure before the first byte or an unusable answer,
and streams (SSE). `GET /api/v1/models` lists the routers a key can use. See docs in README.
"""
