"""Pull the artifact (a Python module or a JSON object) out of a language model's free-form reply.

Models wrap code in fences of every flavour, chat before and after it, give a first attempt and then a
corrected one, split imports into their own block, add example calls under ``if __name__ == "__main__":``,
or get cut off mid-fence. The writer needs one importable module (or one JSON object), so this module
finds it, and when it cannot, raises :class:`ReplyError` whose message goes back to the model verbatim as
a repair request: it says what was wrong and what answer is expected.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any


class ReplyError(ValueError):
    """A reply held no usable artifact. The message says what was wrong and what was expected, in
    one or two sentences, because it is sent back to the model as a repair request."""


# --- shared: normalising the reply and splitting it into fenced blocks and prose ----------------------------

_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*?)[ \t]*$")
_LANGUAGE_END = re.compile(r"[^\w.+-]")  # ```python title="train.py" and ```python:train.py name Python
_PYTHON_LANGUAGES = frozenset({"", "python", "python3", "py", "py3", "ipython", "ipython3"})
_SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "zsh", "powershell", "cmd", "bat"})
_NOT_JSON_LANGUAGES = (_PYTHON_LANGUAGES - {""}) | _SHELL_LANGUAGES
_CLAUSE = re.compile(r"(?:else|elif|except|finally)\b")
_WHOLE_FILE = "answer with one ```python block holding the whole file"


@dataclass(frozen=True)
class _Block:
    """One fenced block: its language (first word of the info string, lower case) and its dedented text."""

    language: str
    text: str
    closed: bool  # False when the reply ended before the closing fence, i.e. it was most likely cut off


def _normalise(reply: str) -> str:
    """One line-ending convention, no byte-order mark and no thinking, so only the answer is searched."""
    text = reply.replace("\ufeff", "").replace("\r\n", "\n").replace("\r", "\n")
    # Reasoning models (DeepSeek-R1, Qwen3) think out loud, drafts included, before the answer proper; some
    # APIs strip the opening <think> tag, so everything up to the closing one is dropped.
    return text.rsplit("</think>", 1)[-1]


def _split_fences(text: str) -> tuple[list[_Block], list[str]]:
    """The fenced blocks in order, and the non-blank prose segments between them."""
    lines = text.split("\n")
    blocks: list[_Block] = []
    prose: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            current.append(lines[index])
            index += 1
            continue
        prose.append("\n".join(current))
        current = []
        end = _closing_fence(lines, index + 1, opening["fence"])
        language = _LANGUAGE_END.split(opening["info"], maxsplit=1)[0].lower()
        body = textwrap.dedent("\n".join(lines[index + 1 : end]))
        blocks.append(_Block(language, body, closed=end < len(lines)))
        index = end + 1
    prose.append("\n".join(current))
    return blocks, [segment for segment in prose if segment.strip()]


def _closing_fence(lines: list[str], start: int, fence: str) -> int:
    """Index of the line closing ``fence`` (same character, at least as long), or len(lines) if none does."""
    closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    return next((index for index in range(start, len(lines)) if closing.match(lines[index])), len(lines))


# --- code: parsing and judging candidates -------------------------------------------------------------------


def _parse(source: str) -> ast.Module | SyntaxError:
    try:
        return ast.parse(source)
    except SyntaxError as error:
        return error


def _defines(tree: ast.Module, name: str) -> bool:
    """Whether the module itself (not a nested scope) defines the function; async counts, the gate judges it."""
    return any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name for node in tree.body)


def _def_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+{re.escape(name)}[ \t]*\(", re.MULTILINE)


def _mentions_top_level_def(source: str, name: str) -> bool:
    """For source that does not parse: does it look like it meant to define the function at module level?"""
    return any(not match["indent"] for match in _def_pattern(name).finditer(source))


def _is_header_only(tree: ast.Module) -> bool:
    """A block of only imports and call-free constants: the kind models split off above the real code."""
    return bool(tree.body) and all(
        isinstance(node, ast.Import | ast.ImportFrom) or _is_constant_assignment(node) or _is_string(node)
        for node in tree.body
    )


def _is_string(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _is_constant_assignment(node: ast.stmt) -> bool:
    return isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and not _calls(node)


def _calls(node: ast.AST) -> bool:
    """Whether evaluating the node calls anything; a lambda's body runs later, so it does not count."""
    if isinstance(node, ast.Call):
        return True
    children = [node.args] if isinstance(node, ast.Lambda) else ast.iter_child_nodes(node)
    return any(_calls(child) for child in children)


