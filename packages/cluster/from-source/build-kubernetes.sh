#!/usr/bin/env bash
# Builds the upstream Kubernetes server binaries (and etcd) from the Go module proxy,
# once, into $MLFLOW_K8S_CACHE/kubernetes/<version>/bin. Idempotent: a binary that is
# present and reports the pinned version is not rebuilt.
#
# Why a wrapper module: `go install k8s.io/kubernetes/cmd/...@v1.34.4` is refused
# because k8s.io/kubernetes' go.mod replaces its k8s.io/* staging modules with local
# directories. The wrapper requires k8s.io/kubernetes at the release and replaces each
# staging module (list taken from the release's own go.mod) with its published
# v0.<minor>.<patch>. Flags follow upstream's build: CGO_ENABLED=0, -trimpath,
# tags selinux,notest, version ldflags. One binary at a time with -p 1 to bound memory.
#
# Env: MLFLOW_K8S_CACHE (default ~/.cache/mlflow-k8s), K8S_VERSION (default v1.34.4),
#      ETCD_VERSION (default: the etcd kubeadm of that release deploys, DefaultEtcdVersion in
#      cmd/kubeadm/app/constants; built in a wrapper module of its own, so the Kubernetes
#      binaries keep the etcd client version the release itself requires).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
CACHE="${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}"
OUT="$CACHE/kubernetes/$K8S_VERSION"
BIN="$OUT/bin"
WORK="$OUT/wrapper"
ETCD_WORK="$OUT/etcd-wrapper"
STATS="$OUT/build-stats.tsv"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubeadm kubectl etcd)

log() { echo "[build-kubernetes] $*" >&2; }
die() { echo "[build-kubernetes] error: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH (install Go >= 1.24: Debian's golang is too old; use the toolchain from go.dev or your CI's setup-go)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time); it measures each binary's build"

# Node >= 22.18 runs the TypeScript go.mod generator directly (type stripping).
NODE="$(command -v node || true)"
if [ -z "$NODE" ] || ! "$NODE" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)'; then
  NODE="$CACHE/tools/bin/node"
  [ -x "$NODE" ] || die "Node >= 22.18 is needed to generate the wrapper go.mod: run 'source scripts/bootstrap.sh' first"
fi

want_version() { # want_version <binary>: prints the version line we expect from --version
  case "$1" in
    etcd) echo "etcd Version: ${ETCD_VERSION#v}" ;;
    *) echo "$K8S_VERSION" ;;
  esac
}

version_of() { # version_of <binary>: what the built binary says of its version
  case "$1" in
    kubectl) "$BIN/$1" version --client 2>/dev/null ;;
    kubeadm) "$BIN/$1" version -o short 2>/dev/null ;;
    *) "$BIN/$1" --version 2>/dev/null ;;
  esac
}

have() { # have <binary>: present and reporting the pinned version
  # (captured first: grep -q closing the pipe early would SIGPIPE the binary under pipefail)
  [ -x "$BIN/$1" ] || return 1
  local v; v="$(version_of "$1")" || true
  grep -qF "$(want_version "$1")" <<<"$v"
}

mkdir -p "$BIN" "$WORK" "$ETCD_WORK"
export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

log "fetching k8s.io/kubernetes@$K8S_VERSION's go.mod from the module proxy"
read -r UPSTREAM_MOD UPSTREAM_DIR < <(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);if(j.Error){console.error(j.Error);process.exit(1)}console.log(j.GoMod+" "+j.Dir)})')
[ -f "$UPSTREAM_MOD" ] || die "could not download k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"
INFO="${UPSTREAM_MOD%.mod}.info"
BUILD_DATE="$("$NODE" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).Time.replace(/\.\d+Z$/,"Z"))' "$INFO")"
if [ -z "${ETCD_VERSION:-}" ]; then
  # kubeadm's etcd image tag is "<version>-<revision>", e.g. 3.6.5-0.
  ETCD_VERSION="v$(sed -n 's/^[[:space:]]*DefaultEtcdVersion = "\([0-9.]*\)-[0-9]*"/\1/p' "$UPSTREAM_DIR/cmd/kubeadm/app/constants/constants.go")"
  [ "$ETCD_VERSION" != v ] || die "cannot read DefaultEtcdVersion from kubeadm's constants in k8s.io/kubernetes@$K8S_VERSION: set ETCD_VERSION"
