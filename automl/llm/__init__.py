"""The language-model side of automl: a litellm client with retries and records, a replay client, and redaction.

Importing this package does not import litellm; only making a :class:`LiteLLMClient` does, so the
offline writer never loads it and never touches the network.
"""

from automl.llm.client import LiteLLMClient, ModelClient, ModelSettings
from automl.llm.replay import ReplayClient
from automl.sandbox.secrets import redact, redact_obj, secret_values

__all__ = ["LiteLLMClient", "ModelClient", "ModelSettings", "ReplayClient", "redact", "redact_obj", "secret_values"]
