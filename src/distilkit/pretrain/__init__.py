"""Pre-training (MLM + NSP, WordPiece tokenizer training) and general (task-agnostic) distillation."""
