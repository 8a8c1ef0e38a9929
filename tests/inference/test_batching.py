"""Length-bucketed batching: the plan (longest first, per-batch padding) and the padding itself."""

from __future__ import annotations

import numpy as np
import pytest

from distilkit.inference.batching import pad_batch, plan_batches

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only spin


def test_plan_batches_sorts_longest_first_and_pads_per_batch():
    plan = plan_batches([3, 9, 5, 2, 7], batch_size=2)
    assert [idx.tolist() for idx, _ in plan] == [[1, 4], [2, 0], [3]]
    assert [length for _, length in plan] == [9, 5, 2]
    fixed = plan_batches([3, 9, 5], batch_size=2, sort_by_length=False, pad_to=16)
    assert [idx.tolist() for idx, _ in fixed] == [[0, 1], [2]] and [n for _, n in fixed] == [16, 16]


def test_pad_batch_right_and_left():
    enc = {"input_ids": [[5, 6, 7], [8]], "attention_mask": [[1, 1, 1], [1]]}
    right = pad_batch(enc, np.array([1, 0]), ["input_ids", "attention_mask"], {"input_ids": 0}, 4)
    assert right["input_ids"].tolist() == [[8, 0, 0, 0], [5, 6, 7, 0]]
    assert right["attention_mask"].tolist() == [[1, 0, 0, 0], [1, 1, 1, 0]]
    left = pad_batch(enc, np.array([1]), ["input_ids"], {"input_ids": 9}, 3, left=True)
    assert left["input_ids"].tolist() == [[9, 9, 8]] and left["input_ids"].dtype == np.int64
