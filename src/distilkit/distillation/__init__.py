"""Distillation: loss terms, objectives, the teacher-output cache and the Trainer subclass."""
