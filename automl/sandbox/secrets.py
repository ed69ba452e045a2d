"""Keeps credentials out of everything automl writes: records, generated files, error messages, logs.

A key can reach text in unexpected ways (a server echoing the Authorization header, a provider's
error message quoting it, a prompt built from the environment), so every string leaving the model
client passes through :func:`redact`. Only values known to be secret are replaced, never patterns
that merely look like keys, so generated code that happens to contain ``sk-`` stays intact.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"

# Parts of a variable name that mark its value as a credential.
_SECRET_NAME_PARTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE")

# Provider credentials whose names do not all carry one of those parts (and some that do, to say so).
_KNOWN_SECRET_NAMES = frozenset(
    {
        "OPENAI_API_KEY",
        "AZURE_API_KEY",
        "AZURE_AD_TOKEN",
        "AZURE_CLIENT_SECRET",
        "ANTHROPIC_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "GEMINI_API_KEY",
        "VERTEXAI_CREDENTIALS",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HUGGINGFACE_API_KEY",
        "DATABRICKS_TOKEN",
        "WATSONX_APIKEY",
        "GITHUB_PAT",
        "GH_PAT",
    }
)

# Shorter values are too likely to occur by chance ("true", "1", "local") to be replaced everywhere.
MIN_SECRET_LENGTH = 8


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a credential."""
    upper = name.upper()
    return upper in _KNOWN_SECRET_NAMES or any(part in upper for part in _SECRET_NAME_PARTS)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of secret-named environment variables, longest first so no key is half-replaced."""
    env = os.environ if environ is None else environ
    values = {value for name, value in env.items() if is_secret_name(name) and len(value.strip()) >= MIN_SECRET_LENGTH}
    return sorted(values, key=lambda value: (-len(value), value))


def _all_secrets(environ: Mapping[str, str] | None, extra: Iterable[str]) -> list[str]:
    values = set(secret_values(environ))
    values.update(value for value in extra if value and len(value.strip()) >= MIN_SECRET_LENGTH)
    return sorted(values, key=lambda value: (-len(value), value))


def redact(text: str, environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> str:
    """``text`` with every secret environment value, and every value in ``extra``, replaced by ``[redacted]``.

    ``extra`` is for credentials that never were in the environment, such as an ``api_key`` given in code.
    """
    return _redact_with(text, _all_secrets(environ, extra))


def redact_obj(obj: Any, environ: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> Any:
    """A copy of a JSON-like record (dicts, lists, tuples, strings) with every secret redacted.

    Dictionary keys are redacted too: a header name never is a key, but a mapping keyed by prompts could be.
    """
    return _redact_with(obj, _all_secrets(environ, extra))


def _redact_with(obj: Any, secrets: list[str]) -> Any:
    if isinstance(obj, str):
        for value in secrets:
            if value in obj:
                obj = obj.replace(value, REDACTED)
        return obj
    if isinstance(obj, Mapping):
        return {_redact_with(key, secrets): _redact_with(item, secrets) for key, item in obj.items()}
    if isinstance(obj, list | tuple):
        return [_redact_with(item, secrets) for item in obj]
    return obj
