"""I/O edges: files, models, git, great-expectations, the prediction log."""