def _syntax_error(error: SyntaxError, source: str, cut_off: bool) -> ReplyError:
    """A repair request quoting the failing line, since the model cannot see our line numbering."""
    lines = source.split("\n")
    number = error.lineno or 0
    line = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    where = f"line {number} of the code" + (f", `{line}`" if line else "")
    if cut_off:
        return ReplyError(
            f"the Python code in your reply breaks off before its end ({where}: {error.msg}); {_WHOLE_FILE}, complete"
        )
    return ReplyError(f"the Python code in your reply does not parse ({where}: {error.msg}); fix it and {_WHOLE_FILE}")


@dataclass(frozen=True)
class _Code:
    """A piece of Python found in the reply, parsed (or the error), and whether its end is missing."""

    source: str
    tree: ast.Module | SyntaxError
    cut_off: bool = False


# --- code: finding the module -------------------------------------------------------------------------------


def extract_code(reply: str, required: str) -> str:
    """The Python module in a model's reply that defines the module-level function `required`
    (e.g. "train" or "get_configspace"), cleaned so that importing it runs no work."""
    text = _normalise(reply)
    if not text.strip():
        raise ReplyError(f"your reply is empty; {_WHOLE_FILE} that defines `{required}()`")
    blocks, prose = _split_fences(text)
    pieces = [_fenced_code(block, required) for block in blocks if block.language in _PYTHON_LANGUAGES]
    chosen = _last_defining(pieces, required)
    if chosen is None:  # prose is searched only then, so a fenced block's syntax error is never bypassed
        unfenced = [piece for segment in prose for piece in _unfenced_code(segment, required)]
        chosen = _last_defining(unfenced, required)
        pieces += unfenced
    if chosen is None:
        raise ReplyError(f"your reply has no Python code that defines `{required}()` at module level; {_WHOLE_FILE}")
    if isinstance(chosen.tree, SyntaxError):
        raise _syntax_error(chosen.tree, chosen.source, chosen.cut_off)
    source = _strip_work(chosen.source, chosen.tree)
    others = [piece for piece in pieces if piece is not chosen and isinstance(piece.tree, ast.Module)]
    return _tidy(_add_missing_imports(source, others))


def defines_function(reply: str, name: str) -> bool:
    """Whether any line of ``reply`` starts a module-level ``def name(``: the reply offers that function (a
    revision's optional train.py), whether or not the code around it parses."""
    return _mentions_top_level_def(_normalise(reply), name)


def _tidy(source: str) -> str:
    """No blank lines around the module, and exactly one newline at its end."""
    lines = source.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines).rstrip() + "\n"


def _last_defining(pieces: list[_Code], required: str) -> _Code | None:
    """The last piece meant to define the function: models put their corrected version last.

    A piece that does not parse still counts when it visibly defines the function at module level, so the
    model is told about its syntax error instead of being served its earlier, superseded attempt.
    """
    for piece in reversed(pieces):
        if isinstance(piece.tree, ast.Module):
            if _defines(piece.tree, required):
                return piece
        elif _mentions_top_level_def(piece.source, required):
            return piece
    return None


def _fenced_code(block: _Block, required: str) -> _Code:
    """A fenced block, parsed; a cut-off block keeps its longest complete prefix if that defines the function."""
    tree = _parse(block.text)
    if isinstance(tree, ast.Module) or block.closed:
        return _Code(block.text, tree)
    lines = block.text.split("\n")
    for end in range(len(lines) - 1, 0, -1):
        if lines[end][:1].isspace() or not lines[end].strip() or lines[end][:1] in ")]}#":
            continue  # only a new top-level statement can follow a complete prefix
        prefix = "\n".join(lines[:end])
        prefix_tree = _parse(prefix)
        if isinstance(prefix_tree, ast.Module) and _defines(prefix_tree, required):
            return _Code(prefix, prefix_tree)
    return _Code(block.text, tree, cut_off=True)


