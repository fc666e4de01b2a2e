#!/usr/bin/env bash
# install-go-tool.sh <binary> <module/cmd@version>: `go install` a pinned tool from the
# Go module proxy into ~/.cache/mlflow-k8s/go/bin, once per version. CGO_ENABLED=0 in the
# environment makes a static binary (for tools copied into images) and is part of the stamp.
set -euo pipefail
name=$1 spec=$2
bin="${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}/go/bin"
mkdir -p "$bin"
stamp="$spec${CGO_ENABLED:+ CGO_ENABLED=$CGO_ENABLED}"
if [ -x "$bin/$name" ] && [ "$(cat "$bin/$name.version" 2>/dev/null)" = "$stamp" ]; then exit 0; fi
command -v go >/dev/null || { echo "go is required to build $name: install Go (https://go.dev/dl) or Debian's golang" >&2; exit 1; }
GOBIN="$bin" GOFLAGS=-p=1 go install "$spec"
echo "$stamp" > "$bin/$name.version"
