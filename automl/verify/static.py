"""The static gate: judge train() source without running it, in milliseconds.

Each finding carries a line number and a sentence a writer (person or model) can act on. This first
version checks what every later check relies on: the file parses and defines ``train`` with the
contract's exact signature.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

EXPECTED_SIGNATURE = "train(cfg, dataset, seed, budget=None, model_dir=None)"


@dataclass(frozen=True)
class Finding:
    """One problem in the source, with the line it is on (0 when it concerns the whole file)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def check_source(source: str, filename: str = "train.py") -> list[Finding]:
    """Parse ``source`` and check the signature of its module-level ``train``."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as error:
        return [Finding(error.lineno or 0, f"syntax error: {error.msg}")]
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "train"]
    if not functions:
        async_train = any(isinstance(node, ast.AsyncFunctionDef) and node.name == "train" for node in tree.body)
        what = "train() must be a plain function, not async" if async_train else "no module-level train() defined"
        return [Finding(0, f"{what}: define {EXPECTED_SIGNATURE}")]
    return _check_signature(functions[-1])


def _check_signature(function: ast.FunctionDef) -> list[Finding]:
    """The parameters must be exactly cfg, dataset, seed, budget=None, model_dir=None."""
    args = function.args
    names = [arg.arg for arg in args.posonlyargs + args.args]
    defaults = [None] * (len(names) - len(args.defaults)) + list(args.defaults)
    problems = []
    if names != ["cfg", "dataset", "seed", "budget", "model_dir"]:
        problems.append(f"parameters are ({', '.join(names)})")
    elif any(not (isinstance(d, ast.Constant) and d.value is None) for d in defaults[3:]) or any(defaults[:3]):
        problems.append("budget and model_dir must default to None and cfg, dataset, seed have no default")
    if args.posonlyargs:
        problems.append("parameters must not be positional-only")
    if args.vararg or args.kwarg or args.kwonlyargs:
        problems.append("no *args, **kwargs or keyword-only parameters")
    if not problems:
        return []
    return [Finding(function.lineno, f"train() signature must be {EXPECTED_SIGNATURE}: " + "; ".join(problems))]
