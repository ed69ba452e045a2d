"""The static gate: judge train() source without running it, in milliseconds.

Generated code is untrusted, and running it (even in the sandbox) costs seconds; reading its syntax tree
costs milliseconds. So before anything runs, this module checks that the file parses, defines ``train``
with the contract's exact signature, imports only allowed modules, avoids the calls that escape or
undermine the sandbox (eval, dunder attributes, processes, the environment), lets errors reach the
optimizer instead of hiding them, and reads only hyperparameters that exist in the config space.

Each finding carries a line number and a sentence a writer (person or model) can act on: it says what is
wrong and what to do instead. The gate is a fast first filter, not the security boundary: the sandbox is.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Collection
from dataclasses import dataclass

import yaml

from automl.errors import ConfigError
from automl.resources import bundled_dir

EXPECTED_SIGNATURE = "train(cfg, dataset, seed, budget=None, model_dir=None)"
ALLOWED_IMPORTS_FILE = "allowed_imports.yaml"
# automl's own modules that generated code may import, each only as ``from MODULE import NAME``: the saved-model
# class of networks (a model must unpickle without train.py) and the validation scores every template returns.
# ``import automl.nets`` would bind the package.
LIBRARY_MODULES = frozenset({"automl.nets", "automl.trial_metrics"})

# Why a module that is left off the allow-list is dangerous, so the writer does not try a neighbour of it.
_PROCESSES = "it starts processes"
_NETWORK = "it opens network connections"
_NATIVE = "it loads native code"
_UNPICKLES = "loading its files runs code hidden in them (save models with joblib.dump)"
_WHY_NOT_ALLOWED = {
    "subprocess": _PROCESSES,
    "multiprocessing": _PROCESSES,
    "pty": _PROCESSES,
    "concurrent": "it starts processes and threads",
    "asyncio": "it starts processes and opens network connections",
    "signal": "it changes how the process reacts to signals, which the runner's time limits rely on",
    "socket": _NETWORK,
    "socketserver": _NETWORK,
    "ssl": _NETWORK,
    "urllib": _NETWORK,
    "http": _NETWORK,
    "requests": _NETWORK,
    "httpx": _NETWORK,
    "aiohttp": _NETWORK,
    "ftplib": _NETWORK,
    "smtplib": _NETWORK,
    "xmlrpc": _NETWORK,
    "ctypes": _NATIVE,
    "_ctypes": _NATIVE,
    "cffi": _NATIVE,
    "importlib": "it imports code by name at run time, past this check",
    "builtins": "it reaches eval, exec and __import__",
    "sys": "it reaches the interpreter's internals (sys.modules, sys.exit)",
    "inspect": "it reaches the interpreter's internals",
    "gc": "it reaches the interpreter's internals",
    "shutil": "it copies and deletes whole directory trees",
    "pickle": _UNPICKLES,
    "marshal": _UNPICKLES,
    "dill": _UNPICKLES,
    "cloudpickle": _UNPICKLES,
}

# Built-in functions that run code from strings, reach module state or wait for a person: (why, instead).
_REWRITE = "write the code out directly"
_DANGEROUS_CALLS = {
    "compile": ("it builds code from a string", _REWRITE),
    "breakpoint": ("it stops and waits for a debugger", "remove it: train() runs unattended"),
    "input": ("it waits for keyboard input that never comes", "remove it: train() runs unattended"),
    "globals": ("it exposes and lets code rewrite module state", "pass values explicitly as arguments"),
    "vars": ("it exposes and lets code rewrite an object's state", "use the object's public attributes"),
}
# Names that are findings wherever they appear, called or not (eval = e; e(...) is still eval).
_FORBIDDEN_NAMES = {
    "eval": ("it runs code from a string", _REWRITE),
    "exec": ("it runs code from a string", _REWRITE),
    "__import__": ("it imports modules by name, past the import check", "use a plain import statement"),
    "__builtins__": ("it reaches eval, exec and __import__", "call built-in functions by their plain names"),
    "__loader__": ("it reaches the module loading machinery", "use a plain import statement"),
    "__spec__": ("it reaches the module loading machinery", "use a plain import statement"),
}
_ATTRIBUTE_FUNCTIONS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
_ALLOWED_DUNDERS = frozenset({"__name__", "__version__", "__doc__", "__init__"})

# os functions that start, replace, signal or end processes or change who the process is: (why, instead).
_IN_PYTHON = "do the work in Python inside train() (the runner already isolates each trial)"
_OS_PREFIXES = {
    "exec": "replaces the process with another program",
    "spawn": "starts processes",
    "posix_spawn": "starts processes",
}
_OS_FORBIDDEN = {
    "system": ("starts a shell", _IN_PYTHON),
    "popen": ("starts a shell", _IN_PYTHON),
    "fork": ("starts processes", _IN_PYTHON),
    "forkpty": ("starts processes", _IN_PYTHON),
    "kill": ("sends signals to processes", "remove it: the runner stops trials itself"),
    "killpg": ("sends signals to processes", "remove it: the runner stops trials itself"),
    "setsid": ("detaches the process from the runner", "remove it"),
    "setuid": ("changes the user the process runs as", "remove it"),
    "setgid": ("changes the group the process runs as", "remove it"),
    "chroot": ("changes the process's root directory", "remove it"),
    "_exit": ("ends the process without returning a result", "return the scores dict or raise an exception"),
    "abort": ("ends the process without returning a result", "return the scores dict or raise an exception"),
    "putenv": ("changes the runner's environment", "pass settings as arguments instead"),
    "unsetenv": ("changes the runner's environment", "pass settings as arguments instead"),
}
_OS_DYNAMIC_MESSAGE = "getattr() on os with a computed name is not allowed: call the os function you need directly"
# Ways of using os.environ that only read it; anything else (assignment, update, pop, del) changes it.
_ENVIRON_READERS = frozenset({"get", "copy", "keys", "items", "values"})

_BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException"})
_SWALLOW_MESSAGE = "this except hides errors from the optimizer: remove the try/except and let the error propagate"

_CONFIG_PARAMETERS = frozenset({"cfg", "config", "configuration"})
_MAX_LISTED_NAMES = 15

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


@dataclass(frozen=True)
class Finding:
    """One problem in the source, with the line it is on (0 when it concerns the whole file) and the further
    lines where the same problem recurs, so a writer fixes them all in one draft."""

    line: int
    message: str
    more_lines: tuple[int, ...] = ()

    def __str__(self) -> str:
        if not self.line:
            return self.message
        lines = ", ".join(map(str, (self.line, *self.more_lines)))
        return f"{'lines' if self.more_lines else 'line'} {lines}: {self.message}"


def load_allowed_imports(extra: Collection[str] = ()) -> frozenset[str]:
    """The module roots of ``configs/allowed_imports.yaml`` plus ``extra`` (a scenario's ``extra_imports``).

    Read from the file on every call, so a user's edit takes effect on the next check without a restart.
    """
    path = bundled_dir("configs") / ALLOWED_IMPORTS_FILE
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    names = content.get("allowed_imports") if isinstance(content, dict) else None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ConfigError(f"{path} must be a mapping 'allowed_imports:' with a list of module names")
    return _module_roots([*names, *extra])


def _module_roots(names: Collection[str]) -> frozenset[str]:
    """Entries are module roots; a dotted entry allows its whole top-level package, as an import would."""
    return frozenset(name.strip().split(".")[0] for name in names if name.strip())


def check_source(
    source: str,
    filename: str = "train.py",
    hyperparameters: Collection[str] | None = None,
    allowed_imports: Collection[str] | None = None,
    entry: str = "train",
    unreachable: Collection[tuple[int, str]] = (),
) -> list[Finding]:
    """Every finding in ``source``, sorted by line; a syntax error is reported alone (nothing else can be read).

    ``hyperparameters`` are the config space's names (None skips that check); ``allowed_imports`` are module
    roots (None reads ``configs/allowed_imports.yaml``). ``entry`` is the function the file must define:
    ``train`` (with the contract's signature) or another that is called without arguments, such as
    ``get_configspace``. ``unreachable`` are (line, name) reads of unknown names in code the space never runs
    (see :func:`automl.verify.conditional_reads.unoffered_choice_reads`), which the name check leaves alone.
    """
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as error:
        return [Finding(error.lineno or 0, f"syntax error: {error.msg}")]
    allowed = load_allowed_imports() if allowed_imports is None else _module_roots(allowed_imports)
    findings = [
        *_check_entry(tree, entry),
        *_check_imports(tree, allowed),
        *_check_dangerous_names(tree),
        *_check_os_use(tree),
        *_check_exception_handlers(tree),
    ]
    if hyperparameters is not None:
        findings += _check_hyperparameter_names(tree, hyperparameters, set(unreachable))
    return _grouped(findings)


def _grouped(findings: list[Finding]) -> list[Finding]:
    """One finding per message, listing every line it was found on, in order of first line.

    The same mistake on five lines is one problem: said five times, it crowds out the others.
    """
    lines: dict[str, set[int]] = {}
    for finding in findings:
        lines.setdefault(finding.message, set()).add(finding.line)
    ordered = {message: sorted(found) for message, found in lines.items()}
    grouped = [Finding(found[0], message, tuple(found[1:])) for message, found in ordered.items()]
    return sorted(grouped, key=lambda finding: finding.line)


def hyperparameter_names_used(source: str) -> set[str]:
    """The literal hyperparameter names the source reads from its config (raises SyntaxError if it does not parse).

    Useful to compare generated code with its config space in both directions (unused hyperparameters too).
    """
    return {name for _, name in _config_lookups(ast.parse(source))}


# --- 1. signature -------------------------------------------------------------------------------------------


def entry_function(tree: ast.Module, entry: str) -> ast.FunctionDef | None:
    """The module-level function Python would call: the last one defined under that name."""
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == entry]
    return functions[-1] if functions else None


def _check_entry(tree: ast.Module, entry: str) -> list[Finding]:
    """There must be a plain module-level ``entry`` function: train() with the contract's signature."""
    expected = EXPECTED_SIGNATURE if entry == "train" else f"{entry}()"
    function = entry_function(tree, entry)
    if function is not None:
        return _check_signature(function) if entry == "train" else _check_no_arguments(function)
    is_async = any(isinstance(node, ast.AsyncFunctionDef) and node.name == entry for node in tree.body)
    what = f"{entry}() must be a plain function, not async" if is_async else f"no module-level {entry}() defined"
    return [Finding(0, f"{what}: define {expected}")]


def _check_no_arguments(function: ast.FunctionDef) -> list[Finding]:
    """A function the runner calls bare: every parameter it has needs a default."""
    args = function.args
    required = len(args.posonlyargs + args.args) - len(args.defaults)
    required += sum(default is None for default in args.kw_defaults)
    if required <= 0:
        return []
    return [Finding(function.lineno, f"{function.name}() is called without arguments: remove its parameters")]


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


# --- 2. imports ---------------------------------------------------------------------------------------------


def _check_imports(tree: ast.Module, allowed: frozenset[str]) -> list[Finding]:
    """Every import, at any depth, must come from an allowed top-level module."""
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            findings.append(Finding(node.lineno, _relative_import_message(node)))
            continue
        if isinstance(node, ast.ImportFrom) and node.module in LIBRARY_MODULES:
            continue
        for module in _imported_modules(node):
            root = module.split(".")[0]
            if root not in allowed:
                findings.append(Finding(node.lineno, _import_message(root, allowed)))
    return findings


def _imported_modules(node: ast.AST) -> list[str]:
    """The modules an import statement loads (none for other statements)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return []


def _relative_import_message(node: ast.ImportFrom) -> str:
    written = "." * node.level + (node.module or "")
    return (
        f"relative import from '{written}' is not allowed: train.py runs as a single file, so import installed "
        "packages by their full name (e.g. 'from sklearn.svm import SVC')"
    )


def _import_message(root: str, allowed: frozenset[str]) -> str:
    """Say why the module is refused (when it is known to be dangerous) and which modules are fine."""
    why = _WHY_NOT_ALLOWED.get(root)
    reason = f" because {why}" if why else ""
    listing = ", ".join(sorted(allowed, key=str.lower))
    return (
        f"import of '{root}' is not allowed{reason}: use only {listing} "
        "(ask the user to extend allowed_imports if a library is needed)"
    )


# --- 3. dangerous names, calls and attributes ---------------------------------------------------------------


def _check_dangerous_names(tree: ast.Module) -> list[Finding]:
    """eval and friends, the import machinery, and dunder attributes that lead out of any sandbox."""
    findings = []
    for node in ast.walk(tree):
        message = _dangerous_name_message(node)
        if message:
            findings.append(Finding(node.lineno, message))
    return findings


def _dangerous_name_message(node: ast.AST) -> str | None:
    """The message for one node, or None when it is harmless."""
    if isinstance(node, ast.Name) and node.id in _FORBIDDEN_NAMES:
        why, instead = _FORBIDDEN_NAMES[node.id]
        return f"using {node.id} is not allowed: {why}; {instead}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _dangerous_call_message(node.func.id, node.args)
    if isinstance(node, ast.Attribute) and _is_forbidden_dunder(node.attr):
        return (
            f"access to the attribute {node.attr} is not allowed: it reaches Python's internals; use the "
            "object's public API instead (isinstance() for types, type(x).__name__ for names)"
        )
    return None


def _dangerous_call_message(function: str, args: list[ast.expr]) -> str | None:
    """Calls of the risky built-ins, and getattr-style calls that reach a dunder by its string name."""
    if function in _DANGEROUS_CALLS:
        why, instead = _DANGEROUS_CALLS[function]
        return f"calling {function}() is not allowed: {why}; {instead}"
    if function in _ATTRIBUTE_FUNCTIONS and len(args) >= 2:
        name = _string_constant(args[1])
        if name is not None and _is_forbidden_dunder(name):
            return (
                f"{function}(..., {name!r}) is not allowed: it reaches Python's internals by name; "
                "use the object's public API instead"
            )
    return None


def _is_forbidden_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__") and name not in _ALLOWED_DUNDERS


def _string_constant(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


# --- 4. os: processes and the environment -------------------------------------------------------------------


def _check_os_use(tree: ast.Module) -> list[Finding]:
    """os is allowed for paths and reading settings, not for processes or changing the environment.

    Aliases are followed (``import os as o``, ``from os import environ``); scopes are not, which only errs
    on the strict side.
    """
    os_names, environ_names = _os_aliases(tree)
    parents = _parent_map(tree)
    findings = []
    for node in ast.walk(tree):
        message = _os_message(node, os_names, environ_names, parents)
        if message:
            findings.append(Finding(node.lineno, message))
    return findings


def _os_aliases(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to the os module, and to os.environ, anywhere in the file."""
    os_names, environ_names = {"os"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names.update(alias.asname for alias in node.names if alias.name == "os" and alias.asname)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
            environ_names.update(alias.asname or alias.name for alias in node.names if alias.name == "environ")
    return os_names, environ_names


def _parent_map(tree: ast.Module) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _os_message(
    node: ast.AST, os_names: set[str], environ_names: set[str], parents: dict[ast.AST, ast.AST]
) -> str | None:
    """The message for one node's use of os, or None when it is harmless."""
    if isinstance(node, ast.ImportFrom) and node.module == "os" and not node.level:
        return _os_from_import_message(node)
    if isinstance(node, ast.Attribute) and _is_name(node.value, os_names):
        if node.attr == "environ":
            return _environ_message(node, parents)
        return _os_function_message(node.attr)
    if isinstance(node, ast.Name) and node.id in environ_names and isinstance(node.ctx, ast.Load):
        return _environ_message(node, parents)
    if _is_attribute_call(node) and _is_name(node.args[0], os_names):
        name = _string_constant(node.args[1])
        return _os_function_message(name) if name is not None else _OS_DYNAMIC_MESSAGE
    return None


def _is_attribute_call(node: ast.AST) -> bool:
    """getattr(obj, name, ...) and its siblings: attribute access by a (possibly computed) name."""
    return isinstance(node, ast.Call) and _is_name(node.func, _ATTRIBUTE_FUNCTIONS) and len(node.args) >= 2


def _os_from_import_message(node: ast.ImportFrom) -> str | None:
    """``from os import system`` and ``from os import *`` bring the forbidden functions in under other names."""
    for alias in node.names:
        if alias.name == "*":
            return "'from os import *' is not allowed: it brings in os.system and friends; import os and use os.path"
        message = _os_function_message(alias.name)
        if message:
            return message
    return None


def _os_function_message(name: str) -> str | None:
    """Why the os function ``name`` is refused, or None for the harmless ones (path, makedirs, getenv, ...)."""
    if name in _OS_FORBIDDEN:
        why, instead = _OS_FORBIDDEN[name]
    else:
        prefix = next((prefix for prefix in _OS_PREFIXES if name.startswith(prefix)), None)
        if prefix is None:
            return None
        why, instead = _OS_PREFIXES[prefix], _IN_PYTHON
    return f"os.{name} is not allowed: it {why}; {instead}"


def _environ_message(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str | None:
    """os.environ may be read (get, [key], in, iteration, copies); any other use could change it."""
    if _reads_environ(node, parents.get(node)):
        return None
    return (
        "os.environ may only be read (os.environ.get(...), os.environ[...]): changing or handing it on "
        "changes the runner's environment; pass settings as arguments instead"
    )


def _reads_environ(node: ast.AST, parent: ast.AST | None) -> bool:
    """Whether the parent only reads the environ object ``node``."""
    if isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load):
        return False  # os.environ = {...} or del os.environ
    if isinstance(parent, ast.Attribute):
        return parent.attr in _ENVIRON_READERS
    if isinstance(parent, ast.Subscript):
        return parent.value is node and isinstance(parent.ctx, ast.Load)
    if isinstance(parent, ast.Compare):
        return any(
            right is node and isinstance(op, ast.In | ast.NotIn)
            for op, right in zip(parent.ops, parent.comparators, strict=True)
        )
    if isinstance(parent, ast.For | ast.comprehension):
        return parent.iter is node
    return isinstance(parent, ast.Call) and _is_name(parent.func, {"dict"}) and node in parent.args


def _is_name(node: ast.AST, names: Collection[str]) -> bool:
    return isinstance(node, ast.Name) and node.id in names


# --- 5. exception handlers that swallow errors --------------------------------------------------------------


def _check_exception_handlers(tree: ast.Module) -> list[Finding]:
    """A swallowed error looks like a bad configuration to SMAC, and a crash the verifier would show is lost."""
    return [
        Finding(node.lineno, _SWALLOW_MESSAGE)
        for node in ast.walk(tree)
        if isinstance(node, ast.ExceptHandler) and _swallows_errors(node)
    ]


def _swallows_errors(handler: ast.ExceptHandler) -> bool:
    """No raise anywhere inside, and either catches everything or does nothing with what it catches."""
    if any(isinstance(node, ast.Raise) for node in ast.walk(handler)):
        return False
    return _catches_everything(handler.type) or all(_does_nothing(statement) for statement in handler.body)


def _catches_everything(caught: ast.expr | None) -> bool:
    """Bare except, Exception or BaseException (alone, in a tuple, or as builtins.Exception)."""
    if caught is None:
        return True
    if isinstance(caught, ast.Tuple):
        return any(_catches_everything(element) for element in caught.elts)
    name = caught.id if isinstance(caught, ast.Name) else caught.attr if isinstance(caught, ast.Attribute) else ""
    return name in _BROAD_EXCEPTIONS


def _does_nothing(statement: ast.stmt) -> bool:
    """pass, ..., a bare string, continue, return or return None."""
    if isinstance(statement, ast.Pass | ast.Continue):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant)
    if isinstance(statement, ast.Return):
        return statement.value is None or (isinstance(statement.value, ast.Constant) and statement.value.value is None)
    return False


# --- 6. hyperparameter names --------------------------------------------------------------------------------


def _check_hyperparameter_names(
    tree: ast.Module, hyperparameters: Collection[str], unreachable: set[tuple[int, str]]
) -> list[Finding]:
    """A misspelt name reads a default (cfg.get) or crashes (cfg[...]) instead of tuning what was meant."""
    known = sorted(set(hyperparameters))
    return [Finding(line, _unknown_name_message(name, known)) for line, name in _config_lookups(tree)
            if name not in known and (line, name) not in unreachable]  # fmt: skip


def _unknown_name_message(name: str, known: list[str]) -> str:
    """Name the closest known hyperparameters, or list the space when nothing is close."""
    close = difflib.get_close_matches(name, known, n=3)
    if close:
        hint = "closest: " + ", ".join(repr(option) for option in close)
    else:
        shown = ", ".join(repr(option) for option in known[:_MAX_LISTED_NAMES])
        more = f" and {len(known) - _MAX_LISTED_NAMES} more" if len(known) > _MAX_LISTED_NAMES else ""
        hint = f"the space defines {shown}{more}" if known else "the space defines no hyperparameters"
    return f"hyperparameter {name!r} is not in the config space ({hint}): use exact names from the config space"


def _config_lookups(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, name) of every literal name read from a config, sorted."""
    return sorted({(node.lineno, name) for node, name in config_reads(tree)})


def config_reads(tree: ast.Module) -> list[tuple[ast.expr, str]]:
    """Every node reading a literal name from a config, with the name: cfg.get("name", ...), cfg["name"] and
    "name" in cfg, where the config is train()'s first parameter or a parameter called cfg/config/configuration.

    Nodes rather than lines, so a caller can ask where a read sits (which branch guards it).
    """
    train = entry_function(tree, "train")
    found: dict[tuple[int, str], tuple[ast.expr, str]] = {}  # by node: a nested function is walked twice
    for function in ast.walk(tree):
        if not isinstance(function, FunctionNode):
            continue
        parameters = [arg.arg for arg in function.args.posonlyargs + function.args.args + function.args.kwonlyargs]
        config_names = {name for name in parameters if name in _CONFIG_PARAMETERS}
        if function is train and parameters:
            config_names.add(parameters[0])
        for node in ast.walk(function) if config_names else ():
            for name in _looked_up_names(node, config_names):
                found[id(node), name] = (node, name)
    return list(found.values())


def _looked_up_names(node: ast.AST, config_names: set[str]) -> list[str]:
    """Literal names in cfg.get("name", ...), cfg["name"] and "name" in cfg; computed names are not checked."""
    if _is_config_get(node, config_names):
        return _strings(node.args[0])
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_name(node.value, config_names):
        return _strings(node.slice)
    if isinstance(node, ast.Compare):
        lefts = [node.left, *node.comparators[:-1]]
        pairs = zip(lefts, node.ops, node.comparators, strict=True)
        return [
            name
            for left, op, right in pairs
            if isinstance(op, ast.In | ast.NotIn) and _is_name(right, config_names)
            for name in _strings(left)
        ]
    return []


def _is_config_get(node: ast.AST, config_names: set[str]) -> bool:
    """cfg.get(name, ...) with at least the name given."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
        return False
    return node.func.attr == "get" and _is_name(node.func.value, config_names)


def _strings(node: ast.AST) -> list[str]:
    name = _string_constant(node)
    return [] if name is None else [name]
