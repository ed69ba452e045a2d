"""Talks to a language model through litellm: bounded retries, one-line errors, and a record of every call.

The records make a run reproducible without the model: :class:`ReplayClient` answers from them, so a
run can be replayed (and debugged) offline, without a key. litellm is imported only when a live client
is made: the offline writer never pays for the import and never touches the network.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from automl.errors import WriterError
from automl.llm.records import record_name, write_record
from automl.sandbox.secrets import redact, redact_obj

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
JITTER = 0.1  # up to 10% more than the nominal wait, so parallel runs do not retry in lockstep
CUT_OFF_REASON = "length"  # the OpenAI API's finish_reason for an answer stopped at the output-token limit
PLACEHOLDER_KEY = "automl-no-key"  # a local OpenAI-compatible server wants no key, but the openai SDK demands one

# Where a provider's key is usually set, for the hint in an authentication error.
_KEY_VARIABLES = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "azure": "AZURE_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "vertex_ai": "GOOGLE_APPLICATION_CREDENTIALS",
    "bedrock": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    "huggingface": "HF_TOKEN",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}

_RETRYABLE = frozenset({"timeout", "rate_limit", "unreachable", "server"})


@dataclass(frozen=True)
class ModelSettings:
    """Which model to ask and how patiently; saved with the run so it can be repeated."""

    model: str  # any litellm model string, e.g. "openai/gpt-4o-mini", "ollama/qwen2.5-coder"
    api_base: str | None = None  # an OpenAI-compatible server, e.g. "http://127.0.0.1:8000/v1"
    timeout_s: float = 180.0  # per request
    max_retries: int = 4  # on rate limits and transient errors
    backoff_s: float = 2.0  # first wait; doubles each retry, small jitter, capped at 60 s; Retry-After wins
    temperature: float = 0.0
    max_tokens: int | None = None


class ModelClient(Protocol):
    """What a model writer needs: one answer per prompt, and how long it waited for them."""

    model: str
    waited_seconds: float
    # Whether the last answer was stopped at the server's output-token limit (finish_reason "length"):
    # a cut-off file may still parse, so only the server can tell.
    cut_off: bool

    def complete(self, stage: str, messages: list[dict[str, str]], attempt: int = 1) -> str: ...


def _import_litellm() -> ModuleType:
    """Import litellm quietly and without the network (its cost map would otherwise be downloaded)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners on stdout
    return litellm


