"""The report's figures on disk and on the page: each is saved under ``plots/`` and embedded as a data URI.

The page embeds its images so it opens offline as one file; the PNG files are kept as well, for
slides and papers, and are written atomically like every run file.
"""

from __future__ import annotations

import base64
from pathlib import Path

from matplotlib.figure import Figure

from automl._io import write_bytes
from automl.report import plots
from automl.report.markup import Html, esc


class Figures:
    """Saves each figure under ``plots/`` and returns it as an embedded image."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []

    def embed(self, name: str, figure: Figure, caption: str) -> Html:
        png = plots.png_bytes(figure)
        path = self.folder / f"{name}.png"
        write_bytes(path, png)
        self.written.append(path)
        data = base64.b64encode(png).decode("ascii")
        return Html(
            f'<figure><img src="data:image/png;base64,{data}" alt="{esc(caption)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )

    def remove_stale(self) -> None:
        """Delete plots an earlier report wrote that this one did not (e.g. a section that now has no data)."""
        for path in self.folder.glob("*.png"):
            if path not in self.written:
                path.unlink(missing_ok=True)
