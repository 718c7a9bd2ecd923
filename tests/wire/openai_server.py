"""A local HTTP server speaking the OpenAI wire format, so tests drive the real `openai` SDK.

Serves `POST /v1/chat/completions` and `POST /v1/embeddings`. Replies are configurable per test:
queue `ChatReply` objects (content, HTTP status, delay, or a raw malformed body); embeddings are
deterministic per text (or come from a function you set). Every request body is recorded.

    with OpenAIWireServer() as server:
        server.chat_replies.append(ChatReply(content='{"intent": "billing"}'))
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import base64
import hashlib
import json
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
    delay_seconds: float = 0.0
    raw_body: str | None = None  # sent verbatim instead of a well-formed completion


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
        self.requests: list[tuple[str, dict]] = []
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
            self.requests.clear()
            self.authorizations.clear()
        self.default_chat_reply = ChatReply()
        self.embedding_status = 200
        self.embedding_delay_seconds = 0.0

    def requests_to(self, path: str) -> list[dict]:
        with self._lock:
            return [body for request_path, body in self.requests if request_path == path]

    def _next_chat_reply(self) -> ChatReply:
        with self._lock:
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
                    server.authorizations.append(self.headers.get("Authorization", ""))
                if self.path == "/v1/chat/completions":
                    self._chat(body)
                elif self.path == "/v1/embeddings":
                    self._embeddings(body)
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}", "type": "nf"}})

            def _chat(self, body: dict) -> None:
                reply = server._next_chat_reply()
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                if reply.raw_body is not None:
                    self._send_raw(reply.status, reply.raw_body.encode("utf-8"))
                    return
                if reply.status != 200:
                    self._send(
                        reply.status,
                        {"error": {"message": "scripted failure", "type": "server_error"}},
                    )
                    return
                self._send(
                    200,
                    {
                        "id": "chatcmpl-local",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", ""),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    },
                )

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

            def _send(self, status: int, payload: dict) -> None:
                self._send_raw(status, json.dumps(payload).encode("utf-8"))

            def _send_raw(self, status: int, payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests); nothing to report

        return Handler
