#!/usr/bin/env bash
# with-root.sh <command...>: runs a command that may drive the `local` cluster provider, which
# starts containerd, kubelet and iptables rules and so needs root. As root, for another provider
# (--provider or MLFLOW_K8S_PROVIDER), or off Linux, the command runs as it is. As a user with
# passwordless sudo (GitHub's runners), only this command runs under sudo, with the user's PATH,
# HOME, cache and environment, and the files it leaves in the repository (.results, artifacts,
# .state) are handed back to the user afterwards.
set -euo pipefail
provider=${MLFLOW_K8S_PROVIDER:-local}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --provider) provider=${args[i + 1]:-} ;;
    --provider=*) provider=${args[i]#--provider=} ;;
  esac
done
if [ "$(id -u)" = 0 ] || [ "$provider" != local ] || [ "$(uname -s)" != Linux ]; then exec "$@"; fi
if ! sudo -n true 2>/dev/null; then
  echo "[with-root] the local cluster provider needs root: run as root, or give $(id -un) passwordless sudo" >&2
  exec "$@"   # the provider then says what it cannot do
fi
echo "[with-root] running under sudo (the local cluster needs root): $*" >&2
status=0
# A user's PATH often lacks the sbin directories root's has (iptables, modprobe, ip live there).
sudo -n --preserve-env env "PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin" "HOME=$HOME" "MLFLOW_K8S_CACHE=${MLFLOW_K8S_CACHE:-$HOME/.cache/mlflow-k8s}" "$@" || status=$?
for out in .results artifacts .state; do
  [ -e "$out" ] && sudo -n chown -R "$(id -u):$(id -g)" "$out"
done
exit "$status"
