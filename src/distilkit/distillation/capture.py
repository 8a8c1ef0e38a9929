"""Queries, keys and values of chosen layers, read with forward hooks (no model changes, no adaptor).

HF models return hidden states and attention maps, but not the per-layer Q/K/V that MiniLM's value
relation, MiniLMv2's relations and TinyBERT's attention scores need. :class:`QKVCapture` finds each
transformer block's query/key/value ``nn.Linear`` layers by name (BERT ``query/key/value``,
MPNet ``q/k/v``, DistilBERT ``q_lin/k_lin/v_lin``, RoBERTa/ELECTRA/etc. as BERT, ``q_proj/...``)
and stores their outputs, (B, L, D) with the heads concatenated, after every forward pass.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from distilkit.errors import DistilkitError

_NAMES = {"q": ("query", "q", "q_lin", "q_proj"), "k": ("key", "k", "k_lin", "k_proj"), "v": ("value", "v", "v_lin", "v_proj")}


def transformer_blocks(model: nn.Module) -> nn.ModuleList:
    """The model's list of transformer blocks (the ModuleList with ``num_hidden_layers`` entries)."""
    n = getattr(model.config, "num_hidden_layers", None)
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == n and name.split(".")[-1] in ("layer", "layers", "blocks"):
            return module
    raise DistilkitError(
        f"cannot find the {n} transformer blocks of {type(model).__name__}: Q/K/V terms (attention_mse, "
        "minilm_value, qq/kk/vv_relation) support BERT-style encoders; use hidden or logit terms instead"
    )


def qkv_linears(block: nn.Module) -> dict[str, nn.Linear]:
    """The block's query, key and value Linear layers, keyed ``q``, ``k``, ``v``."""
    found: dict[str, nn.Linear] = {}
    for name, module in block.named_modules():
        leaf = name.split(".")[-1]
        if not isinstance(module, nn.Linear) or "crossattention" in name:
            continue
        for role, names in _NAMES.items():
            if leaf in names and role not in found:
                found[role] = module
    missing = sorted(set(_NAMES) - set(found))
    if missing:
        raise DistilkitError(
            f"no {'/'.join(missing)} projection found in {type(block).__name__}: Q/K/V terms need "
            "separate query/key/value Linear layers (fused QKV is not supported); use hidden or logit terms"
        )
    return found


def disable_attention_dropout(model: nn.Module) -> int:
    """Set the attention-probability dropout of every transformer block of ``model`` to 0; returns
    how many dropout modules were changed.

    HF eager attention returns the attention maps *after* dropout, so in training a student's maps
    have zeroed entries and rows that sum to 1/(1-p): attention-map losses (``attention_kl``,
    ``minilm_attention``) would then compare the teacher with noise (log 0 where a key was dropped).
    Only the dropout inside the attention modules (those holding Q/K/V projections) changes; hidden
    dropout stays, and the saved config is untouched.
    """
    changed = 0
    role_names = {name for names in _NAMES.values() for name in names}
    for block in transformer_blocks(model):
        for module in block.modules():
            children = dict(module.named_children())
            if not any(isinstance(children.get(name), nn.Linear) for name in role_names):
                continue
            for child in children.values():
                if isinstance(child, nn.Dropout) and child.p > 0:
                    child.p = 0.0
                    changed += 1
    return changed


class QKVCapture:
    """Forward hooks that keep the latest Q/K/V outputs of ``layers`` (0-based blocks) of ``model``.

    ``self.store[layer]["q" | "k" | "v"]`` is (B, L, D). Call :meth:`clear` after each loss and
    :meth:`remove` when done. Outputs are kept as they are (with their autograd graph for a
    student; inference tensors for a teacher run under ``inference_mode``: clone before use).
    """

    def __init__(self, model: nn.Module, layers: list[int], roles: tuple[str, ...] = ("q", "k", "v")) -> None:
        blocks = transformer_blocks(model)
        self.store: dict[int, dict[str, torch.Tensor]] = {}
        self._handles = []
        for layer in sorted(set(layers)):
            linears = qkv_linears(blocks[layer])
            for role in roles:
                self._handles.append(linears[role].register_forward_hook(self._hook(layer, role)))

    def _hook(self, layer: int, role: str) -> Any:
        def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            self.store.setdefault(layer, {})[role] = output

        return hook

    def get(self, layer: int, role: str) -> torch.Tensor:
        try:
            return self.store[layer][role]
        except KeyError:
            raise DistilkitError(f"no captured {role} for layer {layer}: the model was not run since the hooks were set") from None

    def clear(self) -> None:
        self.store.clear()

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self.store.clear()