def _unfenced_code(segment: str, required: str) -> list[_Code]:
    """Code written without fences: around each `def required`, the largest line window that parses."""
    whole = _parse(textwrap.dedent(segment))
    if isinstance(whole, ast.Module) and _defines(whole, required):
        return [_Code(textwrap.dedent(segment), whole)]
    lines = segment.split("\n")
    starts = [segment.count("\n", 0, match.start()) for match in _def_pattern(required).finditer(segment)]
    return [_window_code(lines, start) for start in starts]


@dataclass(frozen=True)
class _Window:
    """Lines [start, end) of a segment that parse together, and where their first and last statements end
    and start: a neighbouring line can only combine with those (a decorator above, an `else:` below)."""

    start: int
    end: int
    head_end: int
    tail_start: int
    indent: int  # the window's own indentation, when the whole answer is indented like a markdown code block


def _window_code(lines: list[str], def_line: int) -> _Code:
    """Grow a window from the function's own lines up and down while it still parses, past no prose line."""
    core = _core_window(lines, def_line)
    if isinstance(core, _Code):
        return core
    window = core
    while (grown := _grow_up(lines, window)) is not None:
        window = grown
    while (grown := _grow_down(lines, window)) is not None:
        window = grown
    start, end = window.start, window.end
    while end > start and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # trailing comment lines are markdown headings of the prose that follows
    source = textwrap.dedent("\n".join(lines[start:end]))
    tree = _parse(source)
    if isinstance(tree, SyntaxError):  # neighbours combined in a way the whole does not allow: keep the function
        source = textwrap.dedent("\n".join(lines[core.start : core.end]))
        tree = _parse(source)
    return _Code(source, tree)


def _core_window(lines: list[str], def_line: int) -> _Window | _Code:
    """The function's own lines as a window, or, when they do not parse, the piece carrying the error."""
    end = _function_end(lines, def_line)
    core = _parse_lines(lines, def_line, end)
    if isinstance(core, SyntaxError):  # its text may run on at column 0 (a multi-line string, say)
        end = next((stop for stop in range(end + 1, len(lines) + 1) if _parses(lines, def_line, stop)), end)
        if not _parses(lines, def_line, end):
            source = textwrap.dedent("\n".join(lines[def_line:end]))
            return _Code(source, core, cut_off=end >= len(lines))
        core = _parse_lines(lines, def_line, end)
    assert isinstance(core, ast.Module)  # it parsed just above
    head_end = def_line + _end_line(core.body[0])
    tail_start = def_line + _first_line(core.body[-1]) - 1
    return _Window(def_line, end, head_end, tail_start, indent=len(lines[def_line]) - len(lines[def_line].lstrip()))