def _one_line(text: str, limit: int = 200) -> str:
    """A provider's message shortened to one line, for the end of a WriterError."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _in_chain(exc: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` or any exception it was raised from is one of ``types`` (litellm re-wraps errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, types):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (Retry-After or retry-after-ms), if it said."""
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
    ):
        if not isinstance(headers, Mapping) and not hasattr(headers, "items"):
            continue
        lowered = {str(name).lower(): str(value) for name, value in headers.items()}
        try:
            if "retry-after-ms" in lowered:
                return float(lowered["retry-after-ms"]) / 1000
            if "retry-after" in lowered:
                value = lowered["retry-after"]
                try:
                    return float(value)
                except ValueError:
                    return (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            continue
    return None


def classify(exc: BaseException, litellm: ModuleType) -> str | None:
    """Name the kind of failure, or None when it is not a provider error at all (then it is our bug).

    The order matters: litellm's Timeout is an APIConnectionError, and a refused connection arrives as
    an InternalServerError whose cause is the openai SDK's APIConnectionError.
    """
    import openai

    if isinstance(exc, litellm.Timeout) or _in_chain(exc, (openai.APITimeoutError,)):
        return "timeout"
    if isinstance(exc, litellm.RateLimitError):
        return "rate_limit"
    if isinstance(exc, litellm.AuthenticationError):
        return "auth"
    if isinstance(exc, litellm.PermissionDeniedError):
        return "permission"
    if isinstance(exc, litellm.NotFoundError):
        return "not_found"
    if isinstance(exc, litellm.ContextWindowExceededError):
        return "context"
    if isinstance(exc, litellm.BadRequestError):
        return "unknown_model" if "LLM Provider NOT provided" in str(exc) else "bad_request"
    if _in_chain(exc, (openai.APIConnectionError,)):
        return "unreachable"
    if not isinstance(exc, openai.OpenAIError):
        return None
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and (status >= 500 or status in (408, 409)):
        return "server"
    if isinstance(exc, litellm.ServiceUnavailableError | litellm.InternalServerError | litellm.BadGatewayError):
        return "server"
    return "bad_request"


def _key_variable(provider: str | None) -> str:
    if not provider:
        return "the provider's API key variable"
    return _KEY_VARIABLES.get(provider, f"{provider.upper()}_API_KEY")


class LiteLLMClient:
    """Asks a live model through litellm; retries transient failures itself and records each answer.

    litellm and the openai SDK are told not to retry (``num_retries=0``, ``max_retries=0``): one retry
    policy, here, with backoff the user controls and a count that goes into the record.
    """

    def __init__(self, settings: ModelSettings, record_dir: Path) -> None:
        self.settings = settings
        self.model = settings.model
        self.record_dir = Path(record_dir)
        self.waited_seconds = 0.0
        self.calls = 0
        self.cut_off = False
        self._litellm = _import_litellm()
        self.provider = self._provider()

    def _provider(self) -> str:
        """Check the model string before any data work, so a typo fails in the first second."""
        try:
            _, provider, _, _ = self._litellm.get_llm_provider(self.model, api_base=self.settings.api_base)
        except self._litellm.BadRequestError:
            raise WriterError(
                f"{self.model!r} is not a model string litellm knows: use provider/model, e.g. openai/gpt-4o-mini"
            ) from None
        return provider

    def _request_kwargs(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        settings = self.settings
        kwargs: dict[str, Any] = {
            "model": settings.model,
            "messages": messages,
            "timeout": settings.timeout_s,
            "temperature": settings.temperature,
            "drop_params": True,  # a provider that lacks an option (temperature on o1) ignores it
            "num_retries": 0,  # litellm's own retry wrapper
            "max_retries": 0,  # the openai SDK's (its default is 2)
        }
        if settings.api_base:
            kwargs["api_base"] = settings.api_base
            if self.provider == "openai" and not os.environ.get("OPENAI_API_KEY"):
                kwargs["api_key"] = PLACEHOLDER_KEY  # never recorded: records hold no request options
        if settings.max_tokens is not None:
            kwargs["max_tokens"] = settings.max_tokens
        return kwargs

    def complete(self, stage: str, messages: list[dict[str, str]], attempt: int = 1) -> str:
        """The model's answer to ``messages`` (redacted; "" when it sent no content), recorded on disk."""
        sent = redact_obj(messages)  # a prompt never needs a key, so none is sent
        kwargs = self._request_kwargs(sent)
        tries = self.settings.max_retries + 1
        started = _now_iso()
        waited = 0.0
        for retry in range(tries):
            begin = time.monotonic()
            try:
                response = self._litellm.completion(**kwargs)
            except Exception as exc:
                elapsed = time.monotonic() - begin
                waited += elapsed
                self.waited_seconds += elapsed
                kind = classify(exc, self._litellm)
                if kind is None:
                    raise
                if kind not in _RETRYABLE or retry == tries - 1:
                    raise self._failure(kind, exc, stage, retry + 1, waited) from None
                delay = self._backoff(retry, exc)
                logger.warning(
                    "model %s, stage %r: %s on try %d of %d; trying again in %.1f s",
                    self.model,
                    stage,
                    type(exc).__name__,
                    retry + 1,
                    tries,
                    delay,
                )
                time.sleep(delay)
                waited += delay
                self.waited_seconds += delay
                continue
            latency = time.monotonic() - begin
            waited += latency
            self.waited_seconds += latency
            return self._finish(stage, attempt, sent, response, started, latency, waited, retry)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _backoff(self, retry: int, exc: BaseException) -> float:
        """The provider's Retry-After when it gives one, else exponential backoff with a little jitter."""
        hinted = _retry_after(exc)
        if hinted is not None:
            return min(max(hinted, 0.0), MAX_BACKOFF_S)
        nominal = self.settings.backoff_s * 2**retry
        return min(nominal * (1 + random.uniform(0, JITTER)), MAX_BACKOFF_S)

    def _finish(
        self,
        stage: str,
        attempt: int,
        sent: list[dict[str, str]],
        response: Any,
        started: str,
        latency: float,
        waited: float,
        retries: int,
    ) -> str:
        choices = getattr(response, "choices", None) or []
        choice = choices[0] if choices else None
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        text = redact(content) if isinstance(content, str) else ""
        usage = getattr(response, "usage", None)
        self.calls += 1
        record = {
            "index": self.calls,
            "stage": stage,
            "attempt": attempt,
            "model": self.model,
            "api_base": self.settings.api_base,
            "messages": sent,
            "response": text,
            "finish_reason": getattr(choice, "finish_reason", None),
            "tokens": {
                "prompt": getattr(usage, "prompt_tokens", None),
                "completion": getattr(usage, "completion_tokens", None),
                "total": getattr(usage, "total_tokens", None),
            },
            "cost_usd": self._cost(response),
            "latency_s": round(latency, 3),
            "waited_s": round(waited, 3),
            "retries": retries,
            "started": started,
        }
        write_record(self.record_dir / record_name(self.calls, stage), record)
        self.cut_off = record["finish_reason"] == CUT_OFF_REASON
        return text

    def _cost(self, response: Any) -> float | None:
        """The call's price in USD, or None for models litellm has no price for (local ones)."""
        try:
            return float(self._litellm.completion_cost(completion_response=response))
        except Exception as exc:
            # Unpriced models raise ModelNotMappedError, or a bare Exception ("Model not found in cost
            # map"), or ValueError when usage is missing; anything else is a real bug and propagates.
            if isinstance(exc, self._litellm.exceptions.ModelNotMappedError | ValueError) or type(exc) is Exception:
                return None
            raise

    def _failure(self, kind: str, exc: BaseException, stage: str, tries: int, waited: float) -> WriterError:
        """One line that says what went wrong with the model and what to do; never the key."""
        model, name = self.model, type(exc).__name__
        where = f"(stage {stage!r})"
        detail = redact(_one_line(re.sub(r"^litellm\.\w+:\s*", "", str(exc))))
        if kind == "timeout":
            text = (
                f"the model {model!r} did not answer within {self.settings.timeout_s:g} s, {tries} tries {where}: "
                "check the server or raise --llm-timeout"
            )
        elif kind == "rate_limit":
            text = (
                f"the provider kept rate-limiting {model!r} ({name}), {tries} tries over {waited:.0f} s {where}: "
                "wait a while and run again, or use a model with a higher rate limit"
            )
        elif kind == "unreachable":
            target = f"the server at {self.settings.api_base}" if self.settings.api_base else "the provider"
            text = (
                f"could not connect to {target} for {model!r} ({name}), {tries} tries {where}: "
                "check that the server is running and the address is right"
            )
        elif kind == "server":
            status = getattr(exc, "status_code", None)
            text = (
                f"the provider failed to answer for {model!r} ({name}, HTTP {status}), {tries} tries {where}: "
                f"try again later ({detail})"
            )
        elif kind == "auth":
            text = (
                f"the provider rejected the API key for {model!r} ({name}): "
                f"set the provider's key variable, e.g. {_key_variable(self.provider)}"
            )
        elif kind == "permission":
            text = f"the provider refused access to {model!r} ({name}): check that the API key may use this model"
        elif kind == "not_found":
            text = (
                f"unknown model {model!r} ({name}): check the model name with the provider "
                "(a local server lists the names it serves at /v1/models)"
            )
        elif kind == "unknown_model":
            text = f"{model!r} is not a model string litellm knows: use provider/model, e.g. openai/gpt-4o-mini"
        elif kind == "context":
            text = f"the prompt {where} is too long for {model!r} ({name}): use a model with a larger context window"
        else:
            text = f"the provider refused the request to {model!r} {where} ({name}: {detail}): check the model options"
        logger.debug("model call failed: %s", redact(str(exc)))
        return WriterError(redact(text))
