#!/usr/bin/env bash
# Compiles requirements-previous.txt (the previous MLflow server the upgrade test starts
# from; every transitive pin, with hashes) from requirements-previous.in, exactly the way
# compile-requirements.sh compiles requirements.txt (requirements-lib.sh: the same uv and
# supported Pythons), then checks it installs on each of them.
# Not constrained by requirements.txt: an older MLflow pins older mlflow-skinny/-tracing.
# Never edit requirements-previous.txt by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/requirements-lib.sh"
compile_requirements "$here" requirements-previous.in requirements-previous.txt
check_requirements "$here" requirements-previous.txt
