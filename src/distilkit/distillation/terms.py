"""The loss-term registry: name -> a pure function of explicit inputs + what it needs.

A term reads a :class:`TermInputs` (logits, labels, soft targets, the attention mask, each model's
:class:`LayerView`, the layer pairs and its projection) and returns a float32 scalar. Its
:class:`Needs` tell the objective (and through it the trainer) what each step must compute: soft
targets (cached logits suffice), hidden states, attention maps, Q/K/V captured by hooks. Adding a
term is one entry in :data:`TERMS`. Layer pairs are ``(student layer, teacher layer)``, 0-based
transformer blocks; ``hidden(i + 1)`` is block i's output, ``hidden(0)`` the embedding output.

Reduction: a term over several layer pairs is the **mean** over the pairs (task and general
distillation alike), so a term's weight means the same for any depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from distilkit.data.task_types import MULTI, REGRESSION, SINGLE, TASKS
from distilkit.distillation import layer_losses as L
from distilkit.distillation import losses
from distilkit.errors import DistilkitError


@dataclass(frozen=True)
class Needs:
    """What a term (or a set of terms) needs from a training step."""

    soft_targets: bool = False  # the teacher's softened distribution: cached logits are enough
    labels: bool = False  # gold labels
    hidden: bool = False  # both models' hidden_states
    attentions: bool = False  # both models' attention maps (eager attention, attention dropout off)
    qkv: frozenset[str] = frozenset()  # query/key/value outputs ("q", "k", "v") captured by hooks
    pairs: bool = False  # reads the mapped layer pairs (else only the last layers or the embeddings)
    positionwise: bool = False  # compares token positions: both tokenisations must align
    projected: bool = False  # gets a Linear(Ds -> Dt) when the widths differ
    same_heads: bool = False  # compares heads one to one: equal head counts
    relation: bool = False  # MiniLMv2 relation heads

    @property
    def teacher_online(self) -> bool:
        """True when the teacher must run during training (its layer outputs are needed)."""
        return self.hidden or self.attentions or bool(self.qkv)

    def __or__(self, other: Needs) -> Needs:
        return Needs(**{f: (getattr(self, f) | getattr(other, f)) for f in self.__dataclass_fields__})


@dataclass
class LayerView:
    """One model's intermediate outputs for a batch.

    ``hidden_states``: L+1 tensors (B, L, D) (index 0 = embedding output); ``attentions``: one
    (B, H, L, L) probability tensor per block; ``qkv[(layer, role)]``: (B, L, D), heads concatenated.
    """

    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    qkv: dict[tuple[int, str], torch.Tensor] = field(default_factory=dict)
    who: str = "student"

    def hidden(self, index: int) -> torch.Tensor:
        if self.hidden_states is None or self.hidden_states[index] is None:
            raise DistilkitError(f"the {self.who}'s hidden state {index} was not computed: run the teacher online for layer terms")
        return self.hidden_states[index]

    def attention(self, layer: int) -> torch.Tensor:
        if self.attentions is None or self.attentions[layer] is None:
            raise DistilkitError(f"the {self.who}'s attention map {layer} was not computed: load it with eager attention")
        return self.attentions[layer]

    def vectors(self, layer: int, role: str) -> torch.Tensor:
        try:
            return self.qkv[(layer, role)]
        except KeyError:
            raise DistilkitError(
                f"no captured {role} for the {self.who}'s layer {layer}: the model was not run since the hooks were set"
            ) from None


@dataclass
class TermInputs:
    """Everything a term may read for one batch. Logits (B, C), labels (B,) with -100 = unlabelled,
    ``targets`` (B, C) the teacher's temperature-softened distribution, ``mask`` (B, L)."""

    student_logits: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    temperature: float = 1.0
    mask: torch.Tensor | None = None
    student: LayerView = field(default_factory=LayerView)
    teacher: LayerView = field(default_factory=lambda: LayerView(who="teacher"))
    pairs: list[tuple[int, int]] = field(default_factory=list)
    last_pair: tuple[int, int] = (0, 0)
    heads: tuple[int, int] = (0, 0)
    relation_heads: int = 0
    projection: nn.Module | None = None  # the projection of the term being computed (set per term)


@dataclass(frozen=True)
class Term:
    fn: Callable[[TermInputs], torch.Tensor]
    needs: Needs
    doc: str


def _kd(x: TermInputs) -> torch.Tensor:
    if x.targets is None:
        raise DistilkitError("the soft-label term needs teacher outputs, and none were given")
    return losses.kl_to_target(x.student_logits, x.targets, x.temperature)


