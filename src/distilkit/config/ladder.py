"""Config of ``distilkit ladder``: the students to distil from one teacher pass, and the rule that picks one."""

from __future__ import annotations

from dataclasses import dataclass

from distilkit.config.commands import DistillConfig
from distilkit.config.parsing import opt
from distilkit.errors import require

DEFAULT_STUDENTS = ["minilm-l6", "minilm-l6:3", "minilm-l6:1", "static"]


@dataclass
class LadderConfig(DistillConfig):
    """``distilkit ladder``: distil a set of students (a size ladder) from one cached teacher pass, score each
    on validation and test, time them side by side, draw the Pareto front and pick one by a score or latency rule.
    Every distill flag applies to every rung."""

    students: list[str] = opt(
        list(DEFAULT_STUDENTS),
        "the rungs: STUDENT (zoo name, folder, hub id), STUDENT:K (its first..last layers cut to K, evenly spaced), "
        "teacher:K (K of the teacher's layers), static or static:ENCODER, each optionally NAME=SPEC",
    )
    output_dir: str = opt("runs/ladder", "where the rungs (one student folder each), ladder.json and the figures go")
    overwrite: bool = opt(False, "retrain every rung, finished ones too (default: a finished rung is kept, an unfinished one retrained)")
    min_score: float | None = opt(
        None, "pick the fastest rung (then the smallest) whose validation score keeps this share of the teacher's, e.g. 0.95"
    )
    max_latency_ms: float | None = opt(
        None, "pick the best rung on validation whose batch-1 latency (ms, median, this machine) is within this budget"
    )
    latency_runs: int = opt(50, "timed batch-1 runs per model for the latency median")
    speed_batch_size: int = opt(32, "batch size of the throughput figure (texts/s)")
    speed_rounds: int = opt(2, "timing rounds over all models, interleaved; each model keeps its best round")

    def validate(self) -> None:
        require(
            self.student is None and self.student_keep_layers is None,
            "ladder takes its students from --students (e.g. --students minilm-l6 minilm-l6:3 static), not --student",
        )
        DistillConfig.validate(self)
        require(bool(self.students), "--students is empty: give at least one, e.g. --students minilm-l6 minilm-l6:3")
        require(self.min_score is None or 0 < self.min_score <= 2, f"min_score={self.min_score}: a share of the teacher, e.g. 0.95")
        require(self.max_latency_ms is None or self.max_latency_ms > 0, f"max_latency_ms={self.max_latency_ms} must be > 0")
        require(self.latency_runs >= 1 and self.speed_rounds >= 1, "latency_runs and speed_rounds must be >= 1")
        require(self.speed_batch_size >= 1, "speed_batch_size must be >= 1")
