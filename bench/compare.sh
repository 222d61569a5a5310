#!/usr/bin/env bash
# Old vs new, side by side, in one run: the web-chat relay and the agent bridge of the pre-Orleans code (commit
# 906ea32, the last one on Messengers.Runtime) and of this checkout, embedded (SQLite + memory streams) and
# PostgreSQL + Redis (throwaway servers started by each bench), alternating old and new so that the machine's noise
# hits both. Each version runs its own bench/Messengers.Bench with the same knobs, so both measure the same thing.
#
#   bash bench/compare.sh                     # 2 rounds (old first, then new first), ~20 min on 2 cores
#   ROUNDS=1 RELAY_SECONDS=60 bash bench/compare.sh
#
# Knobs (environment):
#   OLD_COMMIT      the pre-migration commit (906ea32)
#   OLD_TREE        its git worktree, outside the repository (/tmp/messengers-906ea32; created when missing, never committed)
#   NEW_COMMIT      measure this commit of the new code from a worktree of its own (/tmp/messengers-<commit>) instead
#                   of this checkout, e.g. NEW_COMMIT=HEAD while others have uncommitted edits in src/
#   RESULTS         folder of the logs and the table (/tmp/messengers-compare-<time>)
#   ROUNDS          rounds; odd rounds run old first, even rounds new first (2)
#   CONFIGS         "embedded postgres"
#   RELAY_SECONDS   closed loop (sustained) and open loop duration of the relay, after the warm-up (30)
#   RELAY_WARMUP    relay warm-up, closed loop, not measured (20)
#   VISITORS, RATE  relay visitors (200) and the open loop's offered rate (1000 messages/s)
#   BRIDGE_SECONDS  each agent-bridge measurement (10)
#   SKIP_BUILD=1    use the binaries of an earlier run's build (the snapshots in $RESULTS/bin-*)
#   ONLY            "relay", "bridge" or both (default)
#
# Builds are copied to $RESULTS/bin-old and bin-new before measuring, so a rebuild of the checkout by someone else
# during the run changes nothing. Load average (1 min) is sampled every 5 s during each run and printed beside its
# figures. Remove the worktrees afterwards with: git worktree remove --force /tmp/messengers-906ea32 (and the
# NEW_COMMIT one).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
OLD_COMMIT=${OLD_COMMIT:-906ea32}
OLD_TREE=${OLD_TREE:-/tmp/messengers-906ea32}
RESULTS=${RESULTS:-/tmp/messengers-compare-$(date -u +%Y%m%dT%H%M%SZ)}
ROUNDS=${ROUNDS:-2}
CONFIGS=${CONFIGS:-embedded postgres}
RELAY_SECONDS=${RELAY_SECONDS:-30}
RELAY_WARMUP=${RELAY_WARMUP:-20}
VISITORS=${VISITORS:-200}
RATE=${RATE:-1000}
BRIDGE_SECONDS=${BRIDGE_SECONDS:-10}
ONLY=${ONLY:-relay,bridge}

NEW_TREE=$REPO
if [ -n "${NEW_COMMIT:-}" ]; then
  NEW_TREE=/tmp/messengers-$(git -C "$REPO" rev-parse --short "$NEW_COMMIT^{commit}")
  if [ ! -e "$NEW_TREE/.git" ]; then
    git -C "$REPO" worktree add --detach "$NEW_TREE" "$NEW_COMMIT"
  fi
fi

case "$OLD_TREE" in
  "$REPO"|"$REPO"/*) echo "OLD_TREE must be outside the repository ($REPO)" >&2; exit 2 ;;
esac

mkdir -p "$RESULTS"
echo "results in $RESULTS"

if [ ! -e "$OLD_TREE/.git" ]; then
  git -C "$REPO" worktree add --detach "$OLD_TREE" "$OLD_COMMIT"
fi
if [ "$(git -C "$OLD_TREE" rev-parse HEAD)" != "$(git -C "$REPO" rev-parse "$OLD_COMMIT^{commit}")" ]; then
  echo "$OLD_TREE is not at $OLD_COMMIT" >&2
  exit 2
fi

# The old bench's relay gets the same two client-side fixes as the new one (bench/compare-old-bench.patch, nothing
# under src/): its open loop stops sending while 2,000 messages await a reply (saturated, it piled up sockets until the
# process died of "Too many open files" / "Out of memory"), and its server CPU counts only its own PostgreSQL and
# redis-server (it counted every postgres and redis-server process of the machine).
if git -C "$OLD_TREE" apply --check "$REPO/bench/compare-old-bench.patch" 2>/dev/null; then
  git -C "$OLD_TREE" apply "$REPO/bench/compare-old-bench.patch"
elif ! git -C "$OLD_TREE" apply --reverse --check "$REPO/bench/compare-old-bench.patch" 2>/dev/null; then
  echo "bench/compare-old-bench.patch applies neither way to $OLD_TREE" >&2
  exit 2
fi

build() { # name tree
  local name=$1 tree=$2
  echo "building $name ($tree, $(git -C "$tree" rev-parse --short HEAD)$(git -C "$tree" diff --quiet HEAD -- src bench sql 2>/dev/null || echo ', with uncommitted changes'))"
  dotnet build "$tree/bench/Messengers.Bench" -c Release -nologo -v q >"$RESULTS/build-$name.log" 2>&1 || { tail -30 "$RESULTS/build-$name.log"; exit 1; }
  rm -rf "$RESULTS/bin-$name"
  cp -r "$tree/bench/Messengers.Bench/bin/Release/net10.0" "$RESULTS/bin-$name"
  { git -C "$tree" log -1 --format='%h %s' | cut -c1-100
    [ -z "$(git -C "$tree" status --porcelain -- src sql)" ] || echo "  + uncommitted changes: $(git -C "$tree" status --porcelain -- src sql | awk '{print $2}' | tr '\n' ' ')"
  } >"$RESULTS/bin-$name/BUILT-FROM.txt"
}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  build old "$OLD_TREE"
  build new "$NEW_TREE"
fi

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "old: $(cat "$RESULTS/bin-old/BUILT-FROM.txt" 2>/dev/null || echo '?')"
  echo "new: $(cat "$RESULTS/bin-new/BUILT-FROM.txt" 2>/dev/null || echo '?')"
  echo "nproc: $(nproc); cpu: $(lscpu | sed -n 's/^Model name: *//p'); memory: $(free -g | awk '/^Mem:/{print $2}') GiB; .NET $(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/{v=$2} END{print v}')"
  echo "knobs: RELAY_SECONDS=$RELAY_SECONDS RELAY_WARMUP=$RELAY_WARMUP VISITORS=$VISITORS RATE=$RATE BRIDGE_SECONDS=$BRIDGE_SECONDS ROUNDS=$ROUNDS"
} | tee "$RESULTS/machine.txt"

