"""``make deploy IMAGE=... PREVIOUS=...``: deploy, smoke-test, and roll back by itself on failure.

The deploy *target* is a shell command (``DEPLOY_COMMAND``, run with ``$IMAGE`` set) and the
URL it serves at (``DEPLOY_URL``). The default target runs the image on the machine running
this command (on GitHub, the Actions runner): it proves the image starts, loads its model and
answers correctly, with no cloud account, but it is not a long-lived service. Pointing it at a
real platform is one variable: e.g. ``DEPLOY_COMMAND='gcloud run deploy svc --image "$IMAGE"'``
and ``DEPLOY_URL`` its address (docs/serving.md, "Deploy").

When the smoke test fails, ``PREVIOUS`` (the last version that passed) is deployed again and
checked, and the command exits 1 either way: a rollback is never a silent success.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from mlpipe.cli import run_stage
from mlpipe.env import process_env
from mlpipe.errors import DeployFailed
from mlpipe.io.files import load_config, read_json
from mlpipe.io.pipeline import pipeline_paths
from mlpipe.tasks.smoke import smoke

log = logging.getLogger(__name__)
# The default target: the image on this machine (on GitHub, the Actions runner), port 8000.
RUNNER_COMMAND = (
    "docker rm -f mlpipe-production >/dev/null 2>&1 || true; "
    'docker run -d --name mlpipe-production -p 8000:8000 "$IMAGE"'
)
RUNNER_URL = "http://127.0.0.1:8000"


def deploy(image: str, command: str, url: str, wait_s: float) -> None:
    log.info("deploying %s", image)
    res = subprocess.run(["bash", "-c", command], env={**os.environ, "IMAGE": image}, check=False)
    if res.returncode != 0:
        raise DeployFailed(f"deploy command exited {res.returncode} for {image}")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # five /health requests a second: nothing for a service, 0.1 s of a deploy on average
    raise DeployFailed(f"{image} did not answer {url}/health within {wait_s:.0f} s")


def deploy_and_check(image: str, known: dict[str, Any], args: argparse.Namespace, params: Any) -> list[str]:
    try:
        deploy(image, args.command, args.url, args.wait)
    except DeployFailed as err:
        return [str(err)]
    return smoke(args.url, known, params, process_env().api_key or None)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image", required=True)
    ap.add_argument("--previous", default="", help="the last good version, redeployed if this one fails")
    ap.add_argument("--known", type=Path, help="known answers of --image (default: paths.smoke in dvc.yaml)")
    ap.add_argument("--previous-known", type=Path, help="known answers of --previous (default: health/ready only)")
    ap.add_argument("--command", default=process_env().deploy_command or RUNNER_COMMAND)
    ap.add_argument("--url", default=process_env().deploy_url or RUNNER_URL)
    ap.add_argument("--wait", type=float, default=120, help="seconds to wait for /health after deploying")
    args = ap.parse_args(argv)
    paths = pipeline_paths()
    params, _ = load_config(paths.params, paths.contract)
    known = read_json(args.known or paths.smoke)
    failures = deploy_and_check(args.image, known, args, params)
    if not failures:
        log.info("deployed %s (model %s) to %s: smoke test passed", args.image, known["model_version"], args.url)
        return
    why = "\n  - ".join(failures)
    if not args.previous:
        raise DeployFailed(f"{args.image} failed its smoke test and there is no previous version:\n  - {why}")
    log.error("%s failed its smoke test, rolling back to %s:\n  - %s", args.image, args.previous, why)
    previous_known = read_json(args.previous_known) if args.previous_known else None
    back = deploy_and_check(args.previous, previous_known, args, params) if previous_known else []
    if not previous_known:
        try:
            deploy(args.previous, args.command, args.url, args.wait)
            key = process_env().api_key or None  # /ready needs none; a proxy in front may
            ready = httpx.get(f"{args.url}/ready", timeout=10, headers={"X-API-Key": key} if key else {})
            if ready.status_code != 200:
                back = [f"/ready answered {ready.status_code}: {ready.text[:300]}"]
        except (DeployFailed, httpx.HTTPError) as err:
            back = [str(err)]
    if back:
        raise DeployFailed(
            f"{args.image} failed its smoke test AND the rollback to {args.previous} failed: "
            + "; ".join(back)
            + f"\nnew version:\n  - {why}"
        )
    raise DeployFailed(
        f"{args.image} failed its smoke test; rolled back to {args.previous}, which is serving:\n  - {why}"
    )


if __name__ == "__main__":
    run_stage(main)
