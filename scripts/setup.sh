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
# The local cluster (the e2e tier's default provider) runs containerd/kubelet/iptables as root
# (scripts/with-root.sh). Its Debian packages need root too (sudo for a user with passwordless
# sudo); its builds run as whoever runs this. MLFLOW_K8S_SETUP_CLUSTER=0 (./dev when no local
# cluster will be used: other provider, or tiers without e2e) skips this part.
sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo -n)
if [ "${MLFLOW_K8S_SETUP_CLUSTER:-1}" = 0 ]; then
  echo "[setup] no local cluster needed: skipping its setup" >&2
elif [ "$(uname -s)" = Linux ] && { [ ${#sudo[@]} = 0 ] || sudo -n true 2>/dev/null; }; then
  step "local cluster: Debian packages (containerd, runc, CNI plugins, iptables, docker.io, debootstrap)" "${sudo[@]}" bash packages/cluster/local/install-host-deps.sh
  step "local cluster: Kubernetes binaries from the Go module proxy (cached; ~10 min cold)" bash packages/cluster/local/build-kubernetes.sh
  step "local cluster: CoreDNS from the Go module proxy (cached; ~4 min cold)" bash packages/cluster/local/build-coredns.sh
else
  echo "[setup] neither root nor passwordless sudo on Linux: skipping the local cluster's setup (the e2e tier will say it cannot run)" >&2
fi