def _function_end(lines: list[str], def_line: int) -> int:
    """End (exclusive) of the lines that belong to the function textually: its indented body and brackets."""
    indent = len(lines[def_line]) - len(lines[def_line].lstrip())
    end = def_line + 1
    for index in range(def_line + 1, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        if len(line) - len(line.lstrip()) <= indent and line.lstrip()[0] not in ")]}":
            break
        end = index + 1
    return end


def _grow_up(lines: list[str], window: _Window) -> _Window | None:
    """The window extended by the nearest lines above that parse with its first statement; prose never does."""
    for bound in range(window.start - 1, -1, -1):
        tree = _parse_lines(lines, bound, window.head_end)
        if isinstance(tree, ast.Module):
            return replace(window, start=bound, head_end=bound + _end_line(tree.body[0]))
    return None


def _grow_down(lines: list[str], window: _Window) -> _Window | None:
    """The window extended by the nearest lines below that parse after it; prose never does.

    New lines are parsed alone (cheap, so a long function followed by long prose stays fast), unless they
    continue the last statement: an `else:`/`except` clause, or lines indented deeper than the window.
    """
    following = next((line for line in lines[window.end :] if line.strip()), None)
    if following is None:
        return None
    continues = len(following) - len(following.lstrip()) > window.indent or _CLAUSE.match(following.lstrip())
    first = window.tail_start if continues else window.end
    for bound in range(window.end + 1, len(lines) + 1):
        tree = _parse_lines(lines, first, bound)
        if isinstance(tree, ast.Module):
            tail = first + _first_line(tree.body[-1]) - 1 if tree.body else window.tail_start
            return replace(window, end=bound, tail_start=tail)
    return None


def _end_line(node: ast.stmt) -> int:
    return node.end_lineno or node.lineno


def _parse_lines(lines: list[str], start: int, end: int) -> ast.Module | SyntaxError:
    return _parse(textwrap.dedent("\n".join(lines[start:end])))


def _parses(lines: list[str], start: int, end: int) -> bool:
    return isinstance(_parse_lines(lines, start, end), ast.Module)


# --- code: dropping what would run at import ----------------------------------------------------------------

_BUILTIN_NAMES = frozenset(dir(builtins)) | {"__file__", "__name__"}


def _strip_work(source: str, tree: ast.Module) -> str:
    """Remove the top-level statements that would do work at import, keeping the rest's text and comments."""
    kept, dropped = _partition(tree)
    if not dropped:
        return source
    kept_lines = {number for node in kept for number in _line_span(node)}
    drop_lines = {number for node in dropped for number in _line_span(node)}
    if kept_lines & drop_lines:  # statements sharing a line (`import x; run()`): give up the formatting
        return "\n".join(ast.unparse(node) for node in kept) + "\n"
    lines = source.split("\n")
    for node in dropped:
        above = _first_line(node) - 1
        while above >= 1 and above not in kept_lines and lines[above - 1].lstrip().startswith("#"):
            drop_lines.add(above)  # the comment that introduces a dropped statement goes with it
            above -= 1
    return _join_kept([None if number in drop_lines else line for number, line in enumerate(lines, start=1)])


def _line_span(node: ast.stmt) -> range:
    """The 1-based line numbers a top-level statement occupies, decorators included."""
    return range(_first_line(node), (node.end_lineno or node.lineno) + 1)


def _join_kept(lines: list[str | None]) -> str:
    """Join the kept lines (None marks a removed one) so no gap left by removal exceeds two blank lines."""
    result: list[str] = []
    blanks: list[str] = []
    removed = False
    for line in lines:
        if line is None:
            removed = True
        elif not line.strip():
            blanks.append(line)
        else:
            if result:
                result.extend(blanks[-2:] if removed else blanks)
            result.append(line)
            blanks, removed = [], False
    return "\n".join(result) + "\n"


def _partition(tree: ast.Module) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """Split the top level into statements that are safe to run at import and those that do work."""
    kept: list[ast.stmt] = []
    dropped: list[ast.stmt] = []
    bound = set(_BUILTIN_NAMES)
    for position, node in enumerate(tree.body):
        docstring = position == 0 and _is_string(node)
        if docstring or (_is_inert(node) and _loads(node) <= bound):
            kept.append(node)
            bound |= _binds(node)
        else:
            dropped.append(node)
    return kept, dropped


def _is_inert(node: ast.stmt) -> bool:
    """Definitions, imports and call-free constants; `if`/`try` only around those (optional imports)."""
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return True
    if isinstance(node, ast.Pass):
        return True
    if isinstance(node, ast.If):
        return not _is_main_guard(node) and not _calls(node.test) and _all_inert([*node.body, *node.orelse])
    if isinstance(node, ast.Try):
        handlers = [statement for handler in node.handlers for statement in handler.body]
        return _all_inert([*node.body, *handlers, *node.orelse, *node.finalbody])
    return _is_constant_assignment(node)


def _all_inert(nodes: Iterable[ast.stmt]) -> bool:
    return all(_is_inert(node) for node in nodes)


def _is_main_guard(node: ast.If) -> bool:
    """Any test of `__name__` is a script entry point, however it is spelled (`"__main__" == __name__`, ...)."""
    names = {child.id for child in ast.walk(node.test) if isinstance(child, ast.Name)}
    return "__name__" in names


def _loads(node: ast.stmt) -> set[str]:
    """Names a constant assignment reads, so one that reads a dropped name (`X = data["X"]`) goes too.

    Only assignments are checked: definitions read their names when called, not when imported.
    """
    if not isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        return set()
    scoped: set[str] = set()  # comprehension variables and lambda parameters are not module names
    for child in ast.walk(node):
        if isinstance(child, ast.comprehension):
            scoped |= {name.id for name in ast.walk(child.target) if isinstance(name, ast.Name)}
        elif isinstance(child, ast.Lambda):
            scoped |= {arg.arg for arg in ast.walk(child.args) if isinstance(arg, ast.arg)}
    loaded = {child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)}
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        loaded.add(node.target.id)
    return loaded - scoped


