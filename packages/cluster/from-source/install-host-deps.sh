#!/usr/bin/env bash
# Installs the Debian packages the kind cluster needs where no Docker engine runs (the
# project then starts its own dockerd) and the from-source builds need, only those missing.
# Needs root (apt-get). Safe to run again: does nothing when all are present.
#   docker.io (+ containerd, runc)  the project's dockerd, which runs kind's nodes and builds images
#   iptables                        dockerd's networks (kind's bridge network)
#   debootstrap                     the Debian bookworm base image rootfs (no registry to pull one)
#   gcc, libc6-dev                  the pause binary (gcc -static)
#   time                            /usr/bin/time: peak memory of the from-source builds
#   ca-certificates                 HTTPS to the Go module proxy, PyPI and Debian
set -euo pipefail
PKGS=(docker.io containerd runc iptables debootstrap gcc libc6-dev time ca-certificates)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[install-host-deps] all present: ${PKGS[*]}" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "[install-host-deps] error: missing ${missing[*]}; run as root: sudo $0" >&2
  exit 1
fi
echo "[install-host-deps] installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Refresh the lists only when they are absent or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  apt-get update -q
fi
# --no-install-recommends: docker.io would otherwise pull in extra tooling we don't use.
apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts services on install where an init system runs; the project runs its own
# dockerd with private state, so stop any the package manager started.
for svc in containerd docker; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" "$svc.socket" 2>/dev/null || true
  fi
done
echo "[install-host-deps] done" >&2
