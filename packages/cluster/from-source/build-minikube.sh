#!/usr/bin/env bash
# Builds minikube and its storage-provisioner from the Go module proxy, once per version, into
# $MLFLOW_K8S_CACHE/minikube/<version>/bin/{minikube,storage-provisioner}, and crictl (which
# minikube runs on its node; kicbase ships it, Debian bookworm has no package) next to them.
# Idempotent: binaries that are present and report the pinned version are not rebuilt. Prints
# the bin dir on stdout.
#
# Why a wrapper module: `go install k8s.io/minikube/cmd/minikube@v1.38.1` is refused here (the
# module proxy answers 403 for k8s.io/minikube's version list), while `go mod download` of the
# exact version works. The wrapper requires k8s.io/minikube at the release and imports the two
# commands; the release's go.mod has no replace directives (checked below), so nothing else is
# needed. Flags follow upstream's Makefile: minikube with cgo and `-tags libvirt_dlopen` (the kvm
# driver's libvirt binding is cgo-only; dlopen avoids linking libvirt), the version ldflags on
# k8s.io/minikube/pkg/version; the storage-provisioner CGO_ENABLED=0 static with
# k8s.io/minikube/pkg/storage.version. -p 1 bounds memory on small machines.
#
# The storage-provisioner gets a wrapper of its own: upstream never rebuilds it (its image tag
# stays v5, built in 2021), and built against the release's client-go v0.35.1 it dies at once
# ("Error creating lock: endpoints lock is removed, migrate to leases": the provisioner library
# v6.3.0 hard-codes that lock; v0.26.15 still refuses it: "migrate to endpointsleases"). Its
# wrapper pins client-go, api and apimachinery to v0.23.17, the last minor whose endpoints lock
# works, and kube-openapi to the version client-go v0.23.17 requires. (Endpoints is deprecated
# since Kubernetes 1.33 and still served by 1.34: the provisioner logs a warning per update.)
#
# Env: MLFLOW_K8S_CACHE (default ~/.cache/mlflow-k8s), MINIKUBE_VERSION (default v1.38.1, the
#      version .github/workflows/e2e.yml pins; keep MINIKUBE_VERSION in src/layout.ts equal),
#      CRICTL_VERSION (default v1.34.0, cri-tools of the Kubernetes minor built here; its go.mod
#      has no replace directives, so a plain `go install` builds it).
set -euo pipefail

MINIKUBE_VERSION="${MINIKUBE_VERSION:-v1.38.1}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.34.0}"
CACHE="${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}"
OUT="$CACHE/minikube/$MINIKUBE_VERSION"
BIN="$OUT/bin"
WORK="$OUT/wrapper"
SP_WORK="$OUT/provisioner-wrapper"
SP_CLIENT_GO=v0.23.17
SP_KUBE_OPENAPI=v0.0.0-20211115234752-e816edb12b65

log() { echo "[build-minikube] $*" >&2; }
die() { echo "[build-minikube] error: $*" >&2; exit 1; }

# Output captured first (a grep closing the pipe early would SIGPIPE the binary under pipefail).
have_minikube() { local v; [ -x "$BIN/minikube" ] && v=$("$BIN/minikube" version --short 2>/dev/null) && [ "$v" = "$MINIKUBE_VERSION" ]; }
have_crictl() { local v; [ -x "$BIN/crictl" ] && v=$("$BIN/crictl" --version 2>/dev/null) && [ "$v" = "crictl version $CRICTL_VERSION" ]; }
have_provisioner() { [ -x "$BIN/storage-provisioner" ] && [ "$(cat "$BIN/.storage-provisioner.version" 2>/dev/null)" = "$MINIKUBE_VERSION client-go $SP_CLIENT_GO" ]; }

