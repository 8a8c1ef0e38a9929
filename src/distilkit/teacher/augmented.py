"""The augmented transfer set of a teacher: originals plus unlabelled copies made with the teacher's
input embeddings (and optionally a masked LM), built once and cached on disk under a key of the
texts, the settings and the models' fingerprints."""

from __future__ import annotations

import logging
from pathlib import Path

import datasets

from distilkit.config import AugmentConfig, DistillConfig
from distilkit.data.augment import AugmentSettings
from distilkit.data.transfer import augment_key, build_augmenter, write_augmented
from distilkit.modeling.loading import load_masked_lm
from distilkit.modeling.zoo import resolve_model
from distilkit.runtime.host import cache_root
from distilkit.teacher.fingerprint import model_fingerprint
from distilkit.teacher.handle import TeacherHandle

log = logging.getLogger(__name__)


def augmented_transfer_set(split: datasets.Dataset, teacher: TeacherHandle, cfg: DistillConfig | AugmentConfig) -> datasets.Dataset:
    """``split`` enlarged by ``cfg.augment_copies`` copies a row, read from the cache or made once and stored
    (Arrow on disk, memory-mapped). The teacher's weights are loaded only on a cache miss."""
    settings = AugmentSettings.from_options(cfg, cfg.seed)
    mlm_name = cfg.augment_mlm_model if "mlm" in settings.methods else None  # the config requires it with mlm
    mlm_fp = model_fingerprint(resolve_model(mlm_name, allow_pickle=cfg.allow_pickle)) if mlm_name else None
    key = augment_key(split, settings, teacher.fingerprint, mlm_fp, cfg.max_length)
    root = Path(cfg.cache_dir) / "augmented" if cfg.cache_dir else cache_root() / "augmented"
    path = root / key / "transfer.arrow"
    if path.is_file():
        log.info("augmented transfer set read from cache %s", path)
        return datasets.Dataset.from_file(str(path))
    mlm = load_masked_lm(mlm_name, cfg.allow_pickle, cfg.trust_remote_code) if mlm_name else None
    augmenter = build_augmenter(settings, teacher.model.get_input_embeddings().weight, teacher.tokenizer, mlm, cfg.max_length)
    return write_augmented(split, augmenter, path)