def _targets(x: TermInputs) -> torch.Tensor:
    if x.targets is None:
        raise DistilkitError("the soft-label term needs teacher outputs, and none were given")
    return x.targets


def _mean(values: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(values).mean()


def _hidden(loss: Callable[..., torch.Tensor]) -> Callable[[TermInputs], torch.Tensor]:
    def term(x: TermInputs) -> torch.Tensor:
        return _mean([loss(x.student.hidden(s + 1), x.teacher.hidden(t + 1), x.mask, x.projection) for s, t in x.pairs])

    return term


def _attention_mse(x: TermInputs) -> torch.Tensor:
    def scores(view: LayerView, layer: int, heads: int) -> torch.Tensor:
        return L.attention_scores(view.vectors(layer, "q"), view.vectors(layer, "k"), heads)

    return _mean([L.attention_score_mse(scores(x.student, s, x.heads[0]), scores(x.teacher, t, x.heads[1]), x.mask) for s, t in x.pairs])


def _attention_kl(last_only: bool) -> Callable[[TermInputs], torch.Tensor]:
    def term(x: TermInputs) -> torch.Tensor:
        pairs = [x.last_pair] if last_only else x.pairs
        return _mean([L.attention_kl(x.student.attention(s), x.teacher.attention(t), x.mask) for s, t in pairs])

    return term


def _relation(role: str, model_heads: bool) -> Callable[[TermInputs], torch.Tensor]:
    def term(x: TermInputs) -> torch.Tensor:
        s, t = x.last_pair
        heads = x.heads[0] if model_heads else x.relation_heads
        return L.relation_kl(x.student.vectors(s, role), x.teacher.vectors(t, role), heads, x.mask)

    return term


def _pkd(x: TermInputs) -> torch.Tensor:
    return L.pkd_cls([x.student.hidden(s + 1)[:, 0] for s, _ in x.pairs], [x.teacher.hidden(t + 1)[:, 0] for _, t in x.pairs], x.projection)


_HIDDEN = Needs(hidden=True, pairs=True, positionwise=True, projected=True)
_LAST_RELATION = dict(qkv=frozenset("v"), positionwise=True)
TERMS: dict[str, Term] = {
    "kd": Term(_kd, Needs(soft_targets=True), "T^2 KL(teacher || student) of temperature-softened distributions (Hinton et al.)"),
    "ce": Term(
        lambda x: losses.gold_or_soft(SINGLE, x.student_logits, x.labels, x.targets, x.temperature),
        Needs(labels=True),
        "cross-entropy on gold labels; a row without one takes the soft-label term instead (its soft weight is kd + ce = 1)",
    ),
    "bkd": Term(
        lambda x: losses.binary_kl_to_target(x.student_logits, _targets(x), x.temperature),
        Needs(soft_targets=True),
        "multi-label: T^2 per-label binary KL to the teacher's sigmoid(t/T), mean over rows and labels",
    ),
    "bce": Term(
        lambda x: losses.gold_or_soft(MULTI, x.student_logits, x.labels, x.targets, x.temperature),
        Needs(labels=True),
        "multi-label: BCE on gold labels; a row without them takes the soft-label term instead (soft weight bkd + bce = 1)",
    ),
    "mse_kd": Term(
        lambda x: losses.mse_to_target(x.student_logits, _targets(x)), Needs(soft_targets=True), "regression: MSE to the teacher's output"
    ),
    "mse": Term(
        lambda x: losses.gold_or_soft(REGRESSION, x.student_logits, x.labels, x.targets, x.temperature),
        Needs(labels=True),
        "regression: MSE to gold values; a row without one takes the soft-label term instead (soft weight mse_kd + mse = 1)",
    ),
    "hidden_mse": Term(_hidden(L.hidden_mse), _HIDDEN, "hidden-state MSE per mapped layer pair (TinyBERT)"),
    "hidden_cos": Term(_hidden(L.hidden_cosine), _HIDDEN, "1 - cosine of hidden states per token (DistilBERT)"),
    "embedding_mse": Term(
        lambda x: L.embedding_mse(x.student.hidden(0), x.teacher.hidden(0), x.mask, x.projection),
        Needs(hidden=True, positionwise=True, projected=True),
        "embedding-output MSE (TinyBERT)",
    ),
    "attention_mse": Term(
        _attention_mse,
        Needs(qkv=frozenset("qk"), pairs=True, positionwise=True, same_heads=True),
        "attention-score MSE per head and mapped pair (TinyBERT)",
    ),
    "attention_kl": Term(
        _attention_kl(False),
        Needs(attentions=True, pairs=True, positionwise=True, same_heads=True),
        "attention-distribution KL per head and mapped pair",
    ),
    "minilm_attention": Term(
        _attention_kl(True), Needs(attentions=True, positionwise=True, same_heads=True), "last-layer attention-distribution KL (MiniLM)"
    ),
    "minilm_value": Term(_relation("v", True), Needs(**_LAST_RELATION, same_heads=True), "last-layer value-relation KL (MiniLM)"),
    "qq_relation": Term(_relation("q", False), Needs(qkv=frozenset("q"), positionwise=True, relation=True), "Q-Q relation KL (MiniLMv2)"),
    "kk_relation": Term(_relation("k", False), Needs(qkv=frozenset("k"), positionwise=True, relation=True), "K-K relation KL (MiniLMv2)"),
    "vv_relation": Term(_relation("v", False), Needs(qkv=frozenset("v"), positionwise=True, relation=True), "V-V relation KL (MiniLMv2)"),
    "pkd": Term(_pkd, Needs(hidden=True, pairs=True, projected=True), "normalised [CLS] MSE over mapped pairs (Patient KD)"),
}
# What "kd" and "ce" (the soft- and gold-label terms of every preset) mean for each task type: the registry's.
TASK_TERMS: dict[str, dict[str, str]] = {name: spec.term_names for name, spec in TASKS.items()}
BUILTIN_TERMS = frozenset(TERMS)  # the terms above; a user's term (see loss_term) may not replace one
NEED_NAMES = tuple(f for f in Needs.__dataclass_fields__ if f != "qkv")


def positionwise_terms() -> frozenset[str]:
    """The registered terms (built-in and user-registered) that compare token positions."""
    return frozenset(name for name, t in TERMS.items() if t.needs.positionwise)


def _needs(needs: Needs | Iterable[str]) -> Needs:
    if isinstance(needs, Needs):
        return needs
    names = [needs] if isinstance(needs, str) else list(needs)
    unknown = sorted(set(names) - set(NEED_NAMES))
    if unknown:
        raise DistilkitError(f"loss_term: unknown need(s) {unknown}: use {', '.join(NEED_NAMES)} (or a Needs(...))")
    return Needs(**dict.fromkeys(names, True))


def register_term(name: str, fn: Callable[[TermInputs], torch.Tensor], needs: Needs | Iterable[str] = (), doc: str = "") -> None:
    """Add (or replace a user's earlier) term ``name`` to :data:`TERMS`: usable by name in ``loss_terms`` /
    ``stage1_terms`` of any recipe from then on, in this process."""
    if not (isinstance(name, str) and name.isidentifier()):
        raise DistilkitError(f"loss_term: the name {name!r} must be a word of letters, digits and _ (e.g. 'cosine_kd')")
    if name in BUILTIN_TERMS:
        raise DistilkitError(f"loss_term: {name!r} is a built-in term: give yours another name")
    if not callable(fn):
        raise DistilkitError(f"loss_term {name!r}: register a function of TermInputs, got {type(fn).__name__}")
    TERMS[name] = Term(fn, _needs(needs), doc or (fn.__doc__ or "").strip().split("\n")[0] or f"user term {name}")


def loss_term(
    name: str, needs: Needs | Iterable[str] = ("soft_targets",), doc: str = ""
) -> Callable[[Callable[[TermInputs], torch.Tensor]], Callable[[TermInputs], torch.Tensor]]:
    """Decorator: register ``fn(x: TermInputs) -> scalar tensor`` as the loss term ``name``.

    ``needs`` names what it reads (fields of :class:`Needs`: ``soft_targets`` for ``x.targets``,
    ``labels``, ``hidden`` for both models' hidden states, ``attentions``, ``pairs`` ...). Example::

        @loss_term("soft_l1")
        def soft_l1(x):  # x.student_logits (B, C), x.targets (B, C) the teacher's softened distribution
            return (x.student_logits.softmax(-1) - x.targets).abs().sum(-1).mean()

        distill(..., loss_terms={"kd": 0.5, "ce": 0.5, "soft_l1": 1.0})
    """

    def register(fn: Callable[[TermInputs], torch.Tensor]) -> Callable[[TermInputs], torch.Tensor]:
        register_term(name, fn, needs, doc)
        return fn

    return register


def needs_of(names: list[str] | set[str]) -> Needs:
    """The union of what the named terms need."""
    total = Needs()
    for name in names:
        total = total | TERMS[name].needs
    return total


def check_terms(names: list[str] | set[str], what: str = "loss") -> None:
    unknown = sorted(set(names) - set(TERMS))
    if unknown:
        raise DistilkitError(f"unknown {what} term(s) {unknown}: use {sorted(TERMS)}")
