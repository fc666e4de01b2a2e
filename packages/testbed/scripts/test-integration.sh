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
# The image suite (test/image.integration.test.ts) runs on the image built from this tree:
# unless MLFLOW_IMAGE names one already, build it on the kind provider's Docker engine (starting
# the project's dockerd where none answers, as the e2e does) under the cluster lock (that engine
# is shared with the e2e); where no engine can be had, say why the suite is skipped.
started_engine=0
if [ -z "${MLFLOW_IMAGE:-}" ]; then
  echo "[test:integration] build images/mlflow for the image suite"
  # At most 20 min waiting for the lock (another e2e on this machine): then skip, loudly.
  if out=$(cd "$repo" && flock -w 1200 "${MLFLOW_K8S_CLUSTER_LOCK:-/tmp/mlflow-k8s-cluster.lock}" node "$here/scripts/build-image.ts"); then
    while IFS='=' read -r key value; do
      case "$key" in
        MLFLOW_IMAGE) export MLFLOW_IMAGE="$value" ;;
        DOCKER_HOST) [ -z "$value" ] || export DOCKER_HOST="$value" ;;
        STARTED_ENGINE) started_engine=$value ;;
      esac
    done <<<"$out"
    echo "[test:integration] MLFLOW_IMAGE=$MLFLOW_IMAGE"
  else
    echo "!!! [test:integration] the image suite will be SKIPPED: images/mlflow could not be built (see above), or the cluster lock stayed taken for 20 min" >&2
  fi
fi
# The project's dockerd, if started here, stops when the tier ends (its image cache stays).
[ "$started_engine" != 1 ] || trap 'node "$here/scripts/build-image.ts" --stop' EXIT
echo "[test:integration] vitest integration suites"
cd "$here" && npx vitest run --config vitest.integration.config.ts "$@"
