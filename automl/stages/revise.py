"""Between two rounds of search, revise: the writer reads an account of the search and answers with the next
round's space (and, a model, train.py), judged and repaired as the first round's were.

A revision that every attempt fails, or a model that stops answering, does not end the run: the next
round goes on with the current space and train.py, with a note. Each round's artifacts are kept in
``rounds/<n>/`` (see :class:`automl.rundir.RoundFiles`), so every trial's code stays for its refit.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace

from ConfigSpace import ConfigurationSpace
from ConfigSpace.hyperparameters import CategoricalHyperparameter

from automl._io import write_json
from automl.data import PreparedData
from automl.errors import WriterError
from automl.repair import RepairLoop
from automl.report.search_account import search_account
from automl.rundir import RoundFiles
from automl.stages.context import RunContext
from automl.stages.optimize import Optimized
from automl.stages.verify import judge_space, judge_train
from automl.stages.write import Written, write_context
from automl.writers import Artifacts
from automl.writers.base import Feedback, Revision
from automl.writers.space import save_space

logger = logging.getLogger(__name__)


def revise(context: RunContext, data: PreparedData, written: Written, optimized: Optimized) -> Written:
    """The next round's artifacts: the writer's revision of ``written`` given what ``optimized`` found."""
    config, paths, progress = context.config, context.paths, context.progress
    number = written.round_number + 1
    files = paths.round_files(number)
    files.root.mkdir(parents=True, exist_ok=True)
    current = written.artifacts
    trials_left = None
    if current.scenario.n_trials is not None:
        trials_left = max(current.scenario.n_trials - len(optimized.result.trials), 0)
    account = search_account(optimized.result.trials, current.space, loss_name=context.metric.loss_name,
                             round_number=written.round_number, rounds=config.rounds,
                             seconds_left=context.clock.remaining(), trials_left=trials_left,
                             seed=config.seed)  # fmt: skip
    writer = written.writer
    assert writer is not None  # a resumed run does not revise (config.check_resumable)
    progress.stage(f"round {number} of {config.rounds}: the {writer.name} writer revises the search")
    earlier = paths.round_files(written.round_number)
    request = replace(write_context(context, data), run=replace(config, metric=context.metric.name),
                      plan=current.plan, space=current.space, scenario=current.scenario,
                      train_source=current.train_source,
                      space_source=earlier.space_py.read_text(encoding="utf-8") if earlier.space_py.is_file() else "",
                      )  # fmt: skip
    loop = RepairLoop(writer.name, config.attempts if writer.repairs else 1, paths.attempts_dir / f"round-{number}",
                      progress.stage)  # fmt: skip

    def revised(feedback: Feedback | None) -> Revision:
        return writer.revise(request, account, feedback)

    def judged(revision: Revision) -> tuple[Artifacts, float, str]:
        return _judge(context, data, written, files, revision, writer.name)

    try:
        artifacts, default_seconds, change = loop.accept("revise", revised, judged, hint=f" and {files.verify_json}")
    except WriterError as error:
        logger.warning("round %d keeps the earlier round's search: %s", number, error)
        change = f"kept round {written.round_number}'s space and train.py: the revision failed ({error})"
        _copy_round(earlier, files)
        artifacts, default_seconds = current, written.default_seconds
    write_json(files.revision_json, {"round": number, "account": account, "change": change})
    progress.stage(f"round {number}: {change}")
    return replace(written, artifacts=artifacts, round_number=number, revision=change,
                   default_seconds=max(default_seconds, written.default_seconds),
                   repairs=written.repairs + loop.rejected)  # fmt: skip


def _judge(
    context: RunContext, data: PreparedData, written: Written, files: RoundFiles, revision: Revision, writer_name: str
) -> tuple[Artifacts, float, str]:
    """The revision's artifacts once accepted, the default configuration's seconds, and what changed in words.

    The artifacts are ``writer_name``'s from then on. An unchanged space and train.py are not verified
    again; otherwise train.py (the new one, or the current one against the new space) goes through the
    whole verification.
    """
    current = written.artifacts
    space = judge_space(context, revision.space, files)
    source = revision.train_source if revision.train_source is not None else current.train_source
    space_changed, train_changed = space != current.space, source != current.train_source
    save_space(space, files.space_json)
    artifacts = replace(current, space=space, train_source=source, writer=writer_name)
    if not space_changed and not train_changed:
        files.train_py.write_text(source, encoding="utf-8")
        return artifacts, written.default_seconds, "kept the space and train.py as they were"
    seconds = judge_train(context, data, artifacts, written.isolation, source, files)
    change = " and ".join(name for name, changed in (("space", space_changed), ("train.py", train_changed)) if changed)
    return (
        artifacts,
        seconds,
        f"revised the {change}" + (f" ({_space_change(current.space, space)})" if space_changed else ""),
    )


def _space_change(before: ConfigurationSpace, after: ConfigurationSpace) -> str:
    """What a revision changed in the space, in words: choices dropped and added, hyperparameters added and
    removed, ranges changed."""
    old, new = set(before), set(after)
    parts = []
    for name in sorted(old & new):
        was, now = before[name], after[name]
        if isinstance(was, CategoricalHyperparameter) and isinstance(now, CategoricalHyperparameter):
            dropped = [str(v) for v in was.choices if v not in now.choices]
            added = [str(v) for v in now.choices if v not in was.choices]
            parts += [f"{name}: dropped {', '.join(dropped)}"] if dropped else []
            parts += [f"{name}: added {', '.join(added)}"] if added else []
    changed = sum(before[name] != after[name] for name in old & new)
    for verb, names in (("added", sorted(new - old)), ("removed", sorted(old - new))):
        if names:
            parts.append(
                f"{verb} {len(names)} hyperparameters ({', '.join(names[:4])}{' ...' if len(names) > 4 else ''})"
            )
    if changed:
        parts.append(f"{changed} changed")
    return "; ".join(parts) or "no hyperparameter changed"


def _copy_round(earlier: RoundFiles, files: RoundFiles) -> None:
    """The earlier round's space and train.py, as the next round's (a revision that failed keeps them)."""
    for source, target in ((earlier.space_json, files.space_json), (earlier.train_py, files.train_py),
                           (earlier.space_py, files.space_py)):  # fmt: skip
        if source.is_file():
            shutil.copyfile(source, target)