fi

missing=()
for b in "${BINARIES[@]}"; do have "$b" || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  log "all binaries present in $BIN ($K8S_VERSION, etcd $ETCD_VERSION)"
  exit 0
fi

"$NODE" "$HERE/../src/gomod.ts" "$UPSTREAM_MOD" "$K8S_VERSION" > "$WORK/go.mod.new"
{
  echo "//go:build tools"; echo; echo "// Package tools pins the commands this wrapper module builds."
  echo "package tools"; echo; echo "import ("
  for b in "${BINARIES[@]}"; do [ "$b" = etcd ] || echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done
  echo ")"
} > "$WORK/tools.go.new"
# Re-resolve when the release's go.mod or the list of commands changed.
if ! cmp -s "$WORK/go.mod.new" "$WORK/go.mod.gen" 2>/dev/null || ! cmp -s "$WORK/tools.go.new" "$WORK/tools.go" 2>/dev/null; then
  cp "$WORK/go.mod.new" "$WORK/go.mod" && cp "$WORK/go.mod.new" "$WORK/go.mod.gen" && rm -f "$WORK/go.sum"
  mv "$WORK/tools.go.new" "$WORK/tools.go"
  log "resolving the wrapper module (go mod tidy; downloads modules on a cold cache)"
  t0=$(date +%s)
  (cd "$WORK" && go mod tidy)
  log "go mod tidy took $(( $(date +%s) - t0 ))s"
fi
rm -f "$WORK/go.mod.new" "$WORK/tools.go.new"

# etcd alone: a wrapper module that requires etcd's server module at kubeadm's version (its
# own replace directives apply only when it is the main module, so they do not get in the way).
if [[ " ${missing[*]} " == *" etcd "* ]] && [ "$(cat "$ETCD_WORK/version" 2>/dev/null)" != "$ETCD_VERSION" ]; then
  rm -f "$ETCD_WORK/go.sum"
  printf 'module mlflow-k8s/etcd-wrapper\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$(go env GOVERSION | sed 's/^go//; s/\.[0-9]*$//')" "$ETCD_VERSION" > "$ETCD_WORK/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$ETCD_WORK/tools.go"
  log "resolving etcd $ETCD_VERSION's wrapper module"
  (cd "$ETCD_WORK" && go mod tidy)
  echo "$ETCD_VERSION" > "$ETCD_WORK/version"
fi

LDFLAGS="-s -w $("$NODE" "$HERE/../src/gomod.ts" --ldflags "$K8S_VERSION" "$BUILD_DATE")"
ETCD_LDFLAGS="-s -w"
[ -f "$STATS" ] || printf 'binary\tseconds\tmax_rss_kb\tgo\tdate\n' > "$STATS"
total=0
for b in "${missing[@]}"; do
  if [ "$b" = etcd ]; then pkg="go.etcd.io/etcd/server/v3"; flags="$ETCD_LDFLAGS"; else pkg="k8s.io/kubernetes/cmd/$b"; flags="$LDFLAGS"; fi
  dir="$WORK"; [ "$b" = etcd ] && dir="$ETCD_WORK"
  log "building $b ($pkg)"
  (cd "$dir" && /usr/bin/time -f '%e %M' -o "$OUT/.time" \
     go build -p 1 -tags selinux,notest -ldflags "$flags" -o "$BIN/.$b.tmp" "$pkg")
  read -r secs rss < "$OUT/.time"
  mv "$BIN/.$b.tmp" "$BIN/$b"
  printf '%s\t%s\t%s\t%s\t%s\n' "$b" "$secs" "$rss" "$(go env GOVERSION)" "$(date -u +%FT%TZ)" >> "$STATS"
  log "built $b in ${secs}s (peak RSS of one build process: $(( rss / 1024 )) MiB)"
  total=$(awk -v a="$total" -v b="$secs" 'BEGIN{print a+b}')
done
log "done: ${#missing[@]} binaries in ${total}s; stats in $STATS"
for b in "${BINARIES[@]}"; do have "$b" || die "$b does not report $(want_version "$b") after the build"; done
