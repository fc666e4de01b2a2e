#!/usr/bin/env bash
# Installs the real parts the integration and e2e tiers run against, idempotently:
# the Python venv with the image's pinned MLflow, the GCS emulator, kind, the OCI registry,
# and the parts of kind's node image built from source. Everything is cached under
# ~/.cache/mlflow-k8s, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { local name=$1; shift; local t=$SECONDS; echo "[setup] $name" >&2; "$@"; echo "[setup] $name done in $((SECONDS - t)) s" >&2; }
# Debian packages (PostgreSQL, a browser for the e2e's UI phase), with sudo when not root; a
# machine that cannot install them still runs the tiers that do not need them.
step "system packages (PostgreSQL, chromium)" bash scripts/install-system-packages.sh || echo "[setup] system packages missing: see above" >&2
step "python venv (images/mlflow/requirements.txt)" bash packages/testbed/scripts/install-python.sh
step "actionlint (workflow checks in the fast tier)" bash scripts/install-go-tool.sh actionlint github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
step "fake-gcs-server (the GCS emulator)" bash packages/testbed/scripts/install-fake-gcs-server.sh
# kind at the version the workflows pin, and the CNCF registry the e2e runs as kind's local
# registry (static, so it runs in any Debian image).
step "kind v0.31.0" bash scripts/install-go-tool.sh kind sigs.k8s.io/kind@v0.31.0
step "OCI registry (distribution v3.0.0)" env CGO_ENABLED=0 bash scripts/install-go-tool.sh registry github.com/distribution/distribution/v3/cmd/registry@v3.0.0
# The kind node image's parts, built from source where no Docker engine runs (no registry
# for kindest/node): Kubernetes (kubeadm, kubelet, the control plane, etcd), CoreDNS and
# kube-router. The Debian packages need root (sudo for a user with passwordless sudo; the
# commands that use them go through scripts/with-root.sh); the builds run as whoever runs this.
# MLFLOW_K8S_SETUP_CLUSTER=0 (./dev when they will not be used: kind on a Docker engine, or
# tiers without e2e) skips this part.
sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo -n)
if [ "${MLFLOW_K8S_SETUP_CLUSTER:-1}" = 0 ]; then
  echo "[setup] no node image to build: skipping its setup" >&2
elif [ "$(uname -s)" = Linux ] && { [ ${#sudo[@]} = 0 ] || sudo -n true 2>/dev/null; }; then
  step "kind on the project's dockerd: Debian packages (docker.io, iptables, debootstrap, gcc)" "${sudo[@]}" bash packages/cluster/from-source/install-host-deps.sh
  step "kind node image: Kubernetes from the Go module proxy (cached; ~10-20 min cold)" bash packages/cluster/from-source/build-kubernetes.sh
  step "kind node image: CoreDNS, the version kubeadm names (cached; ~4 min cold)" bash packages/cluster/from-source/build-coredns.sh
  # kube-router's firewall is the node image's NetworkPolicy engine (packages/cluster/kind/node-image/manifests/default-cni.yaml says why).
  step "kind node image: kube-router v2.1.0 (NetworkPolicy; cached)" env CGO_ENABLED=0 bash scripts/install-go-tool.sh kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v2.1.0
  step "kind node image: local-path-provisioner v0.0.30 (the default StorageClass; cached)" env CGO_ENABLED=0 bash scripts/install-go-tool.sh local-path-provisioner github.com/rancher/local-path-provisioner@v0.0.30
  # minikube runs on request only (MLFLOW_K8S_PROVIDER=minikube): its build takes ~10 min cold.
  # Not where the pinned release is on PATH already (GitHub's e2e.yml installs it).
  if [ "${MLFLOW_K8S_PROVIDER:-}" = minikube ] && [ "$(minikube version --short 2>/dev/null)" != v1.38.1 ]; then
    step "minikube v1.38.1, crictl, storage-provisioner from the Go module proxy (cached; ~10 min cold)" bash packages/cluster/from-source/build-minikube.sh
  fi
else
  echo "[setup] neither root nor passwordless sudo on Linux: skipping the kind node image's setup (the e2e tier will say whether it can run)" >&2
fi
