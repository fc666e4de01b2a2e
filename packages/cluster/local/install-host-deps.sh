#!/usr/bin/env bash
# Installs the Debian packages the `local` cluster provider runs on, only those
# missing. Needs root (apt-get). Safe to run again: does nothing when all are present.
#   containerd, runc            container runtime the kubelet talks to (CRI)
#   containernetworking-plugins bridge, host-local, portmap, loopback CNI plugins (/usr/lib/cni)
#   iptables, conntrack         kube-proxy (iptables mode) and our FORWARD rules
#   docker.io                   builds images (`docker build`), exported into containerd
#   debootstrap                 the Debian bookworm base image rootfs
#   busybox-static              a tiny static userland for test images
#   gcc, libc6-dev              the pause binary (gcc -static)
#   openssl                     certificates; time (/usr/bin/time) build measurements
#   kmod, iproute2, util-linux  modprobe, ip, mount/nsenter
set -euo pipefail
PKGS=(containerd runc containernetworking-plugins iptables conntrack docker.io debootstrap
      busybox-static gcc libc6-dev openssl time kmod iproute2 util-linux ca-certificates jq)

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
# Debian starts services on install where an init system runs; the provider runs its own
# containerd and dockerd with private state, so stop any the package manager started.
for svc in containerd docker; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" "$svc.socket" 2>/dev/null || true
  fi
done
echo "[install-host-deps] done" >&2
