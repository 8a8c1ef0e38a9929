"""Which teacher layer each student layer learns from. Layers are 0-based transformer blocks;
in HF ``hidden_states`` block i is entry i + 1 (entry 0 is the embedding output)."""

from __future__ import annotations

from distilkit.errors import DistilkitError, require

LAYER_MAPS = ("uniform", "skip", "last", "final", "explicit")


def layer_map(kind: str, num_student: int, num_teacher: int, explicit: list[int] | None = None) -> list[tuple[int, int]]:
    """(student layer, teacher layer) pairs.

    - ``uniform``: student i <- teacher (i + 1) * k - 1 with k = T / S (12 -> 6: 1, 3, 5, 7, 9, 11);
      when S does not divide T, round((i + 1) * T / S) - 1. The last layers always pair up.
    - ``skip``: PKD-Skip: the uniform pairs without the last student layer (the logits cover it).
    - ``last``: PKD-Last / last-k: student i <- teacher T - S + i (12 -> 6: 6, 7, ..., 11).
    - ``final``: only the last student layer <- the last teacher layer (DistilBERT).
    - ``explicit``: ``explicit[i]`` is the teacher layer of student layer i; -1 leaves it unmapped.
    """
    s, t = num_student, num_teacher
    require(s >= 1 and t >= 1, "layer maps need at least one layer on each side")
    if kind == "explicit":
        ids = list(explicit or [])
        require(
            len(ids) == s,
            f"layer_map_ids has {len(ids)} entries; the student has {s} layers: give one teacher layer "
            "(0-based, -1 to skip) per student layer",
        )
        bad = [i for i in ids if not -1 <= i < t]
        require(not bad, f"layer_map_ids {bad} are outside the teacher's {t} layers (0..{t - 1}, or -1 to skip)")
        pairs = [(i, j) for i, j in enumerate(ids) if j >= 0]
        require(bool(pairs), "layer_map_ids maps no layer: give at least one teacher layer id")
        return pairs
    require(
        s <= t,
        f"the student has {s} layers, the teacher {t}: layer maps need a student no deeper than its teacher (use layer_map: explicit)",
    )
    if kind == "uniform":
        return [(i, round((i + 1) * t / s) - 1) for i in range(s)]
    if kind == "skip":
        pairs = layer_map("uniform", s, t)[:-1]
        require(bool(pairs), "layer_map skip leaves nothing to map for a 1-layer student: use uniform or final")
        return pairs
    if kind == "last":
        return [(i, t - s + i) for i in range(s)]
    if kind == "final":
        return [(s - 1, t - 1)]
    raise DistilkitError(f"layer_map={kind!r}: use one of {', '.join(LAYER_MAPS)}")
