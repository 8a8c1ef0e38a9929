"""The common start of the two step-counted commands over a streamed corpus, ``pretrain`` and ``general-distill``."""

from __future__ import annotations

from transformers import TrainingArguments, set_seed

from distilkit.config import GeneralDistillConfig, PretrainConfig
from distilkit.data.corpus import check_sources
from distilkit.runs.folder import OutputDir, inputs_of
from distilkit.runtime.host import set_threads
from distilkit.training.arguments import step_arguments


def begin_steps_run(cfg: PretrainConfig | GeneralDistillConfig) -> tuple[OutputDir, TrainingArguments]:
    """Check the config, threads, corpus and output dir (nothing is cleared yet), and build the
    TrainingArguments, which under torchrun / accelerate launch also sets up the process group.
    Returns the output dir and the arguments."""
    cfg.validate()
    set_threads(cfg.threads)
    set_seed(cfg.seed)  # new heads and projections are drawn from the global RNG
    check_sources(cfg.corpus)
    out = OutputDir(cfg.output_dir, cfg.overwrite, cfg.resume, protected=inputs_of(cfg))  # resume skips a checkpoint cut off mid-save
    args = step_arguments(cfg, out.path, cfg.seed, label_names=[])
    _ = args.device
    return out, args