if have_minikube && have_provisioner && have_crictl; then
  log "minikube $MINIKUBE_VERSION present in $BIN"
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || die "go is not on PATH (minikube $MINIKUBE_VERSION needs Go >= 1.25)"
command -v gcc >/dev/null || die "gcc is missing (apt-get install gcc): minikube's kvm driver is built with cgo"
mkdir -p "$BIN" "$WORK" "$SP_WORK"
export GOFLAGS="-trimpath -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log "fetching k8s.io/minikube@$MINIKUBE_VERSION from the module proxy"
info="$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "k8s.io/minikube@$MINIKUBE_VERSION")"
dir="$(sed -n 's/.*"Dir": *"\([^"]*\)".*/\1/p' <<<"$info" | head -n1)"
commit="$(sed -n 's/.*"Hash": *"\([0-9a-f]\{40\}\)".*/\1/p' <<<"$info" | head -n1)"
[ -f "$dir/go.mod" ] || die "could not download k8s.io/minikube@$MINIKUBE_VERSION from the Go module proxy"
# A replace directive in the release's go.mod would be ignored in a wrapper: stop rather than
# build something other than the release.
if grep -qE '^[[:space:]]*replace' "$dir/go.mod"; then
  die "k8s.io/minikube@$MINIKUBE_VERSION's go.mod has replace directives: copy them into $WORK/go.mod (as build-kubernetes.sh does for Kubernetes)"
fi
# Upstream's Makefile pins these next to the version (ISO_VERSION, STORAGE_PROVISIONER_TAG).
iso="$(sed -n 's/^ISO_VERSION ?= *//p' "$dir/Makefile")"
sp_tag="$(sed -n 's/^STORAGE_PROVISIONER_TAG ?= *//p' "$dir/Makefile")"
[ -n "$sp_tag" ] || die "cannot read STORAGE_PROVISIONER_TAG from k8s.io/minikube@$MINIKUBE_VERSION's Makefile"
go_line="$(sed -n 's/^go //p' "$dir/go.mod")"

gen="module mlflow-k8s.local/minikube-wrapper

go $go_line

require k8s.io/minikube $MINIKUBE_VERSION
"
if [ "$(cat "$WORK/go.mod.gen" 2>/dev/null)" != "$(printf '%s' "$gen")" ]; then
  printf '%s' "$gen" > "$WORK/go.mod"; printf '%s' "$gen" > "$WORK/go.mod.gen"; rm -f "$WORK/go.sum"
  printf '//go:build tools\n\n// Package tools pins the command this wrapper module builds.\npackage tools\n\nimport _ "k8s.io/minikube/cmd/minikube"\n' > "$WORK/tools.go"
  log "resolving the wrapper module (go mod tidy; downloads modules on a cold cache)"
  (cd "$WORK" && go mod tidy)
fi
sp_gen="$gen
replace (
	k8s.io/api => k8s.io/api $SP_CLIENT_GO
	k8s.io/apimachinery => k8s.io/apimachinery $SP_CLIENT_GO
	k8s.io/client-go => k8s.io/client-go $SP_CLIENT_GO
	k8s.io/kube-openapi => k8s.io/kube-openapi $SP_KUBE_OPENAPI
)
"
if [ "$(cat "$SP_WORK/go.mod.gen" 2>/dev/null)" != "$(printf '%s' "$sp_gen")" ]; then
  printf '%s' "$sp_gen" > "$SP_WORK/go.mod"; printf '%s' "$sp_gen" > "$SP_WORK/go.mod.gen"; rm -f "$SP_WORK/go.sum"
  printf '//go:build tools\n\n// Package tools pins the command this wrapper module builds.\npackage tools\n\nimport _ "k8s.io/minikube/cmd/storage-provisioner"\n' > "$SP_WORK/tools.go"
  log "resolving the storage-provisioner's wrapper module (client-go $SP_CLIENT_GO)"
  (cd "$SP_WORK" && go mod tidy)
fi

stats="$OUT/build-stats.tsv"
[ -f "$stats" ] || printf 'binary\tseconds\tmax_rss_kb\tgo\tdate\n' > "$stats"
build() { # build <name> <pkg> <cgo> <tags> <ldflags> <module dir>
  log "building $1 ($2)"
  (cd "$6" && CGO_ENABLED="$3" /usr/bin/time -f '%e %M' -o "$OUT/.time" \
     go build -p 1 -tags "$4" -ldflags "$5" -o "$BIN/.$1.tmp" "$2")
  local secs rss; read -r secs rss < "$OUT/.time"
  mv "$BIN/.$1.tmp" "$BIN/$1"
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$secs" "$rss" "$(go env GOVERSION)" "$(date -u +%FT%TZ)" >> "$stats"
  log "built $1 in ${secs}s (peak RSS $(( rss / 1024 )) MiB)"
}
V=k8s.io/minikube/pkg/version
have_minikube || build minikube k8s.io/minikube/cmd/minikube 1 libvirt_dlopen \
  "-s -w -X $V.version=$MINIKUBE_VERSION -X $V.isoVersion=$iso -X $V.gitCommitID=${commit:-unknown} -X $V.storageProvisionerVersion=$sp_tag" "$WORK"
if ! have_provisioner; then
  build storage-provisioner k8s.io/minikube/cmd/storage-provisioner 0 "" \
    "-s -w -X k8s.io/minikube/pkg/storage.version=$sp_tag" "$SP_WORK"
  echo "$MINIKUBE_VERSION client-go $SP_CLIENT_GO" > "$BIN/.storage-provisioner.version"
fi
echo "$sp_tag" > "$BIN/.storage-provisioner.tag"
if ! have_crictl; then
  log "building crictl $CRICTL_VERSION (sigs.k8s.io/cri-tools/cmd/crictl)"
  tmp="$(mktemp -d "$OUT/.gobin-XXXXXX")"
  GOBIN="$tmp" CGO_ENABLED=0 go install -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  mv "$tmp/crictl" "$BIN/crictl" && rm -rf "$tmp"
  have_crictl || die "$BIN/crictl does not report $CRICTL_VERSION after the build"
fi
have_minikube || die "$BIN/minikube does not report $MINIKUBE_VERSION after the build"
log "done: $("$BIN/minikube" version --short) in $BIN"
echo "$BIN"
