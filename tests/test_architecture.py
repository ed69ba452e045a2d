"""The import rules of docs/architecture.md, checked on the source: an import only points down the layers."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "automl"
ENTRY_POINTS = ("automl.cli", "automl.api", "automl.bench")
CORE = ("automl.result", "automl.clock", "automl.errors", "automl._io")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """Every ``automl`` module ``path`` imports, with the names it takes from it."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("automl"):
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("automl"):
                    yield alias.name, []


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def within(module: str, *packages: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def top_package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_only_entry_points_import_the_orchestrator() -> None:
    wrong = [(name, target) for name, path in project_modules().items() for target, _ in imports(path)
             if within(target, "automl.runner") and not within(name, *ENTRY_POINTS)]  # fmt: skip
    assert wrong == []


def test_only_the_orchestrator_imports_the_stages() -> None:
    wrong = [(name, target) for name, path in project_modules().items() for target, _ in imports(path)
             if within(target, "automl.stages") and not within(name, "automl.runner", "automl.stages")]  # fmt: skip
    assert wrong == []


def test_the_sandbox_imports_nothing_else_of_automl() -> None:
    modules = {name: path for name, path in project_modules().items() if within(name, "automl.sandbox")}
    assert modules, "automl/sandbox/ is missing"
    wrong = [(name, target) for name, path in modules.items() for target, _ in imports(path)
             if not within(target, "automl.sandbox")]  # fmt: skip
    assert wrong == []


def test_core_modules_import_only_the_core() -> None:
    wrong = [(name, target) for name, path in project_modules().items() if within(name, *CORE)
             for target, _ in imports(path) if not within(target, *CORE)]  # fmt: skip
    assert wrong == []


def test_no_module_imports_a_private_name_from_another_package() -> None:
    sources = {**project_modules(), **{f"tests.{p.stem}": p for p in (ROOT / "tests").glob("*.py")},
               **{f"benchmarks.{p.stem}": p for p in (ROOT / "benchmarks").glob("*.py")}}  # fmt: skip
    wrong = []
    for name, path in sources.items():
        for target, names in imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if top_package(target) != top_package(name) and private:
                wrong.append((name, target, private))
    assert wrong == []


def test_the_modules_generated_code_may_import_import_nothing_else_of_automl() -> None:
    # Generated code imports automl.nets (a child unpickles it) and automl.trial_metrics: neither may reach any
    # other part of automl, which the static gate keeps from generated code.
    assert list(imports(PACKAGE / "nets.py")) == []
    assert list(imports(PACKAGE / "trial_metrics.py")) == []
