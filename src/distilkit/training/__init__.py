"""The training foundation of every command: TrainingArguments, the Trainer base, collation, metrics."""
