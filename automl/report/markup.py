"""The report's small HTML pieces, built so that any text not already markup is escaped.

Configurations, messages and code on the page come from generated code and language models, so
nothing is interpolated raw: a piece of markup is an :class:`Html`, and everything else goes
through :func:`esc` on its way into one.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any


class Html(str):
    """Markup built by the report, inserted as it is; any other text is escaped."""


def esc(value: Any) -> str:
    return value if isinstance(value, Html) else html.escape(str(value), quote=True)


class Fixed(float):
    """A score shown with four decimals, so a column of them lines up."""


def fmt(value: Any, digits: int = 5) -> str:
    """Numbers with ``digits`` significant digits (scores with four decimals); everything else as text."""
    if isinstance(value, Fixed):
        return f"{value:.4f}"
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else str(value)
    return str(value)


def _cell(value: Any, align: bool = True) -> str:
    numeric = align and isinstance(value, int | float) and not isinstance(value, bool)
    text = esc(value) if isinstance(value, Html) else esc(fmt(value))
    return f'<td class="num">{text}</td>' if numeric else f"<td>{text}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Html:
    head = "".join(f"<th>{esc(header)}</th>" for header in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return Html(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def pairs(rows: Iterable[tuple[str, Any]]) -> Html:
    """A two-column table of names and values."""
    body = "".join(f"<tr><th>{esc(name)}</th>{_cell(value, align=False)}</tr>" for name, value in rows)
    return Html(f"<table><tbody>{body}</tbody></table>")


def note(text: str) -> Html:
    return Html(f'<p class="note">{esc(text)}</p>')


def warning(text: str) -> Html:
    """A paragraph the reader should not miss: something in the run went other than planned."""
    return Html(f'<p class="warn">{esc(text)}</p>')


def para(text: str) -> Html:
    return Html(f"<p>{esc(text)}</p>")


def subheading(text: str) -> Html:
    return Html(f"<h3>{esc(text)}</h3>")


def details(summary: str, body: str) -> Html:
    """A folded block, for long lists and texts that would bury the rest of a section."""
    return Html(f"<details><summary>{esc(summary)}</summary>{body}</details>")


def missing(what: str) -> Html:
    """What a section shows when the run stopped before writing the file it is built from."""
    return note(f"No {what}: the run stopped before writing it.")


def code(source: str) -> Html:
    """Python source, highlighted with inline styles, so the page needs no stylesheet for it."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    formatter = HtmlFormatter(noclasses=True, linenos="inline", style="default")
    return Html(f'<div class="code">{highlight(source, PythonLexer(), formatter)}</div>')


def config_text(config: dict[str, Any]) -> str:
    """A configuration on one line, algorithm first."""
    items = sorted(config.items(), key=lambda item: (item[0] != "algorithm", item[0]))
    return ", ".join(f"{name}={fmt(value, 4)}" for name, value in items)


def first_line(text: Any) -> str:
    """The line of an error or message that fits in a table cell."""
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""
