"""``make repro``'s first step: ``params.yaml`` and ``contract.yaml`` parse, and agree, before DVC runs.

DVC removes a stage's outputs before it runs the stage's command, so a typo found inside ``train``
would leave the workspace without a model (the committed one is only a ``dvc checkout`` away, but
``make serve`` and ``make gate`` would find none). Checked here, a mistake stops ``make repro`` with
every output as it was.
"""

from __future__ import annotations

import argparse
import logging

from mlpipe.cli import run_stage
from mlpipe.io.files import load_config
from mlpipe.io.pipeline import DVC_YAML, pipeline_paths

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dvc-yaml", default=DVC_YAML)
    args = ap.parse_args(argv)
    paths = pipeline_paths(args.dvc_yaml)
    load_config(paths.params, paths.contract)
    log.info("%s and %s are valid", paths.params, paths.contract)


if __name__ == "__main__":
    run_stage(main)
