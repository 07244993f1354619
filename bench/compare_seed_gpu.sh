#!/usr/bin/env bash
# The seed network on one CUDA GPU: ctnn's CUDA backend (seed_throughput_cuda, fp32 NCHW,
# cuDNN's default math, so TF32 where the GPU has it; called eagerly, and replayed as a CUDA
# graph) beside PyTorch on the same device, eager fp32 and channels_last + AMP (fp16 autocast),
# at batch 128 and 512. The programs alternate ROUNDS times; the table shows medians and ctnn's
# ratio to each PyTorch mode.
#   bench/compare_seed_gpu.sh [BUILD_DIR]     (ROUNDS=3 STEPS=50 BATCHES="128 512";
#                                              PYTHON: an interpreter whose torch has CUDA)
# Where no GPU is visible it says so and exits with status 77, measuring nothing. Building
# needs nvcc and cuDNN (the ctnn::cuda target); see ../shared/notes/toolchain.md for GPU
# machines without a package registry.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
rounds=${ROUNDS:-3}
steps=${STEPS:-50}
batches=${BATCHES:-128 512}
if [[ -z ${PYTHON:-} ]]; then
  PYTHON=/usr/bin/python3
  python3 -c 'import torch' 2>/dev/null && PYTHON=$(command -v python3)
fi
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" >/dev/null
if ! cmake --build "$build" --target seed_throughput_cuda -j "$(nproc)" >/dev/null 2>&1; then
  echo "compare_seed_gpu.sh: seed_throughput_cuda did not build (the ctnn::cuda target needs nvcc and cuDNN)" >&2
  exit 1
fi
ctnn=$build/bench/seed_throughput_cuda
set +e
probe=$(BATCH=8 STEPS=1 "$ctnn")
status=$?
set -e
if [[ $status == 77 ]]; then
  echo "$probe"
  echo "compare_seed_gpu.sh: no GPU on this machine: nothing to compare"
  exit 77
elif [[ $status != 0 ]]; then
  echo "$probe"
  exit "$status"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1);" \
     "ctnn $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'); $("$PYTHON" -c 'import torch; print("torch", torch.__version__)')"
for ((i = 1; i <= rounds; i++)); do
  echo "== round $i of $rounds"
  for b in $batches; do
    BATCH=$b STEPS=$steps "$ctnn" | tee -a "$tmp/out"
    BATCH=$b STEPS=$steps GRAPH=1 "$ctnn" | tee -a "$tmp/out"
    BATCH=$b STEPS=$steps "$PYTHON" "$here/seed_torch_gpu.py" fp32 | tee -a "$tmp/out"
    BATCH=$b STEPS=$steps "$PYTHON" "$here/seed_torch_gpu.py" amp | tee -a "$tmp/out"
  done
done
"$PYTHON" - "$tmp/out" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(ctnn|pytorch) .*?(?: (fp32|amp))? batch (\d+): train img/s (\d+)\s+infer img/s (\d+)", line)
    if m:
        ctnn = "ctnn cuda graph" if line.startswith("ctnn cuda graph") else "ctnn cuda fp32"
        name = ctnn if m.group(1) == "ctnn" else f"pytorch {m.group(2)}"
        runs.setdefault((name, int(m.group(3))), []).append((float(m.group(4)), float(m.group(5))))
med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for k, v in runs.items()}
print(f"\n{'program':18}{'batch':>7}{'train img/s':>13}{'infer img/s':>13}   (medians of {len(next(iter(runs.values())))})")
for (name, b), (t, i) in sorted(med.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"{name:18}{b:7}{t:13.0f}{i:13.0f}")
for b in sorted({b for _, b in med}):
    for mine in ("ctnn cuda fp32", "ctnn cuda graph"):
        if (mine, b) not in med:
            continue
        c = med[(mine, b)]
        for peer in ("pytorch fp32", "pytorch amp"):
            if (peer, b) in med:
                p = med[(peer, b)]
                print(f"{mine}/{peer}, batch {b}: train {c[0] / p[0]:.2f}, infer {c[1] / p[1]:.2f}")
PY