# cleanup <session id> <token>: stops what a bench process left running (only after a crash; a bench that ends
# normally stops its servers itself). Processes are picked by id: the bench's session, and postmasters whose
# environment carries the run's token; their throwaway data folders under /tmp go too.
cleanup() {
  local session=$1 token=$2 pid
  for pid in $(ps -eo pid=,sid= | awk -v s="$session" '$2 == s {print $1}'); do
    echo "  stopping leftover process $pid ($(cat /proc/$pid/comm 2>/dev/null))"
    kill "$pid" 2>/dev/null || true
  done
  for pid in $(ps -eo pid=,ppid=,comm= | awk '$2 == 1 && $3 == "postgres" {print $1}'); do
    if { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qx "MESSENGERS_COMPARE_RUN=$token"; then
      local folder
      folder=$(dirname "$(readlink "/proc/$pid/cwd")")
      echo "  stopping leftover PostgreSQL $pid ($folder)"
      kill -QUIT "$pid" 2>/dev/null || true
      sleep 2
      case "$folder" in /tmp/messengers-pg-*) rm -rf "$folder" ;; esac
    fi
  done
}

# run <log name> <version> <benchmark> [VAR=value ...]: one bench process, its load average sampled meanwhile.
run() {
  local name=$1 version=$2 benchmark=$3
  shift 3
  local log="$RESULTS/$name.log"
  echo "$(date -u +%H:%M:%S) $name (load $(cut -d' ' -f1-3 /proc/loadavg))"
  ( while true; do cut -d' ' -f1 /proc/loadavg; sleep 5; done ) >"$RESULTS/$name.load" &
  local sampler=$!
  local token="$name-$$-$RANDOM"
  # Its own session, so that whatever it leaves behind when it dies (its redis-server) can be found by session id;
  # its PostgreSQL (pg_ctl starts a session of its own) is found by MESSENGERS_COMPARE_RUN in its environment.
  (cd "$RESULTS" && exec setsid env MESSENGERS_COMPARE_RUN="$token" "$@" dotnet "$RESULTS/bin-$version/Messengers.Bench.dll" "$benchmark") >"$log" 2>&1 &
  local bench=$!
  local status=0
  wait "$bench" || status=$?
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  if [ "$status" != 0 ]; then
    echo "  $name failed (exit $status), see $log"
  fi
  cleanup "$bench" "$token"
  grep -E 'closed loop|open loop|chats in flight' "$log" | sed 's/^/  /' || true
}

for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="old new"; else order="new old"; fi
  if [[ $ONLY == *relay* ]]; then
    for config in $CONFIGS; do
      for version in $order; do
        run "relay-$config-$version-r$round" "$version" webchat-relay \
          BENCH_CONFIG="$config" BENCH_SECONDS="$RELAY_SECONDS" BENCH_WARMUP_SECONDS="$RELAY_WARMUP" \
          BENCH_VISITORS="$VISITORS" BENCH_RATE="$RATE"
      done
    done
  fi
  if [[ $ONLY == *bridge* ]]; then
    # The old bench cannot run PostgreSQL + Redis alone (it has only BENCH_SKIP_PRODUCTION): both versions run both
    # configurations in one process, one version after the other.
    for version in $order; do
      skip=0
      [[ $CONFIGS == *postgres* ]] || skip=1
      run "bridge-$version-r$round" "$version" agent-bridge \
        BENCH_SECONDS="$BRIDGE_SECONDS" BENCH_SKIP_PRODUCTION="$skip" BENCH_CONFIG="${CONFIGS// /,}"
    done
  fi
done

python3 "$REPO/bench/compare_table.py" "$RESULTS" | tee "$RESULTS/table.md"
echo "table: $RESULTS/table.md"
