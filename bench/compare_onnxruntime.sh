#!/usr/bin/env bash
# Inference on the CPU, ctnn beside ONNX Runtime (the engine users deploy to): the seed network
# and ResNet-18 with the CIFAR stem, batch 128, random inputs, the same thread count. ONNX
# Runtime (onnxruntime-node, scripts/install-onnxruntime) runs two files of each network:
#   ort(ctnn)   ctnn's own export (bench/onnx_export_models, io::export_onnx)
#   ort(torch)  PyTorch's torch.onnx.export of the same network (bench/onnx_export_torch.py:
#               ../shared/peers/seed_torch.py's CNN, bench/resnet_torch.py's ResNet-18)
# Weights differ (each side's own initialization), which doesn't change the work. The programs
# alternate ROUNDS times; the table shows medians and the ratios ctnn / ONNX Runtime.
#   bench/compare_onnxruntime.sh [BUILD_DIR]
#   env: THREADS=$(nproc) ROUNDS=5 STEPS=20 (seed) RESNET_STEPS=5; ONE_THREAD=1 (also 1 thread);
#        SPIN=0 (ONNX Runtime's pool threads sleep between runs; SPIN=1 is its default, slower
#        on a loaded 2-core machine); RESNET=1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-5}
steps=${STEPS:-20}
resnet_steps=${RESNET_STEPS:-5}
one_thread=${ONE_THREAD:-1}
[[ $threads == 1 ]] && one_thread=0
with_resnet=${RESNET:-1}
spin=${SPIN:-0}
python=/usr/bin/python3  # Debian's interpreter, where python3-torch lives
ort_dir=${CTNN_ONNXRUNTIME_DIR:-$root/.deps/onnxruntime}

[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" >/dev/null
cmake --build "$build" --target seed_throughput resnet_throughput onnx_export_models -j "$(nproc)" >/dev/null
"$root/scripts/install-onnxruntime"
models=$build/onnx_bench
mkdir -p "$models"
"$build/bench/onnx_export_models" "$models" >/dev/null
"$python" "$here/onnx_export_torch.py" "$models" "$root/../shared/peers/seed_torch.py" >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs=$tmp/runs  # one line per run: network|threads|engine|img/s

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
     "ctnn $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?'), onnxruntime-node" \
     "$(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$ort_dir/node_modules/onnxruntime-node/package.json" | head -1)"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: expect noise)"

# network threads engine command...: runs it, echoes its line, records the number.
measure() {
  local network=$1 t=$2 engine=$3
  shift 3
  local line
  line=$("$@" | grep -m1 'infer img/s')
  echo "  $network $engine: $line"
  echo "$network|$t|$engine|$(echo "$line" | sed -E 's/.*infer img\/s ([0-9]+).*/\1/')" >>"$runs"
}


networks=(seed)
[[ $with_resnet == 1 ]] && networks+=(cifar_resnet18)
thread_counts=("$threads")
[[ $one_thread == 1 ]] && thread_counts+=(1)
for ((i = 1; i <= rounds; i++)); do
  echo "== round $i of $rounds"
  for t in "${thread_counts[@]}"; do
    for network in "${networks[@]}"; do
      program=seed_throughput n=$steps
      [[ $network == cifar_resnet18 ]] && program=resnet_throughput n=$resnet_steps
      measure "$network" "$t" ctnn env OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS="$t" INFER_ONLY=1 STEPS="$n" \
        "$build/bench/$program"
      for exporter in ctnn torch; do
        measure "$network" "$t" "ort($exporter)" env NODE_PATH="$ort_dir/node_modules" SPIN="$spin" T="$t" STEPS="$n" \
          node "$here/onnxruntime_throughput.js" "$models/${exporter}_$network.onnx"
      done
    done
  done
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$python" - "$runs" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    network, t, engine, rate = line.strip().split("|")
    runs.setdefault((network, int(t)), {}).setdefault(engine, []).append(float(rate))
n = len(next(iter(next(iter(runs.values())).values())))
print(f"\n{'network':16}{'threads':>8}{'ctnn':>9}{'ort(ctnn)':>11}{'ort(torch)':>12}"
      f"{'ctnn/ort(ctnn)':>16}{'ctnn/ort(torch)':>17}   (inference img/s, batch 128, medians of {n} runs)")
for (network, t), engines in runs.items():
    m = {e: statistics.median(v) for e, v in engines.items()}
    print(f"{network:16}{t:8}{m['ctnn']:9.0f}{m['ort(ctnn)']:11.0f}{m['ort(torch)']:12.0f}"
          f"{m['ctnn'] / m['ort(ctnn)']:16.2f}{m['ctnn'] / m['ort(torch)']:17.2f}")
PY
