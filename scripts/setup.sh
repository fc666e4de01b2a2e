#!/usr/bin/env bash
# Installs the real parts the integration and e2e tiers run against, idempotently:
# the Python venv with the image's pinned MLflow, the GCS emulator, and the local
# cluster's host packages and Kubernetes binaries. Everything is cached under
# ~/.cache/mlflow-k8s, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { local name=$1; shift; local t=$SECONDS; echo "[setup] $name" >&2; "$@"; echo "[setup] $name done in $((SECONDS - t)) s" >&2; }
step "python venv (images/mlflow/requirements.txt)" bash packages/testbed/scripts/install-python.sh
step "actionlint (workflow checks in the fast tier)" bash scripts/install-go-tool.sh actionlint github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
step "fake-gcs-server (the GCS emulator)" bash packages/testbed/scripts/install-fake-gcs-server.sh
