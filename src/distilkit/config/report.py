"""Config of ``distilkit report``."""

from __future__ import annotations

from dataclasses import dataclass

from distilkit.config.parsing import opt
from distilkit.errors import require


@dataclass
class ReportConfig:
    """``distilkit report RUN_DIR [RUN_DIR ...]``: an HTML + Markdown report of finished runs."""

    runs: list[str] | None = opt(None, "run dirs (also given as positional arguments)")
    output_dir: str | None = opt(None, "output dir for report.html, report.md and figures/ (default: <first run>/report)")
    top_k: int = opt(10, "how many teacher-student disagreements to list")
    bins: int = opt(10, "confidence bins of the reliability diagram and ECE")
    title: str = opt("distilkit report", "report title")

    def validate(self) -> None:
        require(bool(self.runs), "no run dir given: `distilkit report RUN_DIR [RUN_DIR ...]`")
        require(self.top_k >= 0, "top_k must be >= 0")
        require(2 <= self.bins <= 100, f"bins={self.bins} must be in 2..100")
