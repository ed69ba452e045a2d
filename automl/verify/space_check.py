"""Check generated config-space code: statically, then by running ``get_configspace()`` in the sandbox.

The code is untrusted like train.py, so it runs in the same sandbox; the space comes back as
ConfigSpace JSON. Then the space itself must be usable by SMAC: it has hyperparameters, its default
is a valid configuration, and it can be sampled. What SMAC can search but should not have to (see
:mod:`automl.verify.space_warnings`) comes back as warnings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ConfigSpace import ConfigurationSpace

from automl.sandbox import Limits, run_space
from automl.verify.space_warnings import deprecated_calls, unconditioned_hyperparameters
from automl.verify.static import check_source

# What config-space code may import: it only builds the space.
SPACE_IMPORTS = frozenset({"ConfigSpace", "math", "numpy", "typing", "__future__"})
# How long building a space may take, and how many random configurations must sample cleanly.
SPACE_WALLTIME_S = 30.0
SAMPLES = 20
# The rule each common ConfigSpace mistake breaks, and the words of ConfigSpace 1.2 (or numpy beneath it)
# that give it away: its messages name the value, never the rule.
_RULES = (
    (("for log-scale is not possible",), "a log-scaled hyperparameter needs a lower bound above 0"),
    (("Illegal default value",), "a default must lie within [lower, upper]"),
    (("did not contain a loop with signature matching types", "Cannot cast ufunc", "could not convert string to float",
      "must be an integer. Got", "default value has to be one of the"),
     "a Float's default must be a number, an Integer's a whole number, a Categorical's one of its choices "
     "(and bounds are numbers too)"),
)  # fmt: skip


@dataclass(frozen=True)
class SpaceCheck:
    """The space a file built, or the reasons it could not be used; ``warnings`` do not reject it."""

    space: ConfigurationSpace | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def check_space_code(code_path: Path, work_dir: Path, memory_mb: int, seed: int = 0) -> SpaceCheck:
    """Judge the ``get_configspace()`` file at ``code_path``; its sandbox job works in ``work_dir``."""
    source = code_path.read_text(encoding="utf-8")
    findings = check_source(source, code_path.name, allowed_imports=SPACE_IMPORTS, entry="get_configspace")
    if findings:
        return SpaceCheck(None, tuple(f"static: {finding}" for finding in findings))
    deprecated = tuple(deprecated_calls(source))
    outcome, json_path = run_space(code_path, work_dir, Limits(walltime_s=SPACE_WALLTIME_S, memory_mb=memory_mb))
    if json_path is None:
        failure = f"get_configspace() failed in the sandbox ({outcome.status}): {outcome.error}"
        return SpaceCheck(None, (failure + _rules_broken(outcome.error),), deprecated)
    try:
        space = ConfigurationSpace.from_serialized_dict(json.loads(json_path.read_text(encoding="utf-8")))
    except Exception as error:  # ConfigSpace raises many kinds on a malformed file
        return SpaceCheck(None, (f"the space cannot be read back from JSON ({type(error).__name__}: {error})",),
                          deprecated)  # fmt: skip
    return SpaceCheck(space, tuple(_usable(space, seed)), tuple(unconditioned_hyperparameters(space)) + deprecated)


def plain_name(name: str) -> bool:
    """An identifier, or two joined by a colon (``rf:max_depth``, the offline space's names): a name that
    generated code can spell and a prompt can quote without escaping."""
    return all(part.isidentifier() for part in name.split(":", 1))


def _usable(space: ConfigurationSpace, seed: int) -> list[str]:
    """What keeps SMAC from searching ``space``."""
    if len(space) == 0:
        return ["get_configspace() returned a space without hyperparameters: add the ones to tune"]
    errors = [f"hyperparameter name {name!r} is not a plain identifier: use letters, digits and '_' (a "
              "'family:' prefix may join two, as in 'rf:max_depth')"
              for name in space if not plain_name(name)]  # fmt: skip
    try:
        space.get_default_configuration().check_valid_configuration()
    except Exception as error:  # ConfigSpace's own validation errors, in its words
        errors.append(f"the default configuration is invalid ({type(error).__name__}: {error}): fix the defaults, "
                      "conditions or forbidden clauses")  # fmt: skip
    try:
        space.seed(seed)
        space.sample_configuration(SAMPLES)
    except Exception as error:
        errors.append(f"sampling the space fails ({type(error).__name__}: {error}): the forbidden clauses may "
                      "exclude (almost) everything")  # fmt: skip
    return errors


def _rules_broken(error: str) -> str:
    """The rules a ConfigSpace error (with its causes) says were broken, one sentence each, to end the message.

    A small model repairs what a message states; "illegal settings" or a numpy ufunc error states no rule.
    """
    rules = [rule for words, rule in _RULES if any(word in error for word in words)]
    return "".join(f"\nrule: {rule}." for rule in rules)
