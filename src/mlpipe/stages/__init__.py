"""One module per ``dvc.yaml`` stage; each has a ``main(argv)`` that takes every path as an argument."""
