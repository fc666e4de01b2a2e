#!/usr/bin/env bash
# Builds fake-gcs-server (a GCS emulator speaking the real JSON API) from the Go module
# proxy into $MLFLOW_K8S_CACHE/go/bin (default ~/.cache/mlflow-k8s). Idempotent.
# Prints the binary's path on stdout. Needs Go >= 1.26 (the go directive of its go.mod).
set -euo pipefail
VERSION=v1.56.1
cache="${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}"
bin="$cache/go/bin"
log() { echo "[install-fake-gcs-server] $*" >&2; }
mkdir -p "$bin"
if [ -x "$bin/fake-gcs-server" ] && [ "$(cat "$bin/fake-gcs-server.version" 2>/dev/null)" = "$VERSION" ]; then
  log "fake-gcs-server $VERSION present"
else
  command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
  log "building github.com/fsouza/fake-gcs-server@$VERSION (a few minutes on 2 cores)"
  start=$(date +%s)
  GOBIN="$bin" GOFLAGS=-trimpath CGO_ENABLED=0 go install "github.com/fsouza/fake-gcs-server@$VERSION"
  echo "$VERSION" > "$bin/fake-gcs-server.version"
  log "built in $(( $(date +%s) - start ))s"
fi
echo "$bin/fake-gcs-server"
