"""The litellm client against a local fake OpenAI server: answers, retries, one-line errors, redaction, replay."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fake_llm import FakeLLMServer, FakeReply, invalid_key, rate_limited, server_error, unknown_model

from automl.errors import WriterError
from automl.llm.client import LiteLLMClient, ModelSettings
from automl.llm.replay import ReplayClient
from automl.sandbox.secrets import redact, redact_obj, secret_values

MESSAGES = [
    {"role": "system", "content": "You write Python."},
    {"role": "user", "content": "Write train()."},
]
KEY = "sk-test-0123456789-automl-distinctive"


@pytest.fixture(autouse=True)
def _no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests decide which key exists; a developer's real key must never reach the fake server."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def make_client(server: FakeLLMServer, records: Path, **options: float) -> LiteLLMClient:
    settings = ModelSettings(
        model="openai/fake-model",
        api_base=server.api_base,
        timeout_s=options.get("timeout_s", 5.0),
        max_retries=int(options.get("max_retries", 2)),
        backoff_s=options.get("backoff_s", 0.01),
    )
    return LiteLLMClient(settings, records)


def read_records(folder: Path) -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


def test_a_good_answer_is_returned_and_recorded(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.script("def train(config, data):\n    return {}")
    client = make_client(fake_llm, tmp_path / "llm")

    text = client.complete("train", MESSAGES)

    assert text == "def train(config, data):\n    return {}"
    assert [path.name for path in (tmp_path / "llm").iterdir()] == ["001-train.json"]
    record = read_records(tmp_path / "llm")[0]
    assert record["index"] == 1 and record["stage"] == "train" and record["attempt"] == 1
    assert record["model"] == "openai/fake-model" and record["api_base"] == fake_llm.api_base
    assert record["messages"] == MESSAGES
    assert record["response"] == text and record["finish_reason"] == "stop"
    assert record["tokens"]["prompt"] > 0 and record["tokens"]["completion"] > 0
    assert record["tokens"]["total"] == record["tokens"]["prompt"] + record["tokens"]["completion"]
    assert record["cost_usd"] is None  # litellm has no price for a local model
    assert record["retries"] == 0 and 0 < record["latency_s"] <= record["waited_s"] + 1e-3
    assert record["started"].endswith("+00:00")
    assert client.waited_seconds > 0
    sent = fake_llm.chat_requests[0].json
    assert sent["model"] == "fake-model" and sent["messages"] == MESSAGES
    # With a local server and no OPENAI_API_KEY a placeholder key is sent, and never recorded.
    assert fake_llm.chat_requests[0].headers["authorization"] == "Bearer automl-no-key"
    assert "automl-no-key" not in (tmp_path / "llm" / "001-train.json").read_text()


def test_calls_are_numbered_and_an_empty_answer_is_not_retried(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.script("plan text", FakeReply(content=""))
    client = make_client(fake_llm, tmp_path)

    assert client.complete("plan", MESSAGES) == "plan text"
    assert client.complete("space", MESSAGES, attempt=2) == ""

    assert len(fake_llm.chat_requests) == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["001-plan.json", "002-space.json"]
    assert read_records(tmp_path)[1]["attempt"] == 2


def test_a_rate_limit_is_retried_after_the_wait_the_server_asks_for(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.script(rate_limited(retry_after_s=0.3), "the answer")
    client = make_client(fake_llm, tmp_path, backoff_s=0.001)

    assert client.complete("plan", MESSAGES) == "the answer"

    assert len(fake_llm.chat_requests) == 2
    record = read_records(tmp_path)[0]
    assert record["retries"] == 1
    assert record["waited_s"] >= 0.3  # Retry-After beat the 1 ms backoff
    assert client.waited_seconds >= 0.3


def test_server_errors_are_retried_with_backoff(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.script(server_error(500), server_error(503), "finally")
    client = make_client(fake_llm, tmp_path)

    assert client.complete("plan", MESSAGES) == "finally"
    assert read_records(tmp_path)[0]["retries"] == 2


def test_a_model_too_slow_on_every_try_fails_in_one_line(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.responder = lambda body: FakeReply(content="late", delay_s=1.0)
    client = make_client(fake_llm, tmp_path, timeout_s=0.25, max_retries=2)

    with pytest.raises(WriterError) as caught:
        client.complete("train", MESSAGES)

    message = str(caught.value)
    assert "\n" not in message
    assert "'train'" in message and "0.25 s" in message and "3 tries" in message
    assert len(fake_llm.chat_requests) == 3  # max_retries + 1: neither litellm nor the SDK retried on its own
    assert not list(tmp_path.glob("*.json"))  # failed calls leave no record


def test_persistent_rate_limits_fail_after_the_retries(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.responder = lambda body: rate_limited()
    client = make_client(fake_llm, tmp_path, max_retries=3)

    with pytest.raises(WriterError, match=r"rate-limiting 'openai/fake-model'.*4 tries"):
        client.complete("plan", MESSAGES)
    assert len(fake_llm.chat_requests) == 4


def test_a_rejected_key_fails_at_once_without_showing_it(
    fake_llm: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # The error body quotes the key, as some servers do: the WriterError still must not.
    fake_llm.script(FakeReply(status=401, body={"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    client = make_client(fake_llm, tmp_path)

    with pytest.raises(WriterError) as caught:
        client.complete("plan", MESSAGES)

    message = str(caught.value)
    assert "API key" in message and "OPENAI_API_KEY" in message and "\n" not in message
    assert KEY not in message
    assert len(fake_llm.chat_requests) == 1


def test_a_plain_invalid_key_names_the_provider_variable(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.script(invalid_key())
    with pytest.raises(WriterError, match=r"rejected the API key.*OPENAI_API_KEY"):
        make_client(fake_llm, tmp_path).complete("plan", MESSAGES)
    assert len(fake_llm.chat_requests) == 1


def test_an_unknown_model_fails_at_once(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.script(unknown_model())
    client = make_client(fake_llm, tmp_path)

    with pytest.raises(WriterError, match="unknown model 'openai/fake-model'"):
        client.complete("plan", MESSAGES)
    assert len(fake_llm.chat_requests) == 1


def test_a_bad_request_is_not_retried(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.script(FakeReply(status=400, content="temperature is not supported"))
    with pytest.raises(WriterError, match=r"refused the request.*temperature is not supported"):
        make_client(fake_llm, tmp_path).complete("plan", MESSAGES)
    assert len(fake_llm.chat_requests) == 1


def test_a_model_string_without_provider_fails_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(WriterError, match="'gpt4' is not a model string litellm knows"):
        LiteLLMClient(ModelSettings(model="gpt4"), tmp_path)


def test_a_stopped_server_is_reported_as_unreachable(tmp_path: Path) -> None:
    with FakeLLMServer() as server:
        client = make_client(server, tmp_path, max_retries=1)
    with pytest.raises(
        WriterError, match=rf"could not connect to the server at {re.escape(server.api_base)} .*2 tries"
    ):
        client.complete("plan", MESSAGES)


def test_the_key_never_reaches_answers_or_records(
    fake_llm: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake_llm.responder = lambda body: "# the header was: " + echo_header(fake_llm)
    client = make_client(fake_llm, tmp_path)

    text = client.complete("train", [{"role": "user", "content": f"my key is {KEY}"}])

    assert fake_llm.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in text and text == "# the header was: Bearer [redacted]"
    raw = (tmp_path / "001-train.json").read_text(encoding="utf-8")
    assert KEY not in raw and "[redacted]" in raw
    assert KEY not in json.dumps(fake_llm.chat_requests[0].json)  # nor did the prompt carry it


def echo_header(server: FakeLLMServer) -> str:
    return server.chat_requests[-1].headers.get("authorization", "")


def test_a_recorded_run_replays_without_the_server(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    live_dir, replay_dir = tmp_path / "live", tmp_path / "replay"
    with FakeLLMServer() as server:
        server.script("the plan", "the code")
        live = make_client(server, live_dir)
        answers = [live.complete("plan", MESSAGES), live.complete("train", MESSAGES)]

    replay = ReplayClient(live_dir, replay_dir)
    assert replay.model == "openai/fake-model" and replay.waited_seconds == 0
    changed = [{"role": "user", "content": "another prompt"}]
    assert replay.complete("plan", MESSAGES) == answers[0]
    with caplog.at_level(logging.WARNING, logger="automl.llm.client"):
        assert replay.complete("train", changed) == answers[1]
    assert "differs from the recorded one" in caplog.text

    records = read_records(replay_dir)
    assert [record["response"] for record in records] == answers
    assert records[0]["replayed_from"] == str(live_dir / "001-plan.json")
    with pytest.raises(WriterError, match=r"no recorded answer for call 3 \(stage 'verify'.*only 2 model calls"):
        replay.complete("verify", MESSAGES)

    # A replayed run is itself replayable.
    again = ReplayClient(replay_dir, tmp_path / "again", model="mine")
    assert again.model == "mine" and again.complete("plan", MESSAGES) == answers[0]


def test_an_answer_stopped_at_the_output_limit_is_marked_cut_off_live_and_in_replay(tmp_path: Path) -> None:
    """A cut-off file may parse; finish_reason "length" is the only sign, and the writer rejects on it."""
    live_dir = tmp_path / "live"
    with FakeLLMServer() as server:
        server.script(FakeReply("def train(cfg, dataset, seed):\n    model = fit(", finish_reason="length"), "whole")
        live = make_client(server, live_dir)
        live.complete("train", MESSAGES)
        assert live.cut_off and read_records(live_dir)[0]["finish_reason"] == "length"
        live.complete("train", MESSAGES, attempt=2)
        assert not live.cut_off
    replay = ReplayClient(live_dir, tmp_path / "replay")
    replay.complete("train", MESSAGES)
    assert replay.cut_off
    replay.complete("train", MESSAGES)
    assert not replay.cut_off


def test_replay_refuses_a_different_stage_and_a_missing_folder(tmp_path: Path) -> None:
    with FakeLLMServer() as server:
        server.script("the plan")
        make_client(server, tmp_path / "live").complete("plan", MESSAGES)

    replay = ReplayClient(tmp_path / "live", tmp_path / "replay")
    with pytest.raises(WriterError, match=r"stage 'train'.*stage 'plan'"):
        replay.complete("train", MESSAGES)
    with pytest.raises(WriterError, match="does not exist"):
        ReplayClient(tmp_path / "nowhere", tmp_path / "replay")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WriterError, match="no recorded model calls"):
        ReplayClient(tmp_path / "empty", tmp_path / "replay")


def test_secrets_are_found_by_name_and_replaced_longest_first() -> None:
    environ = {
        "OPENAI_API_KEY": "sk-abcdefgh",
        "MY_SERVICE_TOKEN": "sk-abcdefgh-longer",
        "HF_TOKEN": "short",  # too short to replace safely
        "HOME": "/home/someone",
    }
    assert secret_values(environ) == ["sk-abcdefgh-longer", "sk-abcdefgh"]
    assert redact("a sk-abcdefgh-longer b sk-abcdefgh /home/someone", environ) == (
        "a [redacted] b [redacted] /home/someone"
    )
    assert redact("key given in code: given-in-code-123", {}, extra=["given-in-code-123"]) == (
        "key given in code: [redacted]"
    )
    record = {"a": ["x sk-abcdefgh", {"b": ("sk-abcdefgh",)}], "n": 3, "none": None}
    assert redact_obj(record, environ) == {"a": ["x [redacted]", {"b": ["[redacted]"]}], "n": 3, "none": None}


def test_importing_the_client_does_not_import_litellm() -> None:
    code = "import sys, automl.llm, automl.llm.client; print('litellm' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


def test_a_priced_model_records_its_cost(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    fake_llm.script("an answer with a few tokens")
    settings = ModelSettings(model="openai/gpt-4o-mini", api_base=fake_llm.api_base, timeout_s=5.0)

    LiteLLMClient(settings, tmp_path).complete("plan", MESSAGES)

    record = read_records(tmp_path)[0]
    assert record["cost_usd"] is not None and record["cost_usd"] > 0  # from litellm's bundled price list
