"""What a run was asked to do: the user's options (:class:`RunConfig`) and the scenario limits.

Both are frozen dataclasses that serialize to the run directory (``run.json``, ``scenario.json``),
so a run records exactly what it was given. Limits come from a scenario preset (``scenarios/``) and
the command line overrides them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from automl.data.load import DEFAULT_DATASET
from automl.errors import ConfigError
from automl.evaluate.metric import check_metric_name
from automl.plan.algorithms import BUDGET_KINDS
from automl.plan.facades import FACADE_INFO
from automl.plan.plan import AUTO
from automl.resources import resolve_file


@dataclass(frozen=True)
class ScenarioSettings:
    """The limits a run works within; SMAC's scenario is built from these.

    ``n_trials`` None means no trial cap: the search runs until the walltime is spent (see
    :func:`requested_scenario`).
    """

    n_trials: int | None = 60
    walltime_limit: float = 30.0
    trial_walltime_limit: float = 60.0
    trial_memory_limit_mb: int = 4096
    deterministic: bool = True
    crash_cost: float | None = None  # None: derived from the task's baseline loss by the writer
    extra_imports: tuple[str, ...] = ()  # modules generated code may import beyond configs/allowed_imports.yaml
    # Configurations SMAC runs first, after the default ({hyperparameter: value}, active ones only): a scenario
    # file's own, or the ones a model proposed with its scenario that are valid in the space.
    initial_configurations: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.n_trials is not None:
            _positive("--trials / n_trials", self.n_trials, integer=True)
        _positive("--walltime / walltime_limit", self.walltime_limit)
        _positive("trial_walltime_limit", self.trial_walltime_limit)
        _positive("trial_memory_limit_mb", self.trial_memory_limit_mb, integer=True)
        if not isinstance(self.extra_imports, tuple):  # YAML gives a list
            object.__setattr__(self, "extra_imports", tuple(str(name) for name in self.extra_imports))
        starts = self.initial_configurations
        if not isinstance(starts, list | tuple) or not all(isinstance(start, dict) for start in starts):
            raise ConfigError("initial_configurations must be a list of {hyperparameter: value} mappings, got "
                              f"{starts!r}")  # fmt: skip
        object.__setattr__(self, "initial_configurations", tuple(dict(start) for start in starts))
        if self.crash_cost is not None and not math.isfinite(self.crash_cost):
            raise ConfigError("crash_cost must be a finite number: SMAC's models fail on infinite costs")

    @property
    def time_limited(self) -> bool:
        """Whether only the walltime ends the search (no trial cap)."""
        return self.n_trials is None

    @classmethod
    def load(cls, name_or_path: str | Path) -> ScenarioSettings:
        """Read a scenario preset (YAML or JSON) by bundled name or path."""
        return cls._from_mapping(*_read_scenario(name_or_path))

    @classmethod
    def _from_mapping(cls, path: Path, data: dict[str, Any]) -> ScenarioSettings:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"scenario file '{path}' has unknown setting(s) {unknown}: use {sorted(known)}")
        try:
            return cls(**data)
        except TypeError as error:
            raise ConfigError(f"scenario file '{path}' has a bad value ({error})") from None

    def with_overrides(self, **overrides: Any) -> ScenarioSettings:
        """A copy with the command line's values (None means: keep the preset's)."""
        return replace(self, **{key: value for key, value in overrides.items() if value is not None})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_scenario(name_or_path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The scenario file's path and the settings it holds."""
    path = resolve_file(name_or_path, "scenarios", (".yaml", ".yml", ".json"))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"scenario file '{path}' cannot be read ({type(error).__name__}): fix its syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"scenario file '{path}' must hold a mapping of settings, e.g. 'n_trials: 50'")
    return path, data


def requested_scenario(
    name_or_path: str | Path = "default", trials: int | None = None, walltime: float | None = None
) -> ScenarioSettings:
    """The scenario a run is asked for: a preset or the user's file, with ``--trials`` and ``--walltime`` over it.

    A walltime of the user's with no trial count of the user's means: search until the time is spent
    (``n_trials`` None). The user's are ``--trials`` / ``--walltime`` (``AutoML(trials=, walltime=)``)
    and the ``n_trials`` / ``walltime_limit`` a scenario file given by its path sets; a bundled preset
    given by name (``default``, ``quick``) holds defaults, so its ``n_trials`` caps a run only without
    a walltime of the user's. Without one, the preset's (or file's) trials and walltime stand.
    """
    path, data = _read_scenario(name_or_path)
    settings = ScenarioSettings._from_mapping(path, data)
    own = set(data) if Path(name_or_path).expanduser().is_file() else set()
    users_trials = trials is not None or "n_trials" in own
    users_walltime = walltime is not None or "walltime_limit" in own
    settings = settings.with_overrides(n_trials=trials, walltime_limit=walltime)
    if users_walltime and not users_trials:
        settings = replace(settings, n_trials=None)
    return settings


def _positive(name: str, value: Any, integer: bool = False) -> None:
    """Reject zero, negative, non-finite and (where a count is meant) fractional values."""
    kind = "a whole number" if integer else "a number"
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok or (integer and float(value) != int(value)):
        raise ConfigError(f"{name} must be {kind} greater than 0, got {value!r}")


# Where tensor trials may train (--device).
DEVICES = ("auto", "cpu", "cuda")
OFFLINE = "offline"


