#!/usr/bin/env bash
# Debian/Ubuntu packages the tiers need, installed only when missing (apt-get update runs
# at most once). PostgreSQL (the distribution's version: 15 on Debian 12, 16 on Ubuntu 24.04)
# is the real database of the integration tier; a Chromium-family browser is what the e2e's
# UI phase drives (Debian's `chromium`; GitHub's Ubuntu runners ship Google Chrome, and
# Ubuntu's own chromium package is only a snap stub, so an installed Chrome counts). As a
# non-root user this uses sudo, and only for apt-get (GitHub's runners: user runner with
# passwordless sudo). Exit 1, naming the packages, when they are missing and cannot be installed.
set -euo pipefail
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v python3 >/dev/null || need+=(python3 python3-venv)
# The same names e2e/src/browser.ts looks for.
command -v chromium >/dev/null || command -v google-chrome >/dev/null || command -v google-chrome-stable >/dev/null || need+=(chromium)
[ ${#need[@]} -gt 0 ] || exit 0
sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo --non-interactive)
if [ ${#sudo[@]} -gt 0 ] && ! sudo --non-interactive true 2>/dev/null; then
  echo "[system] missing ${need[*]}, and $(id -un) is neither root nor allowed passwordless sudo: install them (apt-get install ${need[*]}); tiers that need them say so and are skipped" >&2
  exit 1
fi
echo "[system] installing ${need[*]}${sudo:+ (with sudo)}" >&2
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
