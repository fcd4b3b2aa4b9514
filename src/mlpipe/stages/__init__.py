"""One module per ``dvc.yaml`` stage; each has a ``main(argv)`` that takes every path as an argument."""

from mlpipe import tune_collector_for_command

tune_collector_for_command()  # `python -m mlpipe.stages.<stage>`: before the stage's own imports
