#!/usr/bin/env bash
# Creates a Python venv the integration tier runs MLflow from (--require-hashes, wheels only).
#
#   install-python.sh [current]   the pins the server image ships (images/mlflow/requirements.txt)
#                                 plus pytest for the entrypoint's unit tests
#                                 (images/mlflow/requirements-test.txt)
#                                 -> $MLFLOW_K8S_CACHE/venv-py<X.Y>-<hash of both files + interpreter>
#   install-python.sh previous    the previous MLflow the upgrade test starts from
#                                 (images/mlflow/requirements-previous.txt)
#                                 -> $MLFLOW_K8S_CACHE/venv-previous-py<X.Y>-<hash of that file + interpreter>
#
# Default cache ~/.cache/mlflow-k8s. A change of pins or of interpreter makes a new venv and
# an unchanged one is reused. Idempotent: a venv counts only once it is complete.
# Prints the venv's path on stdout (logs go to stderr).
#
# Env: MLFLOW_K8S_CACHE (cache root), MLFLOW_PYTHON (base interpreter, default python3;
# Python 3.11, 3.12 or 3.13: SUPPORTED_PYTHONS in images/mlflow/requirements-lib.sh, the
# versions the hashed requirement files are checked against).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req_dir=$(cd "$here/../../../images/mlflow" && pwd)
cache="${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}"
python="${MLFLOW_PYTHON:-python3}"
log() { echo "[install-python] $*" >&2; }
source "$req_dir/requirements-lib.sh"

case "${1:-current}" in
  current)  files=("$req_dir/requirements.txt" "$req_dir/requirements-test.txt"); prefix=venv ;;
  previous) files=("$req_dir/requirements-previous.txt"); prefix=venv-previous ;;
  *) log "usage: install-python.sh [current|previous]"; exit 2 ;;
esac
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
  || { log "cannot run MLFLOW_PYTHON=$python; set MLFLOW_PYTHON to a Python ${SUPPORTED_PYTHONS[*]}"; exit 1; }
case " ${SUPPORTED_PYTHONS[*]} " in
  *" $version "*) ;;
  *) log "MLFLOW_PYTHON=$python is Python $version; the requirement files are checked for Python ${SUPPORTED_PYTHONS[*]}: set MLFLOW_PYTHON to one of them"; exit 1 ;;
esac
# The key covers the interpreter (full version and install prefix) as well as the pins:
# a venv is bound to the interpreter it was made with, and numpy/scipy pins differ per version.
interpreter=$("$python" -c 'import sys; print(sys.version); print(sys.base_prefix)')
hash=$( (cat "${files[@]}"; echo "$interpreter") | sha256sum | cut -c1-16)
venv="$cache/$prefix-py$version-$hash"
mkdir -p "$cache"

exec 9>"$venv.lock"
flock 9   # two callers at once: the second waits, then finds the venv complete

if [ -f "$venv/.complete" ]; then
  log "venv up to date: $venv"
  echo "$venv"; exit 0
fi

log "creating $venv with $("$python" --version 2>&1)"
rm -rf "$venv"
"$python" -m venv "$venv"
start=$(date +%s)
# --no-deps: the files are complete locks that leave out what the server never imports
# (images/mlflow/requirements-excluded.in), exactly as the image installs them.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  --no-deps --require-hashes --only-binary=:all: \
  "${files[@]/#/--requirement=}"
"$venv/bin/python" -c 'import mlflow.server.handlers, psycopg2, google.cloud.storage, prometheus_flask_exporter; print("mlflow", mlflow.__version__)' >&2
touch "$venv/.complete"
log "installed in $(( $(date +%s) - start ))s"
echo "$venv"
