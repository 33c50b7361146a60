#!/usr/bin/env bash
# Install Debian packages quietly: scripts/apt-install.sh "what they are for" pkg...
# Used by install-r-deps.sh and install-test-deps.sh. Needs root (or sudo).
set -euo pipefail
what="$1"; shift
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "Installing $what from Debian: $*" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
