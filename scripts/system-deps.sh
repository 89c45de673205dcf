#!/usr/bin/env bash
# System packages some tests need (the PDF rasteriser and headless Chromium).
# The CJK font for PDFs ships with the project (exchange/data/fonts, Apache-2.0).
# Installed when running as root (CI, containers); otherwise listed for you to install.
set -euo pipefail
need=()
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "Some tests need these system packages: ${need[*]} (e.g. sudo apt-get install ${need[*]})" >&2
fi
