"""``distilkit report``: an HTML + Markdown report (plots) of finished runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distilkit.config import ReportConfig
from distilkit.report.document import build_report
from distilkit.runs.folder import inputs_of, refuse_inputs


def report(cfg: ReportConfig, eval_results: dict[str, str] | None = None) -> dict[str, Any]:
    """Write ``report.html``, ``report.md`` and ``figures/*.png`` for ``cfg.runs``; returns their paths.

    ``eval_results`` maps a run dir to an ``eval_results.json`` written outside it (as ``demo`` does).
    """
    cfg.validate()
    if cfg.output_dir:
        refuse_inputs(Path(cfg.output_dir), inputs_of(cfg))
    return build_report(cfg, eval_results)
