"""Run folders as one concept: the output-folder policy (`folder`), what a folder holds and how a
finished result is written (`files`), what a run records (`provenance`), and how a finished run
presents itself (the model card: `model_card`, `card_names`, `card_text`, `card_template`)."""
