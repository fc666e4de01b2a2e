#!/usr/bin/env bash
# Re-compiles requirements.txt (every transitive pin of the server, with hashes) from
# requirements.in, and requirements-test.txt (pytest for the entrypoint tests) with
# requirements.txt as constraints, then checks both install with --require-hashes on every
# supported Python (requirements-lib.sh). Never edit the .txt files by hand.
# Uses uv from PyPI in a private venv under ~/.cache/mlflow-k8s/tools.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/requirements-lib.sh"
compile_requirements "$here" requirements.in requirements.txt
compile_requirements "$here" requirements-test.in requirements-test.txt --constraint requirements.txt
check_requirements "$here" requirements.txt requirements-test.txt
