#!/usr/bin/env bash
# with-root.sh <command...>: runs a command that may drive kind where no Docker engine answers
# (the project then starts its own dockerd, which needs root). As root, for another provider (--provider or
# MLFLOW_K8S_PROVIDER), with a Docker engine for kind, or off Linux, the command runs as it is. As a user with
# passwordless sudo (GitHub's runners), only this command runs under sudo, with the user's PATH,
# HOME, cache and environment, and the files it leaves in the repository (.results, artifacts,
# .state) and kubectl's and helm's directories in HOME are handed back to the user afterwards.
set -euo pipefail
provider=${MLFLOW_K8S_PROVIDER:-kind}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --provider) provider=${args[i + 1]:-} ;;
    --provider=*) provider=${args[i]#--provider=} ;;
  esac
done
# kind needs root only where no Docker engine answers (the project then starts its own dockerd).
needs_root=0
[ "$provider" = kind ] && ! docker info >/dev/null 2>&1 && needs_root=1
if [ "$(id -u)" = 0 ] || [ "$needs_root" = 0 ] || [ "$(uname -s)" != Linux ]; then exec "$@"; fi
if ! sudo -n true 2>/dev/null; then
  echo "[with-root] the $provider provider needs root here: run as root, or give $(id -un) passwordless sudo (or, for kind, a Docker engine)" >&2
  exec "$@"   # the provider then says what it cannot do
fi
echo "[with-root] running under sudo (the $provider provider needs root here): $*" >&2
status=0
# A user's PATH often lacks the sbin directories root's has (iptables, modprobe, ip live there).
sudo -n --preserve-env env "PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin" "HOME=$HOME" "MLFLOW_K8S_CACHE=${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}" "$@" || status=$?
# kubectl's and helm's caches and config in the user's HOME, made by root under sudo, would be
# root's afterwards: the user's own kubectl then warns "kuberc: permission denied" and helm cannot
# write its cache; so would the CA bundle the e2e copies into the image's build context, which
# a later build as the user (a Docker engine of its own) could not overwrite (EACCES). (The
# project dockerd's data root in the cache stays root's: only root uses it.)
for out in .results artifacts .state images/mlflow/build-ca-certificates.crt "$HOME/.kube" "$HOME/.cache/helm" "$HOME/.config/helm"; do
  if [ -e "$out" ]; then sudo -n chown -R "$(id -u):$(id -g)" "$out"; fi
done
exit "$status"
