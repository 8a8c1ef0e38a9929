"""finetune: the saved model's validation logits land in the teacher-output cache."""

from __future__ import annotations

import numpy as np
from tests.conftest import finetune_tiny

from distilkit import FinetuneConfig
from distilkit.config import ModelAccessConfig
from distilkit.data import prepare_task
from distilkit.teacher.handle import TeacherHandle


def test_distilling_from_a_fresh_finetune_reads_its_validation_logits_and_never_runs_it(tiny_encoder, sentiment_csv, tmp_path):
    out = finetune_tiny(tiny_encoder, sentiment_csv, tmp_path / "teacher")
    validation = prepare_task(FinetuneConfig(model=str(tiny_encoder), data=str(sentiment_csv), max_length=32)).splits["validation"]
    kept = TeacherHandle(str(out), ModelAccessConfig()).logits(validation, 32, None)  # the default cache, as distill's
    fresh = TeacherHandle(str(out), ModelAccessConfig())
    computed = fresh.logits(validation, 32, str(tmp_path / "elsewhere"))  # a real torch pass over the same rows
    assert kept.hit and not computed.hit and fresh.loads == 1
    assert kept.meta["texts_per_s"] is None and kept.meta["backend"] == "torch"  # the write is not the teacher's speed
    assert kept.logits.shape == (len(validation), 2)
    np.testing.assert_allclose(kept.logits, computed.logits, atol=1e-4)  # the saved model's own outputs, row for row
    assert (np.asarray(kept.logits).argmax(1) == np.asarray(computed.logits).argmax(1)).all()
