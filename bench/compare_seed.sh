#!/usr/bin/env bash
# The seed network's CPU train-step and inference throughput, ctnn beside PyTorch in one run.
# Alternates the two ROUNDS times and reports medians and the ratio. PyTorch (Debian's
# python3-torch) runs in its best configuration on these machines: OMP_WAIT_POLICY=PASSIVE
# and the OpenBLAS variables unset (see ../shared/notes/toolchain.md); ctnn runs with the
# same thread count and wait policy.
#   bench/compare_seed.sh [BUILD_DIR]     (THREADS=2 ROUNDS=5 STEPS=20 by default)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-5}
steps=${STEPS:-20}
peer=${PEER:-$root/../shared/peers/seed_torch.py}
cmake --build "$build" --target seed_throughput -j "$(nproc)" >/dev/null
python=/usr/bin/python3  # Debian's interpreter, where python3-torch lives
common=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$threads" STEPS="$steps")
out=$(mktemp)
for ((i = 1; i <= rounds; i++)); do
  "${common[@]}" "$build/bench/seed_throughput" | tee -a "$out"
  "${common[@]}" T="$threads" "$python" "$peer" | tee -a "$out"
done
"$python" - "$out" <<'PY'
import re, statistics, sys
rows = {"ctnn": {"train": [], "infer": []}, "pytorch": {"train": [], "infer": []}}
for line in open(sys.argv[1]):
    m = re.match(r"(\w+) .*train img/s (\d+)\s+infer img/s (\d+)", line)
    if m and m.group(1) in rows:
        rows[m.group(1)]["train"].append(float(m.group(2)))
        rows[m.group(1)]["infer"].append(float(m.group(3)))
med = {k: {m: statistics.median(v[m]) for m in v} for k, v in rows.items()}
print(f"\n{'':10}{'train img/s':>14}{'infer img/s':>14}   (medians of {len(rows['ctnn']['train'])} runs)")
for k in ("ctnn", "pytorch"):
    print(f"{k:10}{med[k]['train']:14.0f}{med[k]['infer']:14.0f}")
print(f"ctnn/pytorch infer ratio: {med['ctnn']['infer'] / med['pytorch']['infer']:.2f}")
print(f"ctnn/pytorch train ratio: {med['ctnn']['train'] / med['pytorch']['train']:.2f}")
PY
rm -f "$out"
