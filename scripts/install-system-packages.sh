#!/usr/bin/env bash
# Debian packages the tiers need, installed only when missing (apt-get update runs
# at most once). PostgreSQL 15 is the real database of the integration tier.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v python3 >/dev/null || need+=(python3 python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "[system] installing ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
