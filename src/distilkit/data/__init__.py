"""Data: sources (files, built-ins), labelled tasks and splits, tokenisation, raw-text corpora, augmentation."""

from distilkit.data.builtin import BUILTIN_DATASETS
from distilkit.data.sources import load_table, read_text_lines
from distilkit.data.task import IGNORE_INDEX, TaskData, prepare_task

__all__ = ["BUILTIN_DATASETS", "IGNORE_INDEX", "TaskData", "load_table", "prepare_task", "read_text_lines"]
