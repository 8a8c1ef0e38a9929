"""What a training command returns (the CLI prints it; the API hands it back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunResult:
    """A finished training run: where its model is, the validation metrics it ended with, and the
    run facts (the content of its ``distilkit_run.json``: config, versions, fingerprints, checks)."""

    output_dir: str
    metrics: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
