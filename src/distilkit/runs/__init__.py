"""Run folders: what a finished run leaves behind and how it presents itself (the model card)."""
