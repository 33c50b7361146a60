#!/usr/bin/env bash
# Install R and the packages the oracle tests compare against, from Debian's archive.
# Does nothing when they are already there. Needs root (or sudo) on a fresh machine.
set -euo pipefail
check='for (p in c("survey","mgcv","segmented","jsonlite")) library(p, character.only=TRUE)'
if command -v Rscript >/dev/null 2>&1 && Rscript -e "$check" >/dev/null 2>&1; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" "R and its packages" \
  r-base-core r-cran-survey r-cran-mgcv r-cran-segmented r-cran-jsonlite
Rscript -e "$check" >/dev/null
