#!/usr/bin/env bash
# Failover time of a three-silo cluster: runs the cluster test that spreads 300 Telegram bots over three host
# processes (one PostgreSQL, one Redis, the fake Bot API, all on loopback) and kills the silo holding the most with
# SIGKILL, RUNS times (default 3). Each run records the seconds from the kill until every bot had polled again (the
# slowest bot), and how many bots the killed silo held; the script prints each run, the median and the worst.
# Needs the servers the test suite installs (run `bash tests/run.sh` once on a new machine). SKIP_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
results=$(mktemp)
if [[ "${SKIP_BUILD:-}" != "1" ]]; then
  dotnet build tests/Messengers.Cluster.Tests -c Release -v quiet -nologo >/dev/null
fi
for run in $(seq "$runs"); do
  echo "run $run of $runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  FAILOVER_RESULTS="$results" dotnet test tests/Messengers.Cluster.Tests -c Release --no-build \
    --filter "FullyQualifiedName~TelegramFailoverTests" -v quiet -nologo | grep -E "Passed!|Failed!" || true
done
python3 - "$results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
if not rows:
    sys.exit("no run recorded a failover time (did the test fail?)")
times = [float(r[0]) for r in rows]
for i, (t, held) in enumerate(rows, 1):
    print(f"run {i}: every bot polling again {t} s after the kill; the killed silo held {held} of 300 bots")
print(f"failover over {len(times)} runs: median {statistics.median(times):.1f} s, worst {max(times):.1f} s")
PY
rm -f "$results"