def _binds(node: ast.stmt) -> set[str]:
    """Module-level names a kept statement defines (for `if`/`try`, those of the statements inside)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.If | ast.Try):
        inner = [*node.body, *node.orelse, *getattr(node, "finalbody", [])]
        inner += [statement for handler in getattr(node, "handlers", []) for statement in handler.body]
        return {name for statement in inner for name in _binds(statement)}
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store)}


def _first_line(node: ast.stmt) -> int:
    """A definition starts at its first decorator, which must go (or stay) with it."""
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


# --- code: imports the model put in another block -----------------------------------------------------------


def _add_missing_imports(source: str, others: list[_Code]) -> str:
    """Prepend the imports (and split-off constants) that other blocks hold and this module reads unbound.

    Models often put the imports in a block of their own, or give the imports once and then only the
    corrected function; without them the module fails at import with a NameError.
    """
    tree = ast.parse(source)
    missing = _unbound_names(tree)
    sections: list[str] = []
    for other in others:
        assert isinstance(other.tree, ast.Module)  # the caller passes parsed pieces only
        header_only = _is_header_only(other.tree)
        supplying = [
            node
            for node in other.tree.body
            if (isinstance(node, ast.Import | ast.ImportFrom) or (header_only and _is_constant_assignment(node)))
            and _binds(node) & missing
        ]
        for node in supplying:
            missing -= _binds(node)
        if supplying:
            sections.append(_statement_text(other.source, supplying))
    if not sections:
        return source
    lines = source.split("\n")
    at = _header_position(tree)
    before = [*lines[:at], ""] if at else []
    rest = lines[at:]
    while rest and not rest[0].strip():
        rest.pop(0)
    gap = ["", ""] if rest and rest[0].startswith(("def ", "async def ", "class ", "@")) else [""]
    return "\n".join([*before, "\n\n".join(sections), *gap, *rest])


def _statement_text(source: str, nodes: list[ast.stmt]) -> str:
    """The statements' own lines, with the blank lines and comments between neighbours kept as written."""
    lines = source.split("\n")
    picked: list[str] = []
    previous_end: int | None = None
    for node in nodes:
        start = _first_line(node)
        gap = lines[previous_end : start - 1] if previous_end is not None else []
        if all(not line.strip() or line.lstrip().startswith("#") for line in gap):
            picked.extend(gap)
        picked.extend(lines[start - 1 : node.end_lineno])
        previous_end = node.end_lineno
    return "\n".join(picked)


