"""``distill`` and ``finetune`` for notebooks: models and data as paths or objects, settings as keywords.

Both also take the config object of the command line's API (``distill(DistillConfig(...))``), and
both return a :class:`~distilkit.api.result.TrainResult` (a :class:`~distilkit.commands.result.RunResult`
that also holds the shipped model and tokenizer).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from distilkit.api.configs import make_config, no_mixing
from distilkit.api.inputs import Staging
from distilkit.api.result import TrainResult
from distilkit.commands import distill as distill_command
from distilkit.commands import finetune as finetune_command
from distilkit.config import DistillConfig, FinetuneConfig
from distilkit.errors import DistilkitError

DATA_KEYWORDS = ("train_dataset", "eval_dataset", "test_dataset")


def data_settings(
    staging: Staging, values: dict[str, Any], train: Any, eval_: Any, test: Any, unlabeled: Any = None, unlabelled_key: str = ""
) -> dict[str, Any]:
    """``values`` with the data arguments staged: ``train_dataset`` -> ``data``, ``eval_dataset`` ->
    ``validation_data``, ``test_dataset`` -> ``test_data`` (a config's own ``data=`` etc. may be objects
    too)."""
    out = dict(values)
    for given, key in ((train, "data"), (eval_, "validation_data"), (test, "test_data"), (unlabeled, unlabelled_key)):
        if given is None:
            continue
        if out.get(key) is not None:
            raise DistilkitError(f"{key} given twice (as {key}= and as its dataset keyword): give one")
        out[key] = given
    for key, role in (
        ("data", "train_dataset"),
        ("validation_data", "eval_dataset"),
        ("test_data", "test_dataset"),
        (unlabelled_key, "unlabeled"),
    ):
        if key and out.get(key) is not None:
            out[key] = staging.data(out[key], role)
    return out


def split_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """With a validation set given and no test set, nothing is held out for test (unless a recipe or ``test_size=`` says so)."""
    return {"test_size": 0.0} if values.get("validation_data") and not values.get("test_data") else {}


def distill(
    config: DistillConfig | None = None,
    /,
    *,
    teacher: Any = None,
    student: Any = None,
    train_dataset: Any = None,
    eval_dataset: Any = None,
    test_dataset: Any = None,
    unlabeled_dataset: Any = None,
    teacher_tokenizer: Any = None,
    student_tokenizer: Any = None,
    callbacks: Sequence[Any] = (),
    recipe: str | Path | None = None,
    **settings: Any,
) -> TrainResult:
    """Distil ``teacher`` into ``student`` and return the shipped model.

    ``teacher`` / ``student``: a path, zoo name, hub id or an in-memory ``transformers`` model (with
    ``*_tokenizer=``, or as ``(model, tokenizer)``, or a pipeline); no ``student``: a smaller copy cut
    from the teacher (``student_layers``). ``train_dataset`` / ``eval_dataset`` / ``test_dataset`` /
    ``unlabeled_dataset``: a path or built-in name, a ``datasets.Dataset``, a pandas DataFrame, a dict of
    columns, ``(texts, labels)`` or a list of texts (unlabelled). ``settings``: any ``DistillConfig``
    field (``temperature``, ``alpha``, ``epochs``, ``output_dir``, ``no_baseline=True`` ...), over a
    YAML ``recipe``. ``callbacks``: ``transformers.TrainerCallback`` objects for the Trainer (of the fair
    twin too). By default the fair no-KD twin is trained as well and the better of the two on
    validation ships (``result.shipped``)."""
    if config is not None:
        no_mixing("distill", config, {k: v for k, v in locals().items() if k in _DISTILL_OBJECTS and v is not None} | settings)
        return _as_result(distill_command.distill(config, callbacks))
    if settings.pop("no_baseline", False):
        settings["baseline"] = False
    with Staging() as staging:
        values = data_settings(staging, settings, train_dataset, eval_dataset, test_dataset, unlabeled_dataset, "unlabeled_data")
        for role, value, tokenizer in (("teacher", teacher, teacher_tokenizer), ("student", student, student_tokenizer)):
            path = staging.model(value, role, tokenizer)
            if path is not None:
                values[role] = path
        cfg = make_config(
            "distill",
            DistillConfig,
            values,
            list(_DISTILL_OBJECTS) + ["recipe", "callbacks", "no_baseline"],
            recipe,
            split_defaults(values),
        )
        return _as_result(distill_command.distill(cfg, callbacks))


_DISTILL_OBJECTS = (
    "teacher",
    "student",
    "train_dataset",
    "eval_dataset",
    "test_dataset",
    "unlabeled_dataset",
    "teacher_tokenizer",
    "student_tokenizer",
    "recipe",
)


def finetune(
    config: FinetuneConfig | None = None,
    /,
    *,
    model: Any = None,
    train_dataset: Any = None,
    eval_dataset: Any = None,
    test_dataset: Any = None,
    tokenizer: Any = None,
    callbacks: Sequence[Any] = (),
    recipe: str | Path | None = None,
    **settings: Any,
) -> TrainResult:
    """Fine-tune ``model`` (a path, zoo name, hub id or in-memory model with ``tokenizer``) for the task of
    ``train_dataset`` (any form :func:`distill` takes) and return the fine-tuned model; ``settings``: any
    ``FinetuneConfig`` field over a YAML ``recipe``; ``callbacks`` join the Trainer's."""
    objects = {"model": model, "train_dataset": train_dataset, "eval_dataset": eval_dataset, "test_dataset": test_dataset}
    if config is not None:
        no_mixing(
            "finetune", config, {k: v for k, v in {**objects, "tokenizer": tokenizer, "recipe": recipe}.items() if v is not None} | settings
        )
        return _as_result(finetune_command.finetune(config, callbacks))
    with Staging() as staging:
        values = data_settings(staging, settings, train_dataset, eval_dataset, test_dataset)
        path = staging.model(model, "model", tokenizer)
        if path is not None:
            values["model"] = path
        own = [*objects, "tokenizer", "callbacks", "recipe"]
        cfg = make_config("finetune", FinetuneConfig, values, own, recipe, split_defaults(values))
        return _as_result(finetune_command.finetune(cfg, callbacks))


def _as_result(run: Any) -> TrainResult:
    return TrainResult(run.output_dir, run.metrics, run.facts)
