#!/usr/bin/env bash
# Runs every test of Messengers on a fresh Debian machine: installs what the tests need when it is missing
# (Redis, Chromium, PostgreSQL 15 binaries; npm packages), builds with warnings as errors, runs the test
# projects, and prints the totals as one line "N passed, N failed, N skipped".
# Test fixtures start their own throwaway PostgreSQL and Redis servers on loopback and stop them; this script
# leaves nothing running.
set -uo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql-15)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing: ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null \
    || { echo "could not install ${need_apt[*]}"; exit 1; }
  # Debian's packages start their services; the tests start their own servers.
  $SUDO service redis-server stop >/dev/null 2>&1 || true
  $SUDO service postgresql stop >/dev/null 2>&1 || true
fi

if [ -f tests/setup-npm.sh ]; then bash tests/setup-npm.sh || exit 1; fi

dotnet build Messengers.sln -c Release -warnaserror -nologo -v q || { echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
# The cluster tests start several host processes each (three silos, hundreds of bots): they run after the others and
# one at a time, so that on a small machine neither slows the other's waits into timeouts.
dotnet test Messengers.sln -c Release --no-build --nologo -p:RunClusterTests=false "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
dotnet test tests/Messengers.Cluster.Tests -c Release --no-build --nologo "$@" 2>&1 | tee -a "$log"
cluster=${PIPESTATUS[0]}
if [ "$cluster" -ne 0 ]; then status=$cluster; fi

# VSTest prints one summary line per test assembly: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ..."
read -r passed failed skipped < <(grep -E '(Passed|Failed)! +- +Failed: ' "$log" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
