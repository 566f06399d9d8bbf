"""Hyperparameter search (docs/search.md): search spaces over node params and training settings, and studies
whose trials are ordinary runs."""
