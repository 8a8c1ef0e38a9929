"""``evaluate`` and ``predict`` for notebooks: models and data as paths or objects."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from distilkit.api.configs import check_keywords, config_keywords, make_config, no_mixing
from distilkit.api.inputs import Staging, as_dataset, is_model
from distilkit.commands import evaluate as evaluate_command
from distilkit.commands import predict as predict_command
from distilkit.config import EvaluateConfig, PredictConfig
from distilkit.errors import DistilkitError, require


def evaluate(
    config: EvaluateConfig | None = None,
    /,
    *,
    student: Any = None,
    teacher: Any = None,
    test_dataset: Any = None,
    student_tokenizer: Any = None,
    teacher_tokenizer: Any = None,
    recipe: str | Path | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """Score ``student`` against ``teacher`` (default: the teacher recorded in the student's run file) and
    return the results (``models.student.accuracy``, ``agreement``, ``student_vs_teacher`` ...).

    Models: a path, zoo name or in-memory model (with ``*_tokenizer=``). ``test_dataset`` (any form
    :func:`distilkit.distill` takes) is scored whole; without it ``data=`` is split as in the command
    line (the test split of the same seed as training). ``settings``: any ``EvaluateConfig`` field."""
    if config is not None:
        objects = {"student": student, "teacher": teacher, "test_dataset": test_dataset, "recipe": recipe}
        no_mixing("evaluate", config, {k: v for k, v in objects.items() if v is not None} | settings)
        return evaluate_command.evaluate(config)
    own = ["student", "teacher", "test_dataset", "student_tokenizer", "teacher_tokenizer", "recipe"]
    check_keywords("evaluate", settings, [*own, *config_keywords(EvaluateConfig)])
    with Staging() as staging:
        values = dict(settings)
        if test_dataset is not None:
            require(settings.get("data") is None, "evaluate(): give test_dataset= or data=, not both")
            path = staging.data(test_dataset, "test_dataset")
            values.update(data=path, validation_data=path, test_data=path, split="test")
        elif values.get("data") is not None:
            values["data"] = staging.data(values["data"], "data")
        for role, value, tokenizer in (("student", student, student_tokenizer), ("teacher", teacher, teacher_tokenizer)):
            path = staging.model(value, role, tokenizer)
            if path is not None:
                values[role] = path
        results = evaluate_command.evaluate(make_config("evaluate", EvaluateConfig, values, own, recipe))
        if staging.root is not None and str(results.get("output", "")).startswith(str(staging.root)):
            results["output"] = results["card"] = None  # written into a temporary folder, gone with it
        return results


def _texts(value: Any) -> tuple[list[str], list[str] | None]:
    """Texts (and second texts) from a list, a single string, a Dataset / DataFrame / dict with ``text`` [``text_pair``]."""
    if isinstance(value, str):
        return [value], None
    if isinstance(value, (list, tuple)) and all(isinstance(t, str) for t in value):
        return list(value), None
    ds = as_dataset(value, "texts")
    require(not isinstance(ds.column_names, dict), "texts: give one split of a DatasetDict (e.g. ds['test'])")
    require("text" in ds.column_names, f"texts: no column 'text'; columns are {ds.column_names}")
    return list(ds["text"]), (list(ds["text_pair"]) if "text_pair" in ds.column_names else None)


def predict(
    model: Any,
    texts: Any,
    *,
    tokenizer: Any = None,
    pairs: Sequence[str] | None = None,
    max_length: int = 128,
    batch_size: int = 32,
    text_column: str = "text",
) -> list[dict[str, Any]]:
    """One record per text: the text, then ``label``/``score``/``probs`` (single-label), ``labels``/``probs``
    (multi-label) or ``label``/``value`` (regression).

    ``model``: a path (model folder or ONNX export), zoo name, or an in-memory model with ``tokenizer``;
    ``texts``: a string, a list of strings, a Dataset / DataFrame / dict with a ``text`` column, or a
    file (one text a line, or a table with ``text_column``)."""
    from distilkit.inference import Predictor

    if isinstance(texts, os.PathLike) or (isinstance(texts, str) and Path(texts).is_file()):
        require(
            isinstance(model, (str, os.PathLike)),
            "predict(): a file of texts needs a saved model (a path); pass a list for an in-memory one",
        )
        cfg = PredictConfig(
            model=os.fspath(model), input=os.fspath(texts), text_column=text_column, max_length=max_length, batch_size=batch_size
        )
        return list(predict_command.predict(cfg))
    items, found_pairs = _texts(texts)
    pairs = list(pairs) if pairs is not None else found_pairs
    require(pairs is None or len(pairs) == len(items), f"predict(): {len(items)} texts but {len(pairs or [])} pairs: one pair per text")
    if isinstance(model, (str, os.PathLike)):
        require(tokenizer is None, "predict(): tokenizer= is for an in-memory model; a saved one has its own")
        predictor = Predictor.from_dir(os.fspath(model), max_length, batch_size)
    else:
        if isinstance(model, (tuple, list)) and len(model) == 2:
            model, tokenizer = model
        require(is_model(model), f"predict(): got {type(model).__name__}; give a model folder or a transformers model")
        if tokenizer is None:
            raise DistilkitError("predict(): an in-memory model needs tokenizer=... (or model=(model, tokenizer))")
        predictor = Predictor(model.eval(), tokenizer, max_length, batch_size)
    records = predictor.predict(items, pairs).records()
    return [{"text": t, **({"text_pair": p} if pairs else {}), **r} for t, p, r in zip(items, pairs or [None] * len(items), records)]
