#!/usr/bin/env bash
# The integration tier: installs what it needs (idempotent), runs the entrypoint's pytest
# unit tests in the venv that has the image's exact pins, then the vitest integration
# suites against real PostgreSQL, fake-gcs-server and MLflow (the pinned one, and the previous
# one the upgrade suite migrates from).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(cd "$here/../.." && pwd)
venv=$(bash "$here/scripts/install-python.sh")
bash "$here/scripts/install-python.sh" previous >/dev/null
bash "$here/scripts/install-fake-gcs-server.sh" >/dev/null
echo "[test:integration] pytest images/mlflow/tests"
mkdir -p "$here/.results"
# JUnit XML so scripts/test-all.ts counts these tests in the totals.
(cd "$repo" && PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider --junitxml "$here/.results/pytest.xml" images/mlflow/tests)
echo "[test:integration] vitest integration suites"
cd "$here" && exec npx vitest run --config vitest.integration.config.ts "$@"
