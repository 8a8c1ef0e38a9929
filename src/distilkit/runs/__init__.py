"""Run folders as one concept: the output-folder policy (`folder`), what a folder holds and how a
finished result is written (`files`), what a run records (`provenance`)."""
