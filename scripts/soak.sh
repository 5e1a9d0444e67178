#!/usr/bin/env bash
# The test suite N times in a row (default 10) while a CPU hog runs beside it, on the
# Node.js npm runs (the pinned 24). Stops at the first failing run. Usage:
#   npm run soak            # 10 runs
#   npm run soak -- 3       # 3 runs
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
node -e 'for (;;) {}' &
hog=$!
trap 'kill "$hog" 2>/dev/null || true' EXIT
npm run build >/dev/null
for i in $(seq 1 "$runs"); do
  echo "--- soak run $i of $runs (CPU hog pid $hog beside it)"
  if ! npx vitest run; then
    echo "soak: run $i of $runs failed"
    exit 1
  fi
done
echo "soak: $runs of $runs runs passed beside a CPU hog"
