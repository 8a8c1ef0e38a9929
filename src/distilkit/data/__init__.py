"""Data: loading sources, building labelled tasks and tokenising them per model."""

from distilkit.data.sources import BUILTIN_DATASETS, load_table, read_text_lines
from distilkit.data.task import UNLABELED, TaskData, prepare_task

__all__ = ["BUILTIN_DATASETS", "UNLABELED", "TaskData", "load_table", "prepare_task", "read_text_lines"]
