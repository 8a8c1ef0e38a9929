"""Inference: one :class:`Predictor` over the torch / ONNX Runtime backends, length-bucketed batching, timing."""

from distilkit.inference.predictor import Predictions, Predictor, batched_logits, position_limit, softmax

__all__ = ["Predictions", "Predictor", "batched_logits", "position_limit", "softmax"]
