"""``distilkit export``: HF copy, checked ONNX graph, ORT-optimised and int8 variants, and a manifest."""

from distilkit.export.run import ExportConfig, export, format_export_table

__all__ = ["ExportConfig", "export", "format_export_table"]
