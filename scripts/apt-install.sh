#!/usr/bin/env bash
# Install Debian packages quietly: scripts/apt-install.sh "what they are for" pkg...
# Used by install-r-deps.sh and install-test-deps.sh. Needs root (or sudo).
# Another apt or dpkg at work (unattended upgrades, a parallel install) holds the dpkg
# lock: wait for it (up to APT_LOCK_TIMEOUT seconds, default 600) instead of failing.
set -euo pipefail
what="$1"; shift
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
wait_lock=(-o "DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT:-600}")
echo "Installing $what from Debian: $*" >&2
export DEBIAN_FRONTEND=noninteractive
# the lists lock of 'update' is not covered by DPkg::Lock::Timeout on every apt: retry it
for try in 1 2 3 4 5 6; do
  if $sudo apt-get "${wait_lock[@]}" update -qq; then break; fi
  if [ "$try" = 6 ]; then echo "apt-get update failed 6 times" >&2; exit 1; fi
  echo "apt-get update failed (another apt running?); retrying in 20 s" >&2; sleep 20
done
$sudo apt-get "${wait_lock[@]}" install -y -qq --no-install-recommends "$@" >/dev/null
