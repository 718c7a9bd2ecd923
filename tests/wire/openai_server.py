"""A local HTTP server speaking the OpenAI wire format, so tests drive the real `openai` SDK.

Serves `POST /v1/chat/completions` (JSON, or SSE with `"stream": true`: role chunk, content in
word pieces, finish chunk, a usage chunk when `stream_options.include_usage`, `data: [DONE]`) and
`POST /v1/embeddings`. Replies are configurable per test: queue `ChatReply` objects, for any model
(`chat_replies`) or one model (`replies_for(model)`), with the faults a gateway must survive: an
HTTP status with `Retry-After`, a hang (`delay_seconds`), a malformed body, an empty answer,
`finish_reason: "length"`, a refusal, tool calls, a stream cut after N chunks. Embeddings are
deterministic per text (or come from a function you set). Every request body is recorded.

    with OpenAIWireServer() as server:
        server.chat_replies.append(ChatReply(content='{"intent": "billing"}'))
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


@dataclass
class ChatReply:
    """One scripted reply to a chat-completions request."""

    content: str | None = '{"intent": null}'
    status: int = 200
    delay_seconds: float = 0.0  # before any byte: longer than the client's timeout is a hang
    raw_body: str | None = None  # sent verbatim instead of a well-formed completion
    retry_after: str | None = None  # the Retry-After header of an error reply
    finish_reason: str = "stop"
    refusal: str | None = None
    tool_calls: list[dict] | None = None
    prompt_tokens: int = 10
    completion_tokens: int = 5
    stream_cut_after: int | None = None  # streams: close the connection after N content chunks
    chunk_delay_seconds: float = 0.0  # streams: pause between chunks


def _usage(reply: ChatReply) -> dict:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _pieces(text: str) -> list[str]:
    """A text in streamed pieces: each word with the space before it."""
    words = text.split(" ")
    return [word if i == 0 else " " + word for i, word in enumerate(words)] if text else []


def hashed_embedding(text: str, dim: int = 8) -> list[float]:
    """A deterministic unit vector per text: the same text always embeds the same way."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    vector = np.random.default_rng(seed).normal(size=dim)
    return (vector / np.linalg.norm(vector)).tolist()


class OpenAIWireServer:
    """A threaded `http.server` on 127.0.0.1 with an ephemeral port."""

    def __init__(self, *, embedding_dim: int = 8):
        self.chat_replies: deque[ChatReply] = deque()
        self.default_chat_reply = ChatReply()
        self.embedding_dim = embedding_dim
        self.embed: Callable[[str], list[float]] = lambda text: hashed_embedding(
            text, self.embedding_dim
        )
        self.embedding_status = 200
        self.embedding_delay_seconds = 0.0
        self.model_replies: dict[str, deque[ChatReply]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.request_times: list[float] = []  # time.monotonic() of each chat request
        self.authorizations: list[str] = []  # the Authorization header of every request
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> OpenAIWireServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAIWireServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.chat_replies.clear()
            self.model_replies.clear()
            self.requests.clear()
            self.request_times.clear()
            self.authorizations.clear()
        self.default_chat_reply = ChatReply()
        self.embedding_status = 200
        self.embedding_delay_seconds = 0.0

    def requests_to(self, path: str) -> list[dict]:
        with self._lock:
            return [body for request_path, body in self.requests if request_path == path]

    def replies_for(self, model: str) -> deque[ChatReply]:
        """The queue of replies only requests for `model` take (before the shared queue)."""
        with self._lock:
            return self.model_replies.setdefault(model, deque())

    def _next_chat_reply(self, model: str = "") -> ChatReply:
        with self._lock:
            if self.model_replies.get(model):
                return self.model_replies[model].popleft()
            return self.chat_replies.popleft() if self.chat_replies else self.default_chat_reply

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._send(
                        400, {"error": {"message": "invalid JSON", "type": "invalid_request"}}
                    )
                    return
                with server._lock:
                    server.requests.append((self.path, body))
                    if self.path == "/v1/chat/completions":
                        server.request_times.append(time.monotonic())
                    server.authorizations.append(self.headers.get("Authorization", ""))
                if self.path == "/v1/chat/completions":
                    self._chat(body)
                elif self.path == "/v1/embeddings":
                    self._embeddings(body)
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "nf"}})

            def _chat(self, body: dict) -> None:
                reply = server._next_chat_reply(body.get("model", ""))
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                if reply.raw_body is not None:
                    self._send_raw(reply.status, reply.raw_body.encode("utf-8"))
                    return
                if reply.status != 200:
                    headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
                    self._send(
                        reply.status,
                        {"error": {"message": "scripted failure", "type": "server_error"}},
                        headers,
                    )
                    return
                if body.get("stream"):
                    self._chat_stream(body, reply)
                    return
                message = {"role": "assistant", "content": reply.content}
                if reply.refusal is not None:
                    message["refusal"] = reply.refusal
                if reply.tool_calls:
                    message["tool_calls"] = reply.tool_calls
                self._send(
                    200,
                    {
                        "id": "chatcmpl-local",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", ""),
                        "choices": [
                            {"index": 0, "message": message, "finish_reason": reply.finish_reason}
                        ],
                        "usage": _usage(reply),
                    },
                )

            def _chat_stream(self, body: dict, reply: ChatReply) -> None:
                def chunk(delta: dict, finish_reason=None, usage=None) -> dict:
                    choices = (
                        []
                        if usage
                        else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
                    )
                    payload = {
                        "id": "chatcmpl-local",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": body.get("model", ""),
                        "choices": choices,
                    }
                    if usage:
                        payload["usage"] = usage
                    return payload

                pieces = _pieces(reply.content or "")
                events = [chunk({"role": "assistant", "content": ""})]
                events += [chunk({"content": piece}) for piece in pieces]
                if reply.tool_calls:
                    calls = [{"index": i, **call} for i, call in enumerate(reply.tool_calls)]
                    events.append(chunk({"tool_calls": calls}))
                events.append(chunk({}, finish_reason=reply.finish_reason))
                if (body.get("stream_options") or {}).get("include_usage"):
                    events.append(chunk({}, usage=_usage(reply)))
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for index, event in enumerate(events):
                        if reply.stream_cut_after is not None and index > reply.stream_cut_after:
                            self.wfile.flush()
                            self.connection.shutdown(socket.SHUT_RDWR)  # cut, no [DONE]
                            return
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                        if reply.chunk_delay_seconds:
                            time.sleep(reply.chunk_delay_seconds)
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the client went away

            def _embeddings(self, body: dict) -> None:
                if server.embedding_delay_seconds:
                    time.sleep(server.embedding_delay_seconds)
                if server.embedding_status != 200:
                    self._send(
                        server.embedding_status,
                        {"error": {"message": "scripted failure", "type": "server_error"}},
                    )
                    return
                texts = body.get("input", [])
                if isinstance(texts, str):
                    texts = [texts]
                as_base64 = body.get("encoding_format") == "base64"
                data = []
                for index, text in enumerate(texts):
                    vector = server.embed(text)
                    if as_base64:
                        packed = np.asarray(vector, dtype="<f4").tobytes()
                        embedding = base64.b64encode(packed).decode("ascii")
                    else:
                        embedding = vector
                    data.append({"object": "embedding", "index": index, "embedding": embedding})
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model", ""),
                        "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
                    },
                )

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                self._send_raw(status, json.dumps(payload).encode("utf-8"), headers)

            def _send_raw(self, status: int, payload: bytes, headers: dict | None = None) -> None:
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests); nothing to report

        return Handler
