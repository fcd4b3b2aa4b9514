"""The GitHub workflows' rules, enforced: what CI does must stay boring and safe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpipe.io.pipeline import PipelinePaths

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SETUP = ROOT / ".github" / "actions" / "setup" / "action.yml"
TELEMETRY = {"DVC_NO_ANALYTICS": "1", "GX_ANALYTICS_ENABLED": "false", "ITERATIVE_DO_NOT_TRACK": "1"}
PINNED = re.compile(r"^\s*(?:-\s*)?uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$")


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return dict(doc)


def steps(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, job, step) for name, job in doc["jobs"].items() for step in job["steps"]]


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))


def test_there_are_few_short_workflows() -> None:
    assert {p.name for p in WORKFLOWS} == {
        "ci.yml", "pipeline.yml", "pr-comment.yml", "deploy.yml", "monitor.yml", "experiments.yml"
    }  # fmt: skip
    assert all(len(p.read_text().splitlines()) < 160 for p in WORKFLOWS)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_timeouts_and_triggers(path: Path) -> None:
    doc = load(path)
    assert doc["permissions"] == {}, "grant permissions per job, none at the top"
    assert "pull_request_target" not in doc["on"]
    for name, job in doc["jobs"].items():
        assert "timeout-minutes" in job, name
        assert isinstance(job.get("permissions"), dict), name
        if job["permissions"].get("pull-requests") == "write":
            assert (path.name, name) in {
                ("pr-comment.yml", "comment"), ("pipeline.yml", "retrain-pr"), ("experiments.yml", "search")
            }  # fmt: skip


@pytest.mark.parametrize("path", [*WORKFLOWS, SETUP], ids=lambda p: p.name)
def test_actions_are_pinned_by_sha_with_a_version_comment(path: Path) -> None:
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s*)?uses:", line)]
    assert uses
    bad = [line.strip() for line in uses if not PINNED.match(line) and "uses: ./.github/actions/" not in line]
    assert not bad, bad


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_call_make_targets_and_never_interpolate(path: Path) -> None:
    targets = make_targets()
    for job, _, step in steps(load(path)):
        if "run" not in step:
            continue
        cmd = step["run"].strip()
        assert "${{" not in cmd, f"{job}: pass values through env:, not ${{{{ }}}} in run: {cmd}"
        assert re.fullmatch(r'make [a-z-]+( [A-Z]+="\$[A-Z_]+")?', cmd), f"{job}: {cmd}"
        assert cmd.split()[1] in targets, f"{job}: no make target {cmd.split()[1]}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_never_keep_credentials(path: Path) -> None:
    for job, _, step in steps(load(path)):
        if "actions/checkout" in step.get("uses", ""):
            assert step.get("with", {}).get("persist-credentials") is False, job


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_uses_the_one_setup_preamble(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        uses = [s.get("uses", "") for s in job["steps"]]
        assert "actions/checkout" in uses[0], name
        assert uses[1] == "./.github/actions/setup", f"{name}: checkout, then the shared setup"
        assert not any("setup-python" in u or u.startswith("actions/cache@") for u in uses), name


def test_telemetry_is_off_once_in_the_makefile() -> None:
    exported = dict(re.findall(r"^export (\w+) := (\S+)$", (ROOT / "Makefile").read_text(), re.M))
    assert {k: exported.get(k) for k in TELEMETRY} == TELEMETRY
    for path in WORKFLOWS:
        assert not any(k in path.read_text() for k in TELEMETRY), f"{path.name}: set once, in the Makefile"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_secrets_only_reach_jobs_in_an_environment(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        if "secrets." in yaml.safe_dump(job):
            assert job.get("environment"), f"{name} reads secrets outside an environment"
        env = str(job.get("environment", ""))
        if "dvc-write" in env:  # write keys: pushes to main only, never a pull request
            main_push = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
            assert env == f"${{{{ {main_push} && 'dvc-write' || 'dvc-read' }}}}"


def test_pull_requests_never_save_a_cache_entry_keyed_on_the_lock_file() -> None:
    setup = yaml.safe_load(SETUP.read_text())
    for step in setup["runs"]["steps"]:
        key = step.get("with", {}).get("key", "")
        if step.get("uses", "").startswith("actions/cache@"):  # restore + save: keyed on what it holds
            assert "dvc.lock" not in key
            assert "requirements/*.txt" in key
        if ".dvc/cache" in step.get("with", {}).get("path", ""):
            assert step["uses"].startswith("actions/cache/restore@"), "the DVC cache is only restored here"
    for path in WORKFLOWS:
        for job, _, step in steps(load(path)):
            if step.get("uses", "").startswith("actions/cache/save@"):
                assert (path.name, job) == ("pipeline.yml", "repro")
                assert step["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"


def test_retraining_pushes_without_a_stored_token() -> None:
    job = load(ROOT / ".github/workflows/pipeline.yml")["jobs"]["retrain-pr"]
    runs = [s for s in job["steps"] if "run" in s]
    assert [s["run"] for s in runs] == ["make repro", "make retrain-pr"]
    assert "env" not in runs[0], "no token while the pipeline runs"
    assert runs[1]["env"]["GH_TOKEN"] == "${{ secrets.RETRAIN_TOKEN || github.token }}"
    recipe = (ROOT / "Makefile").read_text().split("\nretrain-pr:")[1].split("\n\n")[0]
    assert "credential.helper='!gh auth git-credential'" in recipe
    assert "x-access-token" not in recipe


def test_the_search_workflow_is_manual_and_promotes_without_a_stored_token() -> None:
    doc = load(ROOT / ".github/workflows/experiments.yml")
    assert set(doc["on"]) == {"workflow_dispatch"}
    runs = [s for s in doc["jobs"]["search"]["steps"] if "run" in s]
    assert [s["run"] for s in runs][-2:] == ["make tune", "make promote-pr"]
    assert all("GH_TOKEN" not in s.get("env", {}) for s in runs[:-1]), "no token while the search runs"
    assert runs[-1]["env"]["GH_TOKEN"] == "${{ secrets.RETRAIN_TOKEN || github.token }}"
    identity = {"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"}
    assert identity <= set(doc["env"]), "DVC's experiment commits need a git identity on a runner"
    recipe = (ROOT / "Makefile").read_text().split("\npromote-pr:")[1].split("\n\n")[0]
    assert "credential.helper='!gh auth git-credential'" in recipe


def test_ci_and_pipeline_cancel_superseded_runs() -> None:
    for name in ("ci.yml", "pipeline.yml"):
        assert load(ROOT / ".github/workflows" / name)["concurrency"]["cancel-in-progress"] is True


def test_ci_runs_a_commit_once() -> None:
    """push + pull_request ran every push to a pull request's branch twice: pushes run for main only."""
    on = load(ROOT / ".github/workflows/ci.yml")["on"]
    assert set(on) == {"push", "pull_request", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"]}
    assert not on["pull_request"] or set(on["pull_request"]) <= {"types"}, "every pull request, whatever it touches"


@pytest.mark.parametrize(
    ("workflow", "job", "variable"),
    [("ci.yml", "test", "TEST_RUNS_ON"), ("pipeline.yml", "repro", "PIPELINE_RUNS_ON"),
     ("pipeline.yml", "retrain-pr", "PIPELINE_RUNS_ON")],
)  # fmt: skip
def test_the_heavy_jobs_runner_is_a_repository_variable(workflow: str, job: str, variable: str) -> None:
    """A larger runner, a self-hosted GPU runner or one `cml runner` launched: a setting, not a workflow edit."""
    runs_on = load(ROOT / ".github/workflows" / workflow)["jobs"][job]["runs-on"]
    assert runs_on == f"""${{{{ fromJSON(vars.{variable} || '"ubuntu-latest"') }}}}"""
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^PYTEST_WORKERS \?= auto$", make, re.M), "the tests use every core the runner has"


def test_pipeline_triggers_on_what_changes_the_model() -> None:
    doc = load(ROOT / ".github/workflows/pipeline.yml")
    for event in ("push", "pull_request"):
        assert {"data.dvc", "params.yaml", "dvc.yaml", "src/**"} <= set(doc["on"][event]["paths"])
    assert doc["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in doc["on"]
    repro = doc["jobs"]["repro"]
    checkout = repro["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0, "diffs against the base need history"
    runs = [s.get("run", "") for s in repro["steps"]]
    assert runs.index("make pull") < runs.index("make check-lock") < runs.index("make repro")
    assert runs.index("make repro") < runs.index('make gate BASE="$BASE"') < runs.index('make report BASE="$BASE"')
    push = next(s for s in repro["steps"] if s.get("run") == "make push")
    assert push["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    lock = next(s for s in repro["steps"] if s.get("run") == "make check-lock")
    assert lock["if"] == "github.event_name == 'pull_request'"


def test_fork_comments_come_from_workflow_run_reading_only_the_artifact() -> None:
    doc = load(ROOT / ".github/workflows/pr-comment.yml")
    assert doc["on"] == {"workflow_run": {"workflows": ["pipeline"], "types": ["completed"]}}
    job = doc["jobs"]["comment"]
    assert job["if"].startswith("github.event.workflow_run.event == 'pull_request'")
    assert "conclusion != 'cancelled'" in job["if"]
    guarded = [s for s in job["steps"] if "download-artifact" in s.get("uses", "") or s.get("run") == "make comment"]
    assert all(s.get("if") == "steps.report.outputs.found == 'true'" for s in guarded), "no report, no red run"
    checkout = next(s for s in job["steps"] if "actions/checkout" in s.get("uses", ""))
    assert "ref" not in checkout.get("with", {}), "check out the default branch, never the PR head"
    assert any("download-artifact" in s.get("uses", "") for s in job["steps"])
    post = next(s for s in job["steps"] if s.get("run") == "make comment")
    assert post["env"]["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}", "verify the artifact's PR number"


def test_the_report_names_the_artifact_the_pipeline_uploads_and_the_comment_reads() -> None:
    from mlpipe.core.report import ARTIFACT

    def artifacts(workflow: str, action: str) -> list[dict[str, Any]]:
        doc = load(ROOT / ".github/workflows" / workflow)
        return [step["with"] for _, _, step in steps(doc) if action in step.get("uses", "")]

    (upload,) = artifacts("pipeline.yml", "upload-artifact")
    assert upload["name"] == ARTIFACT
    assert "reports/plots/" in upload["path"], "the report points at the plot data in the artifact"
    assert [w["name"] for w in artifacts("pr-comment.yml", "download-artifact")] == [ARTIFACT]


def test_dependabot_covers_actions_pip_the_images_weekly_grouped_after_a_cooldown() -> None:
    doc = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"]: u for u in doc["updates"]}
    assert set(ecosystems) == {"github-actions", "pip", "docker", "devcontainers"}
    for u in ecosystems.values():
        assert u["schedule"]["interval"] == "weekly"
        assert u["groups"]
        assert u["cooldown"]["default-days"] >= 7  # a release a week old at least (zizmor's audit too)


def test_deploy_ships_only_a_gated_commit_still_at_mains_head() -> None:
    doc = load(ROOT / ".github/workflows/deploy.yml")
    # pipeline, not ci: the pipeline's run fails when its gate blocks the change
    assert doc["on"]["workflow_run"] == {"workflows": ["pipeline"], "types": ["completed"], "branches": ["main"]}
    repro = load(ROOT / ".github/workflows/pipeline.yml")["jobs"]["repro"]
    gate_fails_the_run = next(s for s in repro["steps"] if s.get("run") == "make gate-failed")
    assert gate_fails_the_run["if"] == "steps.gate.outcome == 'failure'"
    assert doc["on"]["workflow_dispatch"]["inputs"]["release"]["required"] is True
    build, deploy, rollback = (doc["jobs"][j] for j in ("build", "deploy", "rollback"))
    for cond in (
        "github.event.workflow_run.conclusion == 'success'",
        "github.event.workflow_run.event == 'push'",  # never a pull request's run, even from a fork's main
        "github.event.workflow_run.head_repository.full_name == github.repository",
    ):
        assert cond in build["if"]
    assert build["concurrency"] == {"group": "deploy-build", "cancel-in-progress": True}
    runs = [s for s in build["steps"] if "run" in s]
    assert [s["run"] for s in runs] == ["make deployable", "make pull", "make image", "make push-image", "make release"]
    assert runs[0]["id"] == "ready"
    assert all(s["if"] == "steps.ready.outputs.deploy == 'true'" for s in runs[1:]), "main moved on or ci red: stop"
    assert build["outputs"]["deploy"] == "${{ steps.ready.outputs.deploy }}"
    assert build["permissions"] == {"contents": "write", "packages": "write", "actions": "read"}
    assert deploy["needs"] == "build"
    assert deploy["if"] == "needs.build.outputs.deploy == 'true'"
    for job in (deploy, rollback):
        assert job["environment"] == "production"
        assert job["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
        assert job["permissions"] == {"contents": "write", "packages": "read"}
        assert job["env"] == {"DEPLOY_COMMAND": "${{ vars.DEPLOY_COMMAND }}", "DEPLOY_URL": "${{ vars.DEPLOY_URL }}"}
    assert [s["run"] for s in deploy["steps"] if "run" in s] == ["make deploy"]
    step = next(s for s in rollback["steps"] if "run" in s)
    assert step["run"] == 'make deploy RELEASE="$RELEASE"'
    assert step["env"]["RELEASE"] == "${{ inputs.release }}"
    assert rollback["if"] == "github.event_name == 'workflow_dispatch'"
    for job in (build, deploy):
        checkout = next(s for s in job["steps"] if "actions/checkout" in s.get("uses", ""))
        assert checkout["with"]["ref"] == "${{ github.event.workflow_run.head_sha }}", "deploy what CI tested"


@pytest.mark.parametrize(
    ("target", "var"),
    [("gate", "BASE"), ("report", "BASE"), ("monitor", "WINDOW"), ("deploy", "RELEASE"), ("promote", "EXP")],
)
def test_values_from_inputs_reach_recipes_only_through_the_environment_checked(target: str, var: str) -> None:
    text = (ROOT / "Makefile").read_text()
    recipe = text.split(f"\n{target}:")[1].split("\n\n")[0]
    assert f"$({var})" not in recipe, f"make {target} pastes {var} into the shell command"
    assert f'"$${var}"' in recipe
    checked = (f"$(call plain,{var})", f"$(call glob,{var})", f'[[ "$${var}" =~')
    assert any(c in recipe for c in checked), f"make {target} does not check {var}"
    assert re.search(rf"^export .*\b{var}\b", text, re.M)


def test_pr_comment_installs_a_pinned_cml_without_a_token() -> None:
    job = load(ROOT / ".github/workflows/pr-comment.yml")["jobs"]["comment"]
    runs = [s for s in job["steps"] if "run" in s]
    assert [s["run"] for s in runs] == ["make has-report", "make cml", "make comment"]
    assert "env" not in runs[1], "npm runs with no token in reach"
    recipe = (ROOT / "Makefile").read_text().split("\ncml:")[1].split("\n\n")[0]
    assert "npm ci --omit=dev --ignore-scripts" in recipe
    assert "npx --yes" not in (ROOT / "Makefile").read_text()


def test_monitor_runs_on_a_schedule_and_keeps_one_issue(paths: PipelinePaths) -> None:
    doc = load(ROOT / ".github/workflows/monitor.yml")
    assert doc["on"]["schedule"][0]["cron"]
    assert "workflow_dispatch" in doc["on"]
    assert doc["concurrency"] == {"group": "monitor", "cancel-in-progress": False}
    job = doc["jobs"]["monitor"]
    assert job["permissions"] == {"contents": "read", "issues": "write", "actions": "write"}
    runs = [s.get("run") for s in job["steps"] if "run" in s]
    assert runs == ["make pull", 'make monitor WINDOW="$WINDOW"', "make monitor-issue"]
    upload = next(i for i, s in enumerate(job["steps"]) if "upload-artifact" in s.get("uses", ""))
    assert job["steps"][upload]["with"]["path"] == f"{paths.monitor.as_posix()}/"  # dvc.yaml's, written again
    issue = next(s for s in job["steps"] if s.get("run") == "make monitor-issue")
    assert issue["env"] == {"GH_TOKEN": "${{ github.token }}", "MONITOR_RETRAIN": "${{ vars.MONITOR_RETRAIN }}"}


def test_ci_tests_run_on_the_forks_data_and_lint_runs_too() -> None:
    doc = load(ROOT / ".github/workflows/ci.yml")
    lint = [s.get("run") for s in doc["jobs"]["lint"]["steps"] if "run" in s]
    assert lint == ["make prometheus-tools", "make lint"], "promtool checks observability/ in make lint"
    runs = [s.get("run") for s in doc["jobs"]["test"]["steps"] if "run" in s]
    assert runs == ["make pull", "make prometheus-tools", "make pytest"], "the tests need the data the remote holds"
    assert doc["env"]["DVC_REMOTE_URL"] == "${{ vars.DVC_REMOTE_URL }}"
    optional = next(s for s in doc["jobs"]["test"]["steps"] if s.get("run") == "make pytest")["env"]["DATA_OPTIONAL"]
    assert "head.repo.fork" in optional, "only pull requests without secrets may run without the data"
