#!/usr/bin/env bash
# Builds CoreDNS (the kind node image's cluster DNS) from the Go module proxy, once per
# version, into $MLFLOW_K8S_CACHE/coredns/<version>/bin/coredns. Idempotent: a binary that is
# present and reports the pinned version is not rebuilt. Prints the binary's path on stdout.
#
# Why v1.12.1: the version kubeadm 1.34 names (`kubeadm config images list`), so the image is
# tagged exactly as kubeadm deploys it. `go install github.com/coredns/coredns@<v>` works as
# is (its go.mod has no replace directives) and builds the default plugin set. Flags:
# CGO_ENABLED=0 (a static binary that runs FROM scratch), -trimpath, -s -w, the commit in
# coremain.GitCommit as upstream's Makefile does.
#
# Env: MLFLOW_K8S_CACHE (default ~/.cache/mlflow-k8s), COREDNS_VERSION (default v1.12.1;
#      keep it equal to COREDNS_VERSION in src/layout.ts, a test checks).
set -euo pipefail

COREDNS_VERSION="${COREDNS_VERSION:-v1.12.1}"
CACHE="${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}"
OUT="$CACHE/coredns/$COREDNS_VERSION"
BIN="$OUT/bin"

log() { echo "[build-coredns] $*" >&2; }
die() { echo "[build-coredns] error: $*" >&2; exit 1; }

# Output captured first: with pipefail, `coredns -version | grep -q` fails whenever grep exits
# on the first line before coredns writes its second (SIGPIPE, exit 141), i.e. now and then.
have() { local out; [ -x "$BIN/coredns" ] && out=$("$BIN/coredns" -version 2>/dev/null) && [[ $out == *"CoreDNS-${COREDNS_VERSION#v}"* ]]; }

if have; then
  log "coredns $COREDNS_VERSION present in $BIN"
  echo "$BIN/coredns"
  exit 0
fi
command -v go >/dev/null || die "go is not on PATH (Go >= 1.24 is needed for CoreDNS $COREDNS_VERSION)"
mkdir -p "$BIN"

# The tag's commit, for `coredns -version` (as upstream's Makefile sets GITCOMMIT).
commit="$(GOFLAGS=-mod=mod go mod download -json "github.com/coredns/coredns@$COREDNS_VERSION" 2>/dev/null \
  | sed -n 's/.*"Hash": *"\([0-9a-f]\{7\}\).*/\1/p' | head -n1 || true)"

log "building github.com/coredns/coredns@$COREDNS_VERSION (CGO_ENABLED=0, -trimpath; a few minutes cold on 2 cores)"
start=$(date +%s)
tmp="$(mktemp -d "$OUT/.gobin-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-local}" \
  go install -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=${commit:-unknown}" \
  "github.com/coredns/coredns@$COREDNS_VERSION"
mv "$tmp/coredns" "$BIN/coredns"
secs=$(( $(date +%s) - start ))
printf '%s\t%s\t%s\t%s\n' "$COREDNS_VERSION" "$secs" "$(go env GOVERSION)" "$(date -u +%FT%TZ)" >> "$OUT/build-stats.tsv"
have || die "$BIN/coredns does not report CoreDNS-${COREDNS_VERSION#v} after the build"
log "built coredns $COREDNS_VERSION in ${secs}s ($(( $(stat -c %s "$BIN/coredns") / 1048576 )) MiB)"
echo "$BIN/coredns"
