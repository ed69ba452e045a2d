"""An OpenAI-compatible chat server on 127.0.0.1 for tests: scripted answers, errors and slow replies.

Tests drive the real litellm client against it, so what they check is what a user's local server
(vLLM, llama.cpp, Ollama's OpenAI endpoint) would see, without a network or a key.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")


@dataclass(frozen=True)
class FakeReply:
    """One scripted answer: content for a 200, or an error status with an OpenAI-style body."""

    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # replaces the whole JSON body when given
    finish_reason: str = "stop"


@dataclass(frozen=True)
class ReceivedRequest:
    """What the server saw, so tests can assert on what the client sent (headers, model, messages)."""

    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None


Responder = Callable[[dict[str, Any]], "str | FakeReply"]


def error_body(status: int, message: str) -> dict[str, Any]:
    """The error shape the OpenAI API uses, which the openai SDK parses into its exceptions."""
    kinds = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        404: ("invalid_request_error", "model_not_found"),
        429: ("requests", "rate_limit_exceeded"),
    }
    kind, code = kinds.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def rate_limited(retry_after_s: float | None = None) -> FakeReply:
    """A 429 as OpenAI sends it, optionally with a Retry-After header."""
    headers = {} if retry_after_s is None else {"Retry-After": str(retry_after_s)}
    return FakeReply(status=429, headers=headers, body=error_body(429, "Rate limit reached for requests"))


def invalid_key() -> FakeReply:
    return FakeReply(status=401, body=error_body(401, "Incorrect API key provided."))


def unknown_model(model: str = "fake-model") -> FakeReply:
    return FakeReply(status=404, body=error_body(404, f"The model `{model}` does not exist."))


def server_error(status: int = 500) -> FakeReply:
    return FakeReply(status=status, body=error_body(status, "The server had an error while processing your request."))


class FakeLLMServer:
    """A threaded HTTP server answering chat completions from a script or a responder function."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        self.responder: Responder | None = None
        self._script: deque[str | FakeReply] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._created = 0
        self._port: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut down and close the socket, so later connections are refused."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on; kept after stop() so tests can check that connections are refused."""
        if self._port is None:
            raise RuntimeError("the fake LLM server was never started")
        return self._port

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------------

    def script(self, *replies: str | FakeReply) -> None:
        """Queue replies; each chat request takes the next one."""
        with self._lock:
            self._script.extend(replies)

    @property
    def chat_requests(self) -> list[ReceivedRequest]:
        return [request for request in self.requests if request.path in CHAT_PATHS]

    def _next_reply(self, body: dict[str, Any]) -> str | FakeReply:
        with self._lock:
            if self._script:
                return self._script.popleft()
        if self.responder is not None:
            return self.responder(body)
        return FakeReply(status=500, body=error_body(500, "fake LLM server: no scripted reply left and no responder"))

    def _completion(self, body: dict[str, Any], reply: FakeReply) -> dict[str, Any]:
        with self._lock:
            self._created += 1
            number = self._created
        prompt = " ".join(str(message.get("content", "")) for message in body.get("messages", []))
        prompt_tokens, completion_tokens = len(prompt.split()), len(reply.content.split())
        return {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _make_handler(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Stay quiet: test output is for failures."""

        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")  # no keep-alive: after stop() nothing is served
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout); nothing to answer
            self.close_connection = True

        def do_GET(self) -> None:
            server.requests.append(ReceivedRequest(self.path, dict(self.headers.items()), None))
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
            else:
                self._send_json(404, error_body(404, f"no route {self.path}"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                body = None
            server.requests.append(ReceivedRequest(self.path, dict(self.headers.items()), body))
            if self.path not in CHAT_PATHS:
                self._send_json(404, error_body(404, f"no route {self.path}"))
                return
            if not isinstance(body, dict):
                self._send_json(400, error_body(400, "the request body is not a JSON object"))
                return
            reply = server._next_reply(body)
            if isinstance(reply, str):
                reply = FakeReply(content=reply)
            if reply.delay_s > 0:
                time.sleep(reply.delay_s)
            if reply.body is not None:
                payload = reply.body
            elif reply.status == 200:
                payload = server._completion(body, reply)
            else:
                payload = error_body(reply.status, reply.content or f"fake error {reply.status}")
            self._send_json(reply.status, payload, reply.headers)

    return Handler
