"""A local HTTP server speaking Anthropic's messages API, so tests drive the real `anthropic` SDK.

Serves `POST /v1/messages` with real Messages JSON (content blocks, stop_reason, usage), or its
SSE events with `"stream": true` (message_start, content_block_start/delta/stop, message_delta,
message_stop). Replies are queued per test (any model, or `replies_for(model)`): text, HTTP status
with `Retry-After`, a hang, stop reason (`max_tokens`, `refusal`), tool use, a raw malformed body,
a stream cut after N text chunks; every request body and its headers are recorded. The SDK's
base URL has no /v1:

    with AnthropicWireServer() as server:
        server.replies.append(MessageReply(text='{"intent": "billing"}'))
        client = anthropic.Anthropic(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Anthropic's error types per HTTP status, as its API sends them.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class MessageReply:
    """One scripted reply to a messages request."""

    text: str | None = '{"intent": null}'
    status: int = 200
    delay_seconds: float = 0.0
    stop_reason: str = "end_turn"
    raw_body: str | None = None  # sent verbatim instead of a well-formed message
    retry_after: str | None = None  # the Retry-After header of an error reply
    tool_use: dict | None = None  # {"name", "input"}: a tool_use block after the text
    input_tokens: int = 12
    output_tokens: int = 6
    stream_cut_after: int | None = None  # streams: close the connection after N text chunks


class AnthropicWireServer:
    """A threaded `http.server` on 127.0.0.1 with an ephemeral port."""

    def __init__(self):
        self.replies: deque[MessageReply] = deque()
        self.model_replies: dict[str, deque[MessageReply]] = {}
        self.default_reply = MessageReply()
        self.requests: list[tuple[str, dict, dict]] = []  # path, body, headers
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> AnthropicWireServer:
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> AnthropicWireServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.replies.clear()
            self.model_replies.clear()
            self.requests.clear()
        self.default_reply = MessageReply()

    def requests_to(self, path: str) -> list[dict]:
        with self._lock:
            return [body for request_path, body, _ in self.requests if request_path == path]

    def headers_of(self, path: str) -> list[dict]:
        with self._lock:
            return [headers for request_path, _, headers in self.requests if request_path == path]

    def replies_for(self, model: str) -> deque[MessageReply]:
        """The queue of replies only requests for `model` take (before the shared queue)."""
        with self._lock:
            return self.model_replies.setdefault(model, deque())

    def _next_reply(self, model: str = "") -> MessageReply:
        with self._lock:
            if self.model_replies.get(model):
                return self.model_replies[model].popleft()
            return self.replies.popleft() if self.replies else self.default_reply

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # keep test output quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._error(400, "invalid JSON body")
                    return
                headers = {key.lower(): value for key, value in self.headers.items()}
                with server._lock:
                    server.requests.append((self.path, body, headers))
                if self.path != "/v1/messages":
                    self._error(404, f"no route {self.path}")
                elif "max_tokens" not in body:
                    self._error(400, "max_tokens: Field required")
                else:
                    self._message(body)

            def _message(self, body: dict) -> None:
                reply = server._next_reply(body.get("model", ""))
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                if reply.raw_body is not None:
                    self._send_raw(reply.status, reply.raw_body.encode("utf-8"))
                    return
                if reply.status != 200:
                    headers = {"retry-after": reply.retry_after} if reply.retry_after else {}
                    self._error(reply.status, "scripted failure", headers)
                    return
                if body.get("stream"):
                    self._stream(body, reply)
                    return
                content = [] if reply.text is None else [{"type": "text", "text": reply.text}]
                if reply.tool_use:
                    content.append({"type": "tool_use", "id": "toolu_local", **reply.tool_use})
                self._send(
                    200,
                    {
                        "id": "msg_local",
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model", ""),
                        "content": content,
                        "stop_reason": reply.stop_reason,
                        "stop_sequence": None,
                        "usage": {
                            "input_tokens": reply.input_tokens,
                            "output_tokens": reply.output_tokens,
                        },
                    },
                )

            def _stream(self, body: dict, reply: MessageReply) -> None:
                model = body.get("model", "")
                start = {
                    "type": "message_start",
                    "message": {
                        "id": "msg_local",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
                    },
                }
                events = [start]
                text = reply.text or ""
                words = text.split(" ") if text else []
                pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
                events.append(
                    {
                        "type": "content_block_start",
                        "index": 0,
                        "content_block": {"type": "text", "text": ""},
                    }
                )
                events += [
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": piece},
                    }
                    for piece in pieces
                ]
                events.append({"type": "content_block_stop", "index": 0})
                events.append(
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                        "usage": {"output_tokens": reply.output_tokens},
                    }
                )
                events.append({"type": "message_stop"})
                cut = None if reply.stream_cut_after is None else 2 + reply.stream_cut_after
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for index, event in enumerate(events):
                        if cut is not None and index >= cut:
                            self.wfile.flush()
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        line = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
                        self.wfile.write(line.encode())
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass

            def _error(self, status: int, message: str, headers: dict | None = None) -> None:
                error_type = ERROR_TYPES.get(status, "api_error")
                self._send(
                    status,
                    {"type": "error", "error": {"type": error_type, "message": message}},
                    headers,
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
                    self.send_header("request-id", "req_local")
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests); nothing to report

        return Handler
