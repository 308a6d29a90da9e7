#!/usr/bin/env bash
# Run the test suite N times in a row while CPU hogs keep every core busy; stop at the first
# failing run. Proves the tests wait on conditions, not on timing (issue 12, item 7).
#
#   scripts/stress-test.sh [N] [pytest args...]     N defaults to 5; the pytest args default to the
#                                                   whole suite (tests/)
#   scripts/stress-test.sh 1 tests/unit/test_fills.py -x
#
# Environment: PYTHON (default .venv/bin/python, after scripts/setup.sh dev when it is missing),
# STRESS_HOGS (default: the number of cores), STRESS_RUN_TIMEOUT (seconds per run, default 3600),
# STRESS_LOG_DIR (default a new temporary directory; one log per run is kept there).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=5
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
if [[ $runs -lt 1 ]]; then
  echo "stress-test: N must be at least 1" >&2
  exit 2
fi
if [[ $# -eq 0 ]]; then
  set -- tests/
fi

python=${PYTHON:-.venv/bin/python}
if [[ -z ${PYTHON:-} && ! -x $python ]]; then
  scripts/setup.sh dev
fi
hogs=${STRESS_HOGS:-$(nproc)}
run_timeout=${STRESS_RUN_TIMEOUT:-3600}
log_dir=${STRESS_LOG_DIR:-$(mktemp -d -t pmbot-stress.XXXXXX)}
mkdir -p "$log_dir"

hog_pids=()
stop_hogs() {
  local pid
  for pid in "${hog_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${hog_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  hog_pids=()
}
trap stop_hogs EXIT
trap 'stop_hogs; exit 130' INT
trap 'stop_hogs; exit 143' TERM

for ((i = 0; i < hogs; i++)); do
  yes >/dev/null &
  hog_pids+=($!)
done
echo "stress-test: $runs run(s) of pytest $*, $hogs CPU hog(s) (pids ${hog_pids[*]}), logs in $log_dir"

for ((run = 1; run <= runs; run++)); do
  log="$log_dir/run-$run.log"
  started=$SECONDS
  status=0
  timeout --kill-after=30 "$run_timeout" \
    "$python" -m pytest -q -p no:cacheprovider "$@" >"$log" 2>&1 || status=$?
  took=$((SECONDS - started))
  # pytest's last line: "== 12 passed, 1 skipped in 3.21s ==" (or the timeout's silence)
  summary=$(grep -E '(passed|failed|error|no tests ran)' "$log" | tail -n 1 | tr -d '=' |
    sed -e 's/^ *//' -e 's/ *$//')
  if [[ $status -eq 0 ]]; then
    echo "run $run/$runs: PASS in ${took}s (${summary:-no summary}) log: $log"
  else
    why="exit $status"
    [[ $status -eq 124 || $status -eq 137 ]] && why="timed out after ${run_timeout}s"
    echo "run $run/$runs: FAIL ($why) in ${took}s (${summary:-no summary}) log: $log"
    grep -E '^(FAILED|ERROR) ' "$log" | head -n 20 || true
    exit 1
  fi
done
echo "stress-test: all $runs run(s) passed under load"
