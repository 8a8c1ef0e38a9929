"""Multi-process runs (``torchrun`` / ``accelerate launch``): who does the once-only work.

The launchers start one process per device and set ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``;
``transformers.Trainer`` turns that into DDP (gloo on the CPU, NCCL on GPUs) and wraps the
student only. What Trainer does not know about is ours: the teacher-output cache is computed by
the main process while the others wait (:func:`main_process_first`), the final model dir and run
file are written by the main process only, and replicas log warnings only.

These helpers read the launcher's environment, so they work before the process group exists
(e.g. while the CLI sets up logging) and in plain single-process runs (rank 0 of 1).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator


def rank() -> int:
    """Global rank of this process (0 without a launcher)."""
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    """Rank of this process on its node (0 without a launcher)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def world_size() -> int:
    """Number of processes in the run (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True for the one process that writes shared files (global rank 0)."""
    return rank() == 0


def barrier() -> None:
    """Wait for every process; a no-op when there is no process group."""
    import torch.distributed as dist  # here: the CLI calls this module's helpers before it needs torch

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


@contextlib.contextmanager
def main_process_first() -> Iterator[bool]:
    """Run the body on the main process first, then on the others (yields ``is_main_process()``).

    Use it for work whose result the others should read instead of redo, such as the teacher-
    output cache: rank 0 computes and stores it, then the replicas find it on disk. Needs a shared
    filesystem across nodes (the usual cluster set-up) and an initialised process group when
    ``world_size() > 1`` (building ``TrainingArguments`` initialises it).
    """
    main = is_main_process()
    if not main:
        barrier()
    yield main
    # Released only on success: if the main process fails, the launcher stops the waiting replicas.
    if main:
        barrier()


def quiet_replicas() -> None:
    """On ranks other than 0: warnings only, no progress bars (so a 2-process run logs once)."""
    if is_main_process():
        return
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("distilkit").setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_warning()
    except ImportError:  # pragma: no cover - datasets is a dependency
        pass
