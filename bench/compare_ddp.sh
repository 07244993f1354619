#!/usr/bin/env bash
# Data-parallel scaling on the CPU: the seed network's train step (Adam, random data) with the
# same total batch (BATCH, 128) run as RANKS ranks of 1 thread (mpirun) and as 1 rank of RANKS
# threads, ctnn (bench/ddp_throughput.cpp) beside PyTorch's DistributedDataParallel over gloo
# (bench/ddp_torch.py, with OpenBLAS where installed, as compare_seed.sh runs it), both with gradient buckets of BUCKET_MB (25, PyTorch's default); ctnn
# also with 1 MB buckets (more overlap). The programs alternate ROUNDS times and the table
# shows medians. The machine is shared and other builds load it: the load average is printed
# before and after, and only ratios within one run mean much.
#   bench/compare_ddp.sh [BUILD_DIR]      env: ROUNDS=5 STEPS=20 RANKS=2 BATCH=128 BUCKET_MB=25
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
rounds=${ROUNDS:-5}
ranks=${RANKS:-2}
bucket_mb=${BUCKET_MB:-25}
python=/usr/bin/python3  # Debian's interpreter, where python3-torch lives
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" --target ddp_throughput -j "$(nproc)" >/dev/null
mpirun=(mpirun -n "$ranks" --bind-to none)
# Open MPI refuses root unless told; PyTorch's processes aren't pinned, so neither are ctnn's.
[[ $(id -u) == 0 ]] && mpirun+=(--allow-run-as-root)
common=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE STEPS="${STEPS:-20}" BATCH="${BATCH:-128}"
        BUCKET_MB="$bucket_mb")
# PyTorch at its best here, as in compare_seed.sh: OpenBLAS for its Linear layers when installed.
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
torch_env=()
[[ -f $openblas/libblas.so.3 ]] && torch_env=(LD_LIBRARY_PATH="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
     "ctnn $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), $(mpirun --version | head -1)"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg); PyTorch's BLAS: ${torch_env[*]:-the system BLAS}"
# name command...: runs it, echoes and records its img/s (a failed run is shown and left out).
measure() {
  local name=$1
  shift
  local line status=0
  "$@" >"$tmp/out" 2>&1 || status=$?
  if ! line=$(grep -m1 'train img/s' "$tmp/out"); then
    echo "  $name: FAILED (status $status), left out:"
    tail -5 "$tmp/out" | sed 's/^/    /'
    return 0
  fi
  echo "  $name: $line"
  echo "$name|$(echo "$line" | sed -E 's/.*train img\/s ([0-9]+).*/\1/')" >>"$tmp/runs"
}
for ((i = 1; i <= rounds; i++)); do
  echo "== round $i of $rounds"
  measure "ctnn 1 x $ranks threads" "${common[@]}" OMP_NUM_THREADS="$ranks" "$build/bench/ddp_throughput"
  measure "ctnn $ranks x 1 thread" "${mpirun[@]}" "${common[@]}" OMP_NUM_THREADS=1 "$build/bench/ddp_throughput"
  measure "ctnn $ranks x 1 thread, 1 MB buckets" "${mpirun[@]}" "${common[@]}" BUCKET_MB=1 OMP_NUM_THREADS=1 \
    "$build/bench/ddp_throughput"
  measure "pytorch 1 x $ranks threads" "${common[@]}" "${torch_env[@]}" R=1 T="$ranks" OMP_NUM_THREADS="$ranks" "$python" "$here/ddp_torch.py"
  measure "pytorch $ranks x 1 thread" "${common[@]}" "${torch_env[@]}" R="$ranks" T=1 OMP_NUM_THREADS=1 "$python" "$here/ddp_torch.py"
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$python" - "$tmp/runs" "$ranks" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, rate = line.strip().split("|")
    runs.setdefault(name, []).append(float(rate))
R = sys.argv[2]
med = {k: statistics.median(v) for k, v in runs.items()}
print(f"\n{'configuration':40}{'train img/s (median)':>22}{'runs':>6}")
for k, v in med.items():
    print(f"{k:40}{v:22.0f}{len(runs[k]):6}")
for who in ("ctnn", "pytorch"):
    a, b = med.get(f"{who} {R} x 1 thread"), med.get(f"{who} 1 x {R} threads")
    if a and b:
        print(f"{who}: {R} ranks x 1 thread / 1 rank x {R} threads = {a / b:.2f}")
c, p = med.get(f"ctnn {R} x 1 thread"), med.get(f"pytorch {R} x 1 thread")
if c and p:
    print(f"ctnn/pytorch, {R} ranks x 1 thread: {c / p:.2f}")
PY
