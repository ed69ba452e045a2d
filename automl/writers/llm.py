"""The language-model writer: each artifact is one request to a model, and a repair is the same request
followed by the rejected draft and what was wrong with it.

Every request carries the whole contract (``prompts/``), so a repair never relies on the model
remembering an earlier turn. The writer turns replies into artifacts (``extract``) and rejects the
ones it cannot use; judging whether they work is the runner's job.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from typing import Any

from automl.llm.client import ModelClient
from automl.plan import Plan
from automl.plan.facades import facade_guide
from automl.plan.fidelity import MIN_BUDGET_ROWS
from automl.writers.base import DraftRejected, Feedback, Revision, WriteContext
from automl.writers.extract import ReplyError, defines_function, extract_code, extract_json
from automl.writers.prompt import (
    as_json,
    budget_rules,
    describe_dataset,
    describe_plan,
    describe_space,
    metric_choice,
    metric_words,
    modality_sections,
    render,
)

# What the request for each artifact calls it when asking for a repair.
ARTIFACT_NAMES = {
    "plan": "plan (JSON)",
    "space": "config-space file",
    "scenario": "scenario (JSON)",
    "train": "train.py file",
    "revise": "revised config-space file (and train.py, if you changed it)",
}
CODE_STAGES = ("space", "train", "revise")
CUT_OFF_MESSAGE = (
    "your reply was cut off: the server stopped it at its output-token limit before the end. Answer with the "
    "whole artifact again, shorter: only what was asked for, no comments, no explanations"
)
LIMIT_KEYS = ("n_trials", "walltime_limit", "trial_walltime_limit", "trial_memory_limit_mb")


def installed(modules: frozenset[str]) -> list[str]:
    """The allowed modules that this machine can import: the only ones worth offering a model."""
    return sorted(name for name in modules if importlib.util.find_spec(name) is not None)


def with_versions(modules: list[str]) -> list[str]:
    """Each module with its installed version (``sklearn (scikit-learn 1.9.0)``), so a model writes
    for the library it gets, not the one it remembers; standard-library modules stand alone."""
    distributions = metadata.packages_distributions()
    shown = []
    for module in modules:
        names = distributions.get(module, [])
        if not names:
            shown.append(module)
            continue
        version = metadata.version(names[0])
        shown.append(
            f"{module} {version}" if names[0].lower() == module.lower() else f"{module} ({names[0]} {version})"
        )
    return shown


class LLMWriter:
    """Asks a model (through a :class:`ModelClient`, live or replayed) for each artifact."""

    repairs = True

    def __init__(self, client: ModelClient) -> None:
        self.client = client
        self.name = f"llm:{client.model}"

    def _ask(self, stage: str, request: str, context: WriteContext, feedback: Feedback | None) -> str:
        """One model call: the system rules and the request, plus the rejected draft and its errors on a repair."""
        system = render("system", allowed_imports=", ".join(with_versions(installed(context.allowed_imports))))
        messages = [{"role": "system", "content": system}, {"role": "user", "content": request}]
        if feedback is not None:
            listed = "\n\n".join(f"{number}. {error}" for number, error in enumerate(feedback.errors, 1))
            previous = feedback.previous
            if stage in CODE_STAGES and "```" not in previous:  # extracted code: show it as the model wrote it
                previous = f"```python\n{previous.rstrip()}\n```"
            repair = render("repair", artifact=ARTIFACT_NAMES[stage], errors=listed)
            messages += [{"role": "assistant", "content": previous}, {"role": "user", "content": repair}]
        reply = self.client.complete(stage, messages, attempt=1 if feedback is None else feedback.attempt + 1)
        if self.client.cut_off:  # what was cut off may still parse: a file missing its end must not run
            raise DraftRejected(reply, [CUT_OFF_MESSAGE], raw=True)
        return reply

    def plan(self, context: WriteContext, feedback: Feedback | None) -> Plan:
        limits = {key: getattr(context.run.scenario, key) for key in LIMIT_KEYS}
        facade = context.run.requested_facade
        choice = "yours to choose" if facade == "auto" else f"`{facade}`, chosen by the user: plan for it"
        request = render("plan", dataset_description=describe_dataset(context.description), facades=facade_guide(),
                         limits=as_json(limits), facade_choice=choice, min_budget_rows=MIN_BUDGET_ROWS,
                         metric_choice=metric_choice(context.run.metric, context.description))  # fmt: skip
        reply = self._ask("plan", request, context, feedback)
        try:
            return Plan.from_proposal(extract_json(reply), facade, context.description["splits"]["train"])
        except (ReplyError, ValueError) as error:
            raise DraftRejected(reply, [f"plan: {error}"], raw=True) from None

    def space(self, context: WriteContext, feedback: Feedback | None) -> str:
        assert context.plan is not None
        request = render("space", dataset_description=describe_dataset(context.description),
                         plan=describe_plan(context.plan))  # fmt: skip
        return self._code(self._ask("space", request, context, feedback), "get_configspace")

    def scenario(self, context: WriteContext, feedback: Feedback | None) -> dict[str, Any]:
        assert context.plan is not None and context.space is not None
        limits = {key: getattr(context.run.scenario, key) for key in LIMIT_KEYS}
        request = render("scenario", dataset_description=describe_dataset(context.description),
                         plan=describe_plan(context.plan), config_space=describe_space(context.space),
                         limits=as_json(limits), prior_loss=f"{context.prior_loss:.4g}",
                         loss_name=metric_words(context.run.metric, context.description["task"])["loss_name"],
                         )  # fmt: skip
        reply = self._ask("scenario", request, context, feedback)
        try:
            return extract_json(reply)
        except ReplyError as error:
            raise DraftRejected(reply, [f"scenario: {error}"], raw=True) from None

    def train(self, context: WriteContext, feedback: Feedback | None) -> str:
        assert context.plan is not None and context.space is not None and context.scenario is not None
        plan = context.plan
        metric = metric_words(context.run.metric, context.description["task"])
        request = render("train", facade=plan.facade, train_plan=plan.train_plan,
                         dataset_description=describe_dataset(context.description),
                         config_space=describe_space(context.space), scenario=as_json(context.scenario.to_dict()),
                         budget_rules=budget_rules(plan), **metric,
                         **modality_sections(context.description))  # fmt: skip
        return self._code(self._ask("train", request, context, feedback), "train")

    def revise(self, context: WriteContext, account: dict[str, Any], feedback: Feedback | None) -> Revision:
        assert context.plan is not None and context.space is not None
        space = context.space_source.strip() and f"```python\n{context.space_source.rstrip()}\n```"
        request = render("revise", round=account["round"], rounds=account["rounds"],
                         dataset_description=describe_dataset(context.description),
                         plan=describe_plan(context.plan), config_space=space or describe_space(context.space),
                         train_source=context.train_source.rstrip(), search_account=as_json(account),
                         loss_name=metric_words(context.run.metric, context.description["task"])["loss_name"],
                         budget_rules=budget_rules(context.plan))  # fmt: skip
        reply = self._ask("revise", request, context, feedback)
        space_source = self._code(reply, "get_configspace")
        return Revision(space_source, self._code(reply, "train") if defines_function(reply, "train") else None)

    @staticmethod
    def _code(reply: str, required: str) -> str:
        try:
            return extract_code(reply, required)
        except ReplyError as error:
            raise DraftRejected(reply, [str(error)], raw=True) from None
