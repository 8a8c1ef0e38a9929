"""Layer maps: which teacher layer each student layer learns from."""

from __future__ import annotations

import pytest

from distilkit.distillation.layer_maps import layer_map
from distilkit.errors import DistilkitError


def test_uniform_is_every_kth_layer_ending_on_the_last() -> None:
    assert layer_map("uniform", 6, 12) == [(0, 1), (1, 3), (2, 5), (3, 7), (4, 9), (5, 11)]
    assert layer_map("uniform", 3, 12) == [(0, 3), (1, 7), (2, 11)]
    assert layer_map("uniform", 4, 4) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert layer_map("uniform", 5, 12)[-1] == (4, 11)


def test_skip_drops_the_last_student_layer() -> None:
    assert layer_map("skip", 6, 12) == [(0, 1), (1, 3), (2, 5), (3, 7), (4, 9)]
    with pytest.raises(DistilkitError, match="1-layer"):
        layer_map("skip", 1, 12)


def test_last_k_and_final() -> None:
    assert layer_map("last", 6, 12) == [(i, 6 + i) for i in range(6)]
    assert layer_map("final", 3, 12) == [(2, 11)]


def test_explicit_map_with_unmapped_layers() -> None:
    assert layer_map("explicit", 3, 12, [2, -1, 11]) == [(0, 2), (2, 11)]
    with pytest.raises(DistilkitError, match="one teacher layer"):
        layer_map("explicit", 3, 12, [2, 11])
    with pytest.raises(DistilkitError, match="outside"):
        layer_map("explicit", 2, 12, [2, 12])


def test_bad_maps_fail_with_one_line() -> None:
    with pytest.raises(DistilkitError, match="use one of"):
        layer_map("diagonal", 3, 12)
    with pytest.raises(DistilkitError, match="no deeper"):
        layer_map("uniform", 13, 12)
