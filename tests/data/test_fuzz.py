"""Fuzzing with hypothesis: the data loader and the config parser either succeed or raise
:class:`DistilkitError` (one line for the user), never any other exception."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distilkit import config as C
from distilkit.config.parsing import parse_float
from distilkit.data.sources import load_table
from distilkit.data.task import prepare_task
from distilkit.errors import DistilkitError

FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# Text with the characters that break naive loaders: quotes, separators, newlines, BOMs, surrogate-free
# unicode from every plane, and NULs.
tricky_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from(list("\",;\t\n\r '\\\ufeff\u200b\u2028é漢😀\x00")), max_size=12),
    st.sampled_from(["", " ", "nan", "NaN", "null", "None", "1", "1.0", "-0", "true", "[]", "{}"]),
)
label_value = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["pos", "neg", " pos ", "", "0", "1", "1.0", "nan"]),
    st.text(max_size=5),
)
rows = st.lists(st.fixed_dictionaries({"text": tricky_text, "label": label_value}), min_size=0, max_size=25)


def _outcome(fn) -> object:
    try:
        return fn()
    except DistilkitError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip(), repr(str(exc))
        return exc


def _check_task(path: Path) -> None:
    frame = _outcome(lambda: load_table(str(path)))
    if isinstance(frame, pd.DataFrame):
        assert list(frame.columns)[:1] == ["text"] and (frame["text"].str.strip() != "").all()
        assert frame["label"].map(lambda v: pd.isna(v) or (isinstance(v, str) and v.strip() == v and v != "")).all()
    cfg = C.TaskDataConfig(data=str(path), validation_size=0.2, test_size=0.2, max_length=16)
    task = _outcome(lambda: prepare_task(cfg, with_unlabeled=True))
    if not isinstance(task, DistilkitError):
        assert task.num_labels >= 2
        assert len(task.splits["validation"]) > 0
        for split in task.splits.values():
            labels = set(split["label"])
            assert labels <= set(range(task.num_labels)) | {-100}


@FUZZ
@given(rows=rows)
def test_fuzz_csv_written_by_pandas(rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
        _check_task(path)


@FUZZ
@given(rows=rows)
def test_fuzz_jsonl(rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.jsonl"
        # allow_nan: Python writes NaN/Infinity, which some tools emit and pandas reads
        path.write_text("\n".join(json.dumps(r, allow_nan=True) for r in rows) + ("\n" if rows else ""), encoding="utf-8")
        _check_task(path)


@FUZZ
@given(content=st.one_of(st.text(max_size=200), st.binary(max_size=200)), suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet"]))
def test_fuzz_raw_file_contents(content, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"data{suffix}"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_bytes(content)
        _check_task(path)


# ---------------------------------------------------------------------------------------------- config parser

CONFIG_CLASSES = [C.FinetuneConfig, C.DistillConfig, C.EvaluateConfig, C.PredictConfig, C.DemoConfig]
any_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)),
    max_leaves=5,
)


@st.composite
def config_values(draw):
    cls = draw(st.sampled_from(CONFIG_CLASSES))
    names = [f.name for f in __import__("dataclasses").fields(cls)]
    keys = draw(st.lists(st.one_of(st.sampled_from(names), st.text(max_size=12), st.integers()), max_size=6))
    return cls, {k: draw(any_value) for k in keys}


def _kept(got, value) -> bool:
    """``got`` is ``value`` as the config reads it: the same, an int as a float, or a written number ("5e-5", "1_000") as a number."""
    if isinstance(value, list) and isinstance(got, list):
        return len(got) == len(value) and all(_kept(g, v) for g, v in zip(got, value))
    if isinstance(value, dict) and isinstance(got, dict):
        return got.keys() == {str(k) for k in value} and all(_kept(got[str(k)], v) for k, v in value.items())
    if isinstance(value, str) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return got == parse_float(value)
    return got == value or (isinstance(value, float) and math.isnan(value) is False and got == float(value))


@settings(FUZZ, max_examples=60)
@given(case=config_values())
def test_fuzz_build_config(case):
    cls, values = case
    cfg = _outcome(lambda: C.build_config(cls, values))
    if not isinstance(cfg, DistilkitError):
        assert isinstance(cfg, cls)
        for name, value in values.items():
            got = getattr(cfg, name)
            assert _kept(got, value), (name, value, got)


@settings(FUZZ, max_examples=40)
@given(text=st.text(max_size=120))
def test_fuzz_recipe_text(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recipe.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        values = _outcome(lambda: C.load_recipe(path))
        if isinstance(values, dict):
            _outcome(lambda: C.build_config(C.DistillConfig, values))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_floats_rejected(value):
    with pytest.raises(DistilkitError, match="finite"):
        C.build_config(C.DistillConfig, {"learning_rate": value})
