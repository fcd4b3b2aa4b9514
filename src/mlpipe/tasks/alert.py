"""``make monitor-issue``: after ``make monitor``, open or update the ONE monitoring issue on GitHub.

No alert: nothing happens. Alert: the open issue labelled ``model-monitor`` gets the new report as
its body and a comment (so watchers are notified); if there is none, it is created. Repeated runs
never open a second issue. With ``MONITOR_RETRAIN=true`` the retraining workflow is dispatched too.
Uses the ``gh`` CLI with ``GH_TOKEN``.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
from pathlib import Path

from mlpipe.cli import run_stage
from mlpipe.env import process_env
from mlpipe.errors import PipelineError
from mlpipe.io.files import read_json
from mlpipe.io.pipeline import pipeline_paths

log = logging.getLogger(__name__)
LABEL = "model-monitor"
TITLE = "Model monitor: drift or data-quality alert"


def gh(*args: str) -> str:
    res = subprocess.run(["gh", *args], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise PipelineError(f"gh {' '.join(args[:2])} failed: {res.stderr.strip()[-500:]}")
    return res.stdout


def raise_issue(report_json: Path, report_md: Path, retrain: bool) -> str:
    report = read_json(report_json)
    if not report["verdict"]["alert"]:
        log.info("no alert: no issue")
        return "none"
    body = str(report_md)
    found = json.loads(gh("issue", "list", "--state", "open", "--label", LABEL, "--json", "number,title") or "[]")
    if found:
        number = str(found[0]["number"])
        gh("issue", "edit", number, "--body-file", body)
        reasons = "; ".join(report["verdict"]["reasons"])
        gh("issue", "comment", number, "--body", f"Still alerting ({report['window']['source']}): {reasons}")
        log.info("updated issue #%s", number)
        action = f"updated #{number}"
    else:
        gh("label", "create", LABEL, "--force", "--color", "B60205", "--description", "raised by make monitor")
        url = gh("issue", "create", "--title", TITLE, "--label", LABEL, "--body-file", body).strip()
        log.info("opened %s", url)
        action = f"opened {url}"
    if retrain:
        gh("workflow", "run", "pipeline.yml")
        log.info("dispatched the retraining workflow (pipeline.yml)")
    return action


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.parse_args(argv)
    out = pipeline_paths().monitor
    raise_issue(out / "monitor.json", out / "monitor.md", process_env().retrain_on_alert)


if __name__ == "__main__":
    run_stage(main)
