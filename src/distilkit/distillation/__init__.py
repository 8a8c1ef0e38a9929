"""Distillation: pure loss functions, the term registry, the one Objective, presets (data), layer maps, Q/K/V capture, the Trainer."""
