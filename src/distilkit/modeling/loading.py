"""Load classifiers and tokenizers from zoo names, local dirs or hub ids, with one-line errors."""

from __future__ import annotations

from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from distilkit.errors import DistilkitError
from distilkit.modeling import static_model  # noqa: F401 (registers the static student with the Auto classes)
from distilkit.modeling.zoo import hub_error, resolve_model


def label_maps(label_names: list[str], problem_type: str | None = None) -> dict[str, Any]:
    """``num_labels``/``id2label``/``label2id`` (and ``problem_type`` when given) kwargs for a config with these label names."""
    maps: dict[str, Any] = {
        "num_labels": len(label_names),
        "id2label": dict(enumerate(label_names)),
        "label2id": {name: i for i, name in enumerate(label_names)},
    }
    if problem_type:
        maps["problem_type"] = problem_type
    return maps


def model_label_names(model_or_config: Any) -> list[str]:
    """Label names of a classifier, in id order."""
    config = getattr(model_or_config, "config", model_or_config)
    return [str(config.id2label[i]) for i in range(config.num_labels)]


def is_classifier_checkpoint(config: Any) -> bool:
    """True when a checkpoint was saved as a sequence classifier (so it carries a trained head)."""
    return any(a.endswith("ForSequenceClassification") for a in (getattr(config, "architectures", None) or []))


def load_config(name: str, allow_pickle: bool = False, trust_remote_code: bool = False) -> Any:
    path = resolve_model(name, allow_pickle=allow_pickle)
    try:
        return AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise hub_error(name, exc) from None


def load_tokenizer(name: str, trust_remote_code: bool = False) -> PreTrainedTokenizerBase:
    path = resolve_model(name, allow_pickle=True)
    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise hub_error(name, exc) from None


def load_classifier(
    name: str,
    label_names: list[str] | None = None,
    allow_pickle: bool = False,
    trust_remote_code: bool = False,
    eager_attention: bool = False,
    ignore_mismatched_sizes: bool = False,
    problem_type: str | None = None,
) -> PreTrainedModel:
    """A sequence classifier from ``name``; with ``label_names`` its head is (re)labelled for the task
    (and ``problem_type`` set: single-/multi-label classification or regression).

    ``eager_attention`` loads with ``attn_implementation="eager"`` so attention maps are returned.
    """
    path = resolve_model(name, allow_pickle=allow_pickle)
    kwargs: dict[str, Any] = {
        "trust_remote_code": trust_remote_code,
        "use_safetensors": None if allow_pickle else True,
        "dtype": torch.float32,
    }
    if label_names is not None:
        kwargs.update(label_maps(label_names, problem_type))
        kwargs["ignore_mismatched_sizes"] = ignore_mismatched_sizes
    if eager_attention:
        kwargs["attn_implementation"] = "eager"
    try:
        return AutoModelForSequenceClassification.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        msg = str(exc)
        if "safetensors" in msg and not allow_pickle:
            raise DistilkitError(
                f"model {name!r} has no safetensors weights: convert them, or pass --allow-pickle if you trust the file"
            ) from None
        if "size mismatch" in msg:
            raise DistilkitError(
                f"model {name!r} has a classification head of another size than the task's "
                f"{len(label_names or [])} labels: pass --reinit-head to replace it"
            ) from None
        raise hub_error(name, exc) from None


def load_encoder(name: str, allow_pickle: bool = False, trust_remote_code: bool = False, eager_attention: bool = False) -> PreTrainedModel:
    """The bare encoder of ``name`` (``AutoModel``: a classifier's or pre-training model's heads are dropped)."""
    path = resolve_model(name, allow_pickle=allow_pickle)
    kwargs: dict[str, Any] = {
        "dtype": torch.float32,
        "use_safetensors": None if allow_pickle else True,
        "trust_remote_code": trust_remote_code,
    }
    if eager_attention:
        kwargs["attn_implementation"] = "eager"
    try:
        return AutoModel.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise hub_error(name, exc) from None


def load_masked_lm(
    name: str, allow_pickle: bool = False, trust_remote_code: bool = False
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A masked-LM model (``AutoModelForMaskedLM``) in eval mode and its tokenizer, with a one-line error otherwise."""
    path = resolve_model(name, allow_pickle=allow_pickle)
    try:
        model = AutoModelForMaskedLM.from_pretrained(
            path, trust_remote_code=trust_remote_code, use_safetensors=None if allow_pickle else True
        )
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise DistilkitError(
            f"--augment-mlm-model {name!r} could not be loaded as a masked LM "
            f"({str(exc).splitlines()[0][:150]}): give a dir saved from a *ForMaskedLM model"
        ) from None
    return model.eval(), tokenizer
