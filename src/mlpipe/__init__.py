"""mlpipe: the template's pipeline package.

Layout: ``core`` is pure (no file, network or CLI code), ``io`` holds the edges,
``stages`` are the thin entry points that ``dvc.yaml`` calls, one module per stage.
"""

__version__ = "0.1.0"
