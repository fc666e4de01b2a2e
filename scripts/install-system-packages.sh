#!/usr/bin/env bash
# Debian/Ubuntu packages the tiers need, installed only when missing (apt-get update runs
# at most once). PostgreSQL (the distribution's version: 15 on Debian 12, 16 on Ubuntu 24.04)
# is the real database of the integration tier. As a non-root user this uses sudo, and only
# for apt-get (GitHub's runners: user runner with passwordless sudo).
set -euo pipefail
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v python3 >/dev/null || need+=(python3 python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo --non-interactive)
  echo "[system] installing ${need[*]}${sudo:+ (with sudo)}" >&2
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