def _unbound_names(tree: ast.Module) -> set[str]:
    """Names the module reads somewhere but never binds at module level, nor anywhere as a local."""
    bound = set(_BUILTIN_NAMES)
    for node in tree.body:
        bound |= _binds(node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound |= _binds(node)
    read = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return read - bound


def _header_position(tree: ast.Module) -> int:
    """The line after the module docstring and `from __future__` imports, which must stay first."""
    at = 0
    for position, node in enumerate(tree.body):
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (future or (position == 0 and _is_string(node))):
            break
        at = node.end_lineno or at
    return at


# --- JSON ---------------------------------------------------------------------------------------------------

_JSON_ONLY = "answer with one ```json block holding a single JSON object"
_WORD = re.compile(r"[A-Za-z_]\w*")
_OPENING = re.compile(r"\{|\[(?=\s*[\[{])")
_PYTHON_LITERALS = {"True": "true", "False": "false", "None": "null"}  # same lengths: positions stay valid


def extract_json(reply: str) -> dict[str, Any]:
    """The JSON object in a model's reply."""
    text = _normalise(reply)
    if not text.strip():
        raise ReplyError(f"your reply is empty; {_JSON_ONLY}")
    blocks, prose = _split_fences(text)
    fenced = [block.text for block in blocks if block.language not in _NOT_JSON_LANGUAGES]
    not_objects: list[Any] = []
    failures: list[tuple[str, json.JSONDecodeError]] = []
    for candidate in _json_candidates(fenced, prose):
        try:
            value = _load_lenient(candidate)
        except json.JSONDecodeError as error:
            failures.append((candidate, error))
            continue
        if isinstance(value, dict):
            return value
        not_objects.append(value)
    raise _json_problem(not_objects, failures)


def _json_candidates(fenced: list[str], prose: list[str]) -> Iterator[str]:
    """Texts that may be the JSON value, fenced blocks first: a whole block, else each balanced `{...}`."""
    for block in fenced:
        stripped = block.strip()
        if stripped.startswith("["):
            yield stripped
        else:
            yield from _balanced_values(block)
    for segment in prose:
        yield from _balanced_values(segment)


def _balanced_values(text: str) -> Iterator[str]:
    """Each outermost `{...}` (or array of objects) in order; the inside of a failed one is not searched."""
    position = 0
    while (opening := _OPENING.search(text, position)) is not None:
        end = _balanced_end(text, opening.start()) or len(text)
        yield text[opening.start() : end]
        position = end


def _balanced_end(text: str, start: int) -> int | None:
    """Where the bracket opened at ``start`` closes, honouring strings and comments; None if it never does."""
    depth = 0
    for begin, end, kind in _json_tokens(text, start):
        if kind != "char":
            continue
        depth += {"{": 1, "[": 1, "}": -1, "]": -1}.get(text[begin], 0)
        if depth == 0:
            return end
    return None


def _json_tokens(text: str, start: int = 0) -> Iterator[tuple[int, int, str]]:
    """(start, end, kind) of each string, line comment, word and other character, from ``start`` on."""
    index = start
    while index < len(text):
        end, kind = _json_token_end(text, index)
        yield index, end, kind
        index = end


def _json_token_end(text: str, index: int) -> tuple[int, str]:
    """Where the token starting at ``index`` ends, and its kind; an unterminated string runs to the end."""
    if text[index] == '"':
        end = index + 1
        while end < len(text) and text[end] != '"':
            end += 2 if text[end] == "\\" else 1
        return min(end + 1, len(text)), "string"
    if text[index] == "#" or text.startswith("//", index):
        end = text.find("\n", index)
        return (len(text) if end < 0 else end), "comment"
    if (word := _WORD.match(text, index)) is not None:
        return word.end(), "word"
    return index + 1, "char"


def _load_lenient(candidate: str) -> Any:
    """json.loads, and on failure once more after the repairs that cannot change what valid JSON means."""
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        return json.loads(_repair(candidate), strict=False)


def _repair(text: str) -> str:
    """Blank out comments and trailing commas and spell Python literals as JSON, all outside strings.

    Every replacement keeps the length, so json's line and column still point into the model's own text.
    """
    out = list(text)
    commas: list[int] = []
    for begin, end, kind in _json_tokens(text):
        if kind == "comment":
            out[begin:end] = " " * (end - begin)
        elif kind == "word" and text[begin:end] in _PYTHON_LITERALS:
            out[begin:end] = _PYTHON_LITERALS[text[begin:end]]
        elif kind == "char" and text[begin] == ",":
            commas.append(begin)
    for comma in commas:
        after = comma + 1
        while after < len(out) and out[after].isspace():
            after += 1
        if after < len(out) and out[after] in "}]":
            out[comma] = " "
    return "".join(out)


def _json_problem(not_objects: list[Any], failures: list[tuple[str, json.JSONDecodeError]]) -> ReplyError:
    """The repair request for a reply without a usable object, about the most object-like thing it had."""
    if not_objects:
        kind = "an array" if isinstance(not_objects[0], list) else "a bare value"
        return ReplyError(f"the JSON in your reply is {kind}, not an object; {_JSON_ONLY} with the keys asked for")
    if not failures:
        return ReplyError(f"your reply has no JSON object; {_JSON_ONLY}")
    candidate, error = max(failures, key=lambda failure: len(failure[0]))
    if _balanced_end(candidate, 0) is None:
        return ReplyError(f"the JSON object in your reply is never closed (it seems cut off); {_JSON_ONLY}")
    line = candidate.split("\n")[error.lineno - 1].strip()
    return ReplyError(
        f"the JSON object in your reply does not parse: {error.msg} at line {error.lineno} column {error.colno} "
        f"of the object (`{line}`); {_JSON_ONLY}, with double-quoted keys and strings and no comments"
    )
