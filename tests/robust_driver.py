"""Run the ``distilkit`` CLI with test probes switched on by environment variables.

Used by the subprocess tests (kill -9 / resume, torchrun). The probes only observe or pause a run;
they never change what it computes:

- ``DK_STEP_LOG=PATH``: append ``<global step> <hash of the batch's input_ids>`` per training step
  to ``PATH.rank<R>`` (the data order).
- ``DK_HANG_AT_STEP=N`` + ``DK_HANG_MARKER=PATH``: when training step N is about to run, write
  ``PATH`` and sleep, so a test can ``kill -9`` the process at a known point (after checkpoint N).
- ``DK_TEACHER_CALLS=PATH``: count teacher passes over a split (cache misses; each rank labels its share) in ``PATH.rank<R>``.
- ``DK_KEEP_CHECKPOINTS=1``: keep ``checkpoints/`` after the final save (to compare the last one).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any


def _rank() -> str:
    return os.environ.get("RANK", "0")


def install_probes(env: dict[str, str] | None = None, patch: Any = setattr) -> None:
    """Switch on the probes named in ``env`` (default: os.environ). ``patch(obj, name, value)`` sets
    each hook: pass ``monkeypatch.setattr`` in-process so the hooks are undone after the test."""
    env = dict(os.environ if env is None else env)
    import transformers

    import distilkit.runs.files as training
    import distilkit.teacher.handle as cache

    step_log, hang, marker = env.get("DK_STEP_LOG"), env.get("DK_HANG_AT_STEP"), env.get("DK_HANG_MARKER")
    original_step = transformers.Trainer.training_step

    def training_step(self: Any, model: Any, inputs: dict, *args: Any, **kwargs: Any) -> Any:
        step = self.state.global_step
        if hang and marker and step == int(hang):
            Path(marker).write_text(str(os.getpid()))
            time.sleep(600)
        if step_log:
            digest = hashlib.sha256(inputs["input_ids"].cpu().numpy().tobytes()).hexdigest()[:16]
            with open(f"{step_log}.rank{_rank()}", "a") as f:
                f.write(f"{step} {digest}\n")
        return original_step(self, model, inputs, *args, **kwargs)

    patch(transformers.Trainer, "training_step", training_step)

    calls = env.get("DK_TEACHER_CALLS")
    if calls:
        original_pass = cache.teacher_pass

        def counted(*args: Any, **kwargs: Any) -> Any:
            path = Path(f"{calls}.rank{_rank()}")
            path.write_text(str(int(path.read_text()) + 1 if path.exists() else 1))
            return original_pass(*args, **kwargs)

        patch(cache, "teacher_pass", counted)

    if env.get("DK_KEEP_CHECKPOINTS"):
        original_save = training.save_final
        patch(training, "save_final", lambda *a, **k: original_save(*a, **{**k, "keep_checkpoints": True}))


if __name__ == "__main__":
    install_probes()
    from distilkit.cli import main

    sys.exit(main(sys.argv[1:]))
