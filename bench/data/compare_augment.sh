#!/usr/bin/env bash
# The seed's augmentation pipeline, ctnn beside torchvision, on the same 5000 CIFAR-10 images in
# one run. Alternates the two ROUNDS times and prints medians and ratios, on one thread and on
# all threads (ctnn: loader worker threads; torchvision: worker processes, as DataLoader uses).
# First checks that ctnn's crop/flip/rotation equal torchvision's on fixed parameters.
#   bench/data/compare_augment.sh [BUILD_DIR] [CIFAR10_DIR]   (ROUNDS=3, PASSES=20 by default)
# CIFAR10_DIR defaults to $CTNN_CIFAR10_DIR; make one with ../shared/data/make-cifar10 DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
data=${2:-${CTNN_CIFAR10_DIR:?give CIFAR10_DIR or set CTNN_CIFAR10_DIR}}
rounds=${ROUNDS:-3}
threads=$(nproc)
python=/usr/bin/python3  # Debian's interpreter, where python3-torchvision lives
cmake --build "$build" --target ctnn_augment_throughput ctnn_augment_crosscheck -j "$threads" >/dev/null
# torchvision's peers run as well as they can here: one torch thread per process, and the
# OpenBLAS variables this machine sets (they slow torch) unset for this command only.
peer=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 "$python" "$here/torchvision_augment.py" "$data")

xc=$(mktemp)
"$build/bench/data/ctnn_augment_crosscheck" "$xc"
echo "== semantics: ctnn crop+flip+rotation vs torchvision functional (fixed parameters)"
"$python" "$here/augment_crosscheck.py" "$xc" | tail -1
rm -f "$xc"

out=$(mktemp)
for ((i = 1; i <= rounds; i++)); do
  echo "== round $i"
  "$build/bench/data/ctnn_augment_throughput" "$data" | grep '^ctnn' | tee -a "$out"
  "${peer[@]}" nearest 1 | tee -a "$out"
  "${peer[@]}" bilinear 1 | tee -a "$out"
  "${peer[@]}" nearest "$threads" | tee -a "$out"
done
"$python" - "$out" "$threads" <<'PY'
import re, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    m = re.match(r"(.*): threads (\d+): (\d+) img/s", line)
    if m:
        rates.setdefault((m.group(1), int(m.group(2))), []).append(float(m.group(3)))
med = {k: statistics.median(v) for k, v in rates.items()}
T = int(sys.argv[2])
print(f"\n{'pipeline':58}{'threads':>8}{'img/s':>10}{'per thread':>12}   (medians of {len(next(iter(rates.values())))} runs)")
for (name, t), r in med.items():
    print(f"{name:58}{t:8}{r:10.0f}{r / t:12.0f}")
loader = "ctnn loader, seed transform, batch 128"
tv, tvb = "torchvision seed transform (nearest) + stack", "torchvision seed transform (bilinear) + stack"
print(f"ctnn/torchvision, 1 thread:  {med[(loader, 1)] / med[(tv, 1)]:.1f}x (vs torchvision with bilinear rotation: "
      f"{med[(loader, 1)] / med[(tvb, 1)]:.1f}x)")
print(f"ctnn/torchvision, {T} threads: {med[(loader, T)] / med[(tv, T)]:.1f}x")
print(f"target >= 20000 img/s per core: ctnn {med[(loader, 1)]:.0f} on 1 thread, {med[(loader, T)] / T:.0f} per thread on {T}")
PY
rm -f "$out"
