"""HTML + Markdown reports of finished runs (``distilkit report``)."""

from distilkit.report.build import ReportConfig, build_report

__all__ = ["ReportConfig", "build_report"]
