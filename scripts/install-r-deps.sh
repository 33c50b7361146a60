#!/usr/bin/env bash
# Install R and the packages the oracle tests compare against, from Debian's archive.
# Does nothing when they are already there. Needs root (or sudo) on a fresh machine.
set -euo pipefail
packages=(r-base-core r-cran-survey r-cran-mgcv r-cran-segmented r-cran-jsonlite)
check='for (p in c("survey","mgcv","segmented","jsonlite")) library(p, character.only=TRUE)'
if command -v Rscript >/dev/null 2>&1 && Rscript -e "$check" >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "Installing R and its packages from Debian: ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
Rscript -e "$check" >/dev/null
