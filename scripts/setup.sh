#!/usr/bin/env bash
# Installs the real parts the integration and e2e tiers run against, idempotently:
# the Python venv with the image's pinned MLflow, the GCS emulator, and the local
# cluster's host packages and Kubernetes binaries. Everything is cached under
# ~/.cache/mlflow-k8s, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { local name=$1; shift; local t=$SECONDS; echo "[setup] $name" >&2; "$@"; echo "[setup] $name done in $((SECONDS - t)) s" >&2; }
step "python venv (images/mlflow/requirements.txt)" bash packages/testbed/scripts/install-python.sh
step "actionlint (workflow checks in the fast tier)" bash scripts/install-go-tool.sh actionlint github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
step "fake-gcs-server (the GCS emulator)" bash packages/testbed/scripts/install-fake-gcs-server.sh
# The local cluster (the e2e tier's default provider) needs root for containerd/kubelet/iptables.
if [ "$(id -u)" = 0 ] && [ "$(uname -s)" = Linux ]; then
  step "local cluster: Debian packages (containerd, runc, CNI plugins, iptables, docker.io, debootstrap)" bash packages/cluster/local/install-host-deps.sh
  step "local cluster: Kubernetes binaries from the Go module proxy (cached; ~10 min cold)" bash packages/cluster/local/build-kubernetes.sh
  step "local cluster: CoreDNS from the Go module proxy (cached; ~4 min cold)" bash packages/cluster/local/build-coredns.sh
else
  echo "[setup] not root on Linux: skipping the local cluster's setup (the e2e tier will say it cannot run)" >&2
fi
