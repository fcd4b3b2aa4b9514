"""Benchmarks and the load generator: tooling beside the product, never imported by it.

Outside ``src/mlpipe`` so a fork's package (and its image) holds the product only; run from the
repository root as ``python -m bench.<name>`` (the ``make bench-*`` targets), which puts the root on
the import path. tests/test_imports.py holds the product to never importing it.
"""
