"""Pre-training data and models: MLM/NSP examples from a streamed corpus, masking, metrics, WordPiece training."""
