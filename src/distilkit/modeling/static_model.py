"""The static student: a token-embedding table, a masked mean and a linear head.

A text's vector is the mean of its tokens' rows in the table (``[CLS]``/``[SEP]``/padding and the
unknown token left out, as ``model2vec`` tokenises: no special tokens, no ``[UNK]``); the head maps it
to ``num_labels`` logits. It is a :class:`~transformers.PreTrainedModel` registered with the Auto
classes (model type :data:`STATIC_MODEL_TYPE`), so the Trainer, ``save_pretrained``,
``load_classifier``, the Predictor and the ONNX exporter take it like any other classifier.

The saved weights file names the table ``embeddings`` (rows: token ids, columns: dimensions), which is
what ``model2vec.StaticModel.from_pretrained(folder)`` reads, together with ``tokenizer.json`` and
``config.json`` (``normalize: false``); the head is ``head.weight`` (C, D) and ``head.bias`` (C,) in
the same file.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModelForSequenceClassification, PretrainedConfig, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import SequenceClassifierOutput

STATIC_MODEL_TYPE = "distilkit-static"
STATIC_PREFIX = "static"  # --student static | static:<encoder>
STATIC_LEARNING_RATE = 3e-3  # distill's default for a static student (its table and head start far from a good fit)


def is_static_name(name: str | None) -> bool:
    """True for ``static`` and ``static:<encoder>`` (what ``--student`` takes for a static student)."""
    return bool(name) and (name == STATIC_PREFIX or str(name).startswith(STATIC_PREFIX + ":"))


def static_encoder_of(name: str) -> str | None:
    """The encoder named in ``static:<encoder>`` (None for plain ``static``: the teacher's own)."""
    return name.split(":", 1)[1] or None if ":" in name else None


class StaticConfig(PretrainedConfig):
    """Config of a static student: table size and width, the token ids the mean leaves out, the encoder it came from."""

    model_type = STATIC_MODEL_TYPE

    def __init__(
        self,
        vocab_size: int = 2,
        hidden_size: int = 8,
        ignored_token_ids: list[int] | None = None,
        encoder: str | None = None,
        normalize: bool = False,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.hidden_dim = hidden_size  # model2vec's name for the width
        self.ignored_token_ids = list(ignored_token_ids or [])
        self.encoder = encoder
        self.normalize = normalize  # read by model2vec.StaticModel: the mean is used as is
        # What export and the model card read of every classifier: no layers, no attention.
        self.num_hidden_layers = 0
        self.num_attention_heads = 0
        self.intermediate_size = 0
        super().__init__(**kwargs)


def keep_vector(config: StaticConfig) -> torch.Tensor:
    """(V,) float: 1.0 for the token ids the mean uses, 0.0 for ``config.ignored_token_ids``."""
    keep = torch.ones(config.vocab_size)
    keep[[i for i in config.ignored_token_ids if 0 <= i < config.vocab_size]] = 0.0
    return keep


def pooled(embeddings: torch.Tensor, keep: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of the kept tokens' rows: ``embeddings`` (V, D), ``keep`` (V,) 1.0 for usable token ids,
    ``input_ids``/``attention_mask`` (B, L) -> (B, D). A text with no kept token gives zeros."""
    weight = keep[input_ids]
    if attention_mask is not None:
        weight = weight * attention_mask.to(weight.dtype)
    summed = torch.bmm(weight.unsqueeze(1), embeddings[input_ids]).squeeze(1)
    return summed / weight.sum(dim=1, keepdim=True).clamp(min=1.0)


class StaticForSequenceClassification(PreTrainedModel):
    """Static embeddings + masked mean + linear head; ``forward`` returns ``logits`` (B, num_labels)."""

    config_class = StaticConfig
    base_model_prefix = "static"
    main_input_name = "input_ids"
    _supports_sdpa = True  # no attention at all: any implementation name is accepted
    _supports_flash_attn = True

    def __init__(self, config: StaticConfig) -> None:
        super().__init__(config)
        self.embeddings = nn.Parameter(torch.zeros(config.vocab_size, config.hidden_size))
        self.head = nn.Linear(config.hidden_size, config.num_labels)
        self.keep = nn.Buffer(keep_vector(config), persistent=False)  # rebuilt from the config: never in the weights file
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        # transformers' init functions skip tensors already loaded from a checkpoint
        if isinstance(module, nn.Linear):
            init.normal_(module.weight, std=0.02)
            init.zeros_(module.bias)
        elif isinstance(module, StaticForSequenceClassification):
            init.zeros_(module.embeddings)
            init.copy_(module.keep, keep_vector(module.config))

    def get_input_embeddings(self) -> nn.Module | None:
        return None

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The text vectors (B, D): what ``model2vec.StaticModel.encode`` returns for the same tokens."""
        return pooled(self.embeddings, self.keep, input_ids, attention_mask)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,  # token_type_ids, output_hidden_states, ...: a static model has no use for them
    ) -> SequenceClassifierOutput:
        vectors = self.pool(input_ids, attention_mask)
        logits = self.head(vectors)
        hidden = (vectors.unsqueeze(1),) if kwargs.get("output_hidden_states") else None
        return SequenceClassifierOutput(logits=logits, hidden_states=hidden)


AutoConfig.register(STATIC_MODEL_TYPE, StaticConfig, exist_ok=True)
AutoModelForSequenceClassification.register(StaticConfig, StaticForSequenceClassification, exist_ok=True)