def folds_allowed(facade: str) -> bool:
    """Whether SMAC's ``facade`` can take cross-validation folds as instances (no budgets, not the GP)."""
    info = FACADE_INFO[facade]
    return not info.uses_budget and info.takes_folds


# The column kinds a user may set (``--types col=kind``); ``drop`` and ``id`` leave the column out.
USER_KINDS = ("numeric", "categorical", "date", "text", "drop", "id")
FALLBACKS = (OFFLINE,)
STARTS = ("model", OFFLINE)


@dataclass(frozen=True)
class RunConfig:
    """The user's request: which data, which limits, which writer, where to write.

    ``llm`` is a litellm model string or ``offline``; ``replay`` is a recorded run whose model
    answers are used instead of calling a model.
    """

    data: str = DEFAULT_DATASET
    target: str | None = None
    test_data: str | None = None
    task: str = "auto"
    seed: int = 0
    out: Path | None = None
    space: Path | None = None
    scenario: ScenarioSettings = field(default_factory=ScenarioSettings)
    facade: str = AUTO
    budget_kind: str = AUTO
    cv: int | None = None
    workers: int = 1
    dask_scheduler: str | None = None
    llm: str = OFFLINE
    api_base: str | None = None
    llm_timeout: float = 180.0
    attempts: int = 3
    fallback: str | None = None
    replay: Path | None = None
    # The user's word on columns where guessing is unsafe: (column, kind) from --types, --drop and --id.
    column_kinds: tuple[tuple[str, str], ...] = ()
    # What "better" means (--metric): None is the task's default, log loss or RMSE.
    metric: str | None = None
    # Whether the final model's members are bagged (fold models averaged with the refit; --no-bag: the refits alone).
    bag: bool = True
    # Rounds of search (--rounds): after each but the last the writer reads what the search learned and revises
    # the space (and, a model, train.py); the next round continues from every earlier trial valid in it.
    rounds: int = 1
    # Who writes the first round with a model (--start): the model, or the offline writer as a baseline the
    # model then revises (from round 2 on).
    start: str = "model"
    # Where tensor trials train (--device): auto takes a CUDA GPU when torch sees one; tables always use the CPU.
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.facade != AUTO and self.facade not in FACADE_INFO:
            raise ConfigError(f"--facade must be auto or one of {sorted(FACADE_INFO)}, got {self.facade!r}")
        if self.device not in DEVICES:
            raise ConfigError(f"--device must be one of {list(DEVICES)}, got {self.device!r}")
        if self.budget_kind != AUTO and self.budget_kind not in BUDGET_KINDS:
            raise ConfigError(f"--budget-kind must be auto or one of {list(BUDGET_KINDS)}, got {self.budget_kind!r}")
        if self.cv is not None:
            if isinstance(self.cv, bool) or not isinstance(self.cv, int) or self.cv < 1:
                raise ConfigError(f"--cv must be a whole number of folds (1: one validation split), got {self.cv!r}")
            if self.cv > 1 and self.facade != AUTO and not folds_allowed(self.facade):
                raise ConfigError(f"--cv works with the facades hpo and random, not {self.facade!r}: drop --cv "
                                  "or choose another --facade")  # fmt: skip
        _positive("--workers", self.workers, integer=True)
        if self.workers > 1 and self.dask_scheduler:
            raise ConfigError("give either --workers (a local dask cluster) or --dask-scheduler (an existing one)")
        _positive("--attempts", self.attempts, integer=True)
        _positive("--rounds", self.rounds, integer=True)
        if self.start not in STARTS:
            raise ConfigError(f"--start must be one of {list(STARTS)}, got {self.start!r}")
        if self.start == OFFLINE and self.llm != OFFLINE and self.replay is None and self.rounds < 2:
            raise ConfigError("--start offline has the model revise the offline writer's search from round 2 on: "
                              "add --rounds 2 (or more)")  # fmt: skip
        _positive("--llm-timeout", self.llm_timeout)
        if not isinstance(self.llm, str) or not self.llm.strip():
            raise ConfigError("--llm must be a litellm model string such as openai/gpt-4o-mini, or 'offline'")
        wrong = sorted({kind for _, kind in self.column_kinds} - set(USER_KINDS))
        if wrong:
            raise ConfigError(f"--types kind(s) {wrong} unknown: use one of {list(USER_KINDS)}, as in --types col=date")
        if self.fallback is not None and self.fallback not in FALLBACKS:
            raise ConfigError(f"--fallback must be one of {list(FALLBACKS)}, got {self.fallback!r}")
        check_metric_name(self.metric)

    @property
    def requested_facade(self) -> str:
        """The facade the user asked for; cross-validation folds need one without budgets (hpo by default)."""
        return "hpo" if self.folds and self.facade == AUTO else self.facade

    @property
    def folds(self) -> int | None:
        """Cross-validation folds, or None for one validation split (``--cv 1`` asks for that explicitly)."""
        return self.cv if self.cv is not None and self.cv > 1 else None

    @property
    def uses_model(self) -> bool:
        """Whether a language model (live or replayed) writes the artifacts."""
        return self.replay is not None or self.llm != OFFLINE

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("out", "space", "replay"):
            data[key] = str(data[key]) if data[key] is not None else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """The request recorded in a run's ``run.json`` (``to_dict``'s output)."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["scenario"] = ScenarioSettings(**values.get("scenario", {}))
        values["column_kinds"] = tuple((str(name), str(kind)) for name, kind in values.get("column_kinds", ()))
        for key in ("out", "space", "replay"):
            values[key] = Path(values[key]) if values.get(key) else None
        return cls(**values)
