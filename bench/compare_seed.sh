#!/usr/bin/env bash
# The seed network on the CPU, ctnn beside its peers in one run: train-step and inference
# throughput (batch 128, Adam, random data), peak RSS, GFLOP/s and % of this machine's
# measured FMA peak, then the data pipeline's throughput and the compile-time budget. The
# programs alternate ROUNDS times; the table shows medians. Peers:
#   pytorch  Debian's python3-torch running ../shared/peers/seed_torch.py
#   dlib     bench/dlib_seed.cpp (Debian libdlib-dev), the same network written in dlib
# Each runs in its best configuration on these machines (see ../shared/notes/toolchain.md):
# OMP_WAIT_POLICY=PASSIVE, OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, and OpenBLAS as the
# BLAS of the BLAS-backed peers when it is installed (libopenblas0-pthread, picked through
# LD_LIBRARY_PATH for this command only: the system's BLAS alternative is left alone).
# ctnn runs with the same thread count and wait policy.
#   bench/compare_seed.sh [BUILD_DIR] [CIFAR10_DIR]
# Another network with the same probe on both sides: PROGRAM (ctnn's, in BUILD_DIR/bench) and
# PEER (the PyTorch script); ResNet-18 with the CIFAR stem:
#   PROGRAM=resnet_throughput PEER=bench/resnet_torch.py DLIB=0 DATA=0 COMPILE=0 STEPS=5 bench/compare_seed.sh
#   env: THREADS=$(nproc) ROUNDS=5 STEPS=20; ONE_THREAD=1 (also ctnn and pytorch on 1 thread),
#        DLIB=1, DATA=1 (needs CIFAR10_DIR or $CTNN_CIFAR10_DIR; made with
#        ../shared/data/make-cifar10 into BUILD_DIR/cifar10 when neither is given),
#        COMPILE=1 (bench/compile_time.sh, COMPILE_ROUNDS=3)
# The last line is "ctnn/pytorch train ratio: X.XX".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
threads=${THREADS:-$(nproc)}
rounds=${ROUNDS:-5}
steps=${STEPS:-20}
one_thread=${ONE_THREAD:-1}
[[ $threads == 1 ]] && one_thread=0
with_dlib=${DLIB:-1}
with_data=${DATA:-1}
with_compile=${COMPILE:-1}
peer=${PEER:-$root/../shared/peers/seed_torch.py}
program=${PROGRAM:-seed_throughput}
python=/usr/bin/python3  # Debian's interpreter, where python3-torch lives
[[ -x /usr/bin/time ]] || { echo "compare_seed.sh: needs GNU time (apt-get install time)" >&2; exit 1; }

targets=("$program" fma_peak)
[[ $with_dlib == 1 ]] && targets+=(dlib_seed)
[[ $with_data == 1 ]] && targets+=(ctnn_augment_throughput)
[[ -f $build/CMakeCache.txt ]] || cmake -S "$root" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build "$build" --target "${targets[@]}" -j "$(nproc)" >/dev/null
if [[ $with_dlib == 1 && ! -x $build/bench/dlib_seed ]]; then
  echo "(dlib_seed was not built: install libdlib-dev and reconfigure; dlib is left out)"
  with_dlib=0
fi

openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
blas_env=()
blas="the system libblas.so.3 ($(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3))"
if [[ -f $openblas/libblas.so.3 ]]; then
  blas_env=(LD_LIBRARY_PATH="$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  blas="OpenBLAS ($openblas)"
fi
common=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE STEPS="$steps")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs=$tmp/runs  # one line per run: name|threads|train|infer|rss_kb

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
     "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); ctnn $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg); ctnn: $program, peer: $peer"
echo "== peers' BLAS: $blas"

# name threads command...: runs it under GNU time, echoes its line, records the numbers.
measure() {
  local name=$1 t=$2
  shift 2
  /usr/bin/time -f "%M" -o "$tmp/rss" "$@" >"$tmp/out"
  local line
  line=$(grep -m1 'train img/s' "$tmp/out")
  echo "  $line  (peak RSS $(($(cat "$tmp/rss") / 1024)) MB)"
  [[ $name == ctnn ]] && grep -m1 'flops per image' "$tmp/out" >"$tmp/flops"
  echo "$line" | sed -E "s/.*train img\/s ([0-9]+) +infer img\/s ([0-9]+).*/$name|$t|\1|\2|$(cat "$tmp/rss")/" >>"$runs"
}

"$build/bench/fma_peak" | tee "$tmp/peak"

data=${2:-${CTNN_CIFAR10_DIR:-}}
if [[ $with_data == 1 && -z $data ]]; then
  data=$build/cifar10
  if [[ ! -f $data/data_batch_1.bin && -x $root/../shared/data/make-cifar10 ]]; then
    echo "== making CIFAR-10 binaries in $data (../shared/data/make-cifar10)"
    "$root/../shared/data/make-cifar10" "$data" >/dev/null
  fi
fi
if [[ $with_data == 1 && ! -f $data/data_batch_1.bin ]]; then
  echo "(no CIFAR-10 binaries in '$data': the data pipeline is left out; give CIFAR10_DIR or set CTNN_CIFAR10_DIR)"
  with_data=0
fi

for ((i = 1; i <= rounds; i++)); do
  echo "== round $i of $rounds"
  measure ctnn "$threads" "${common[@]}" OMP_NUM_THREADS="$threads" "$build/bench/$program"
  measure pytorch "$threads" "${common[@]}" "${blas_env[@]}" OMP_NUM_THREADS="$threads" T="$threads" "$python" "$peer"
  if [[ $with_dlib == 1 ]]; then
    measure dlib "$threads" "${common[@]}" "${blas_env[@]}" OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" \
      "$build/bench/dlib_seed"
  fi
  if [[ $one_thread == 1 ]]; then
    measure ctnn 1 "${common[@]}" OMP_NUM_THREADS=1 "$build/bench/$program"
    measure pytorch 1 "${common[@]}" "${blas_env[@]}" OMP_NUM_THREADS=1 T=1 "$python" "$peer"
  fi
  if [[ $with_data == 1 ]]; then
    PASSES=${DATA_PASSES:-4} "$build/bench/data/ctnn_augment_throughput" "$data" | grep '^ctnn loader' | tee -a "$tmp/data"
  fi
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ $with_compile == 1 ]]; then
  ROUNDS=${COMPILE_ROUNDS:-3} "$here/compile_time.sh" "$build" | tee "$tmp/compile"
fi

touch "$tmp/data" "$tmp/compile"
"$python" - "$runs" "$tmp/peak" "$tmp/flops" "$tmp/data" "$tmp/compile" "$threads" <<'PY'
import re, statistics, sys
runs_file, peak_file, flops_file, data_file, compile_file, T = sys.argv[1:]
T = int(T)
runs = {}
for line in open(runs_file):
    name, t, train, infer, rss = line.strip().split("|")
    runs.setdefault((name, int(t)), []).append((float(train), float(infer), int(rss) / 1024))
peak = {int(m.group(1)): float(m.group(2))
        for m in re.finditer(r"threads (\d+): ([\d.]+) GFLOP/s", open(peak_file).read())}
m = re.search(r"forward ([\d.]+) MFLOP, train ([\d.]+) MFLOP", open(flops_file).read())
fwd, trn = float(m.group(1)), float(m.group(2))
med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in runs.items()}
n = len(next(iter(runs.values())))
print(f"\n{'program':10}{'threads':>8}{'train img/s':>13}{'infer img/s':>13}{'train GFLOP/s':>15}"
      f"{'% FMA peak':>12}{'infer GFLOP/s':>15}{'peak RSS MB':>13}")
for (name, t), (train, infer, rss) in med.items():
    g = train * trn / 1e3
    pct = f"{100 * g / peak[t]:.0f} %" if t in peak else "?"
    print(f"{name:10}{t:8}{train:13.0f}{infer:13.0f}{g:15.1f}{pct:>12}{infer * fwd / 1e3:15.1f}{rss:13.0f}")
print(f"(medians of {n} alternating runs; FLOPs per image from the model summary: forward {fwd:.1f} M, "
      f"train step {trn:.1f} M; FMA peak measured by fma_peak: " +
      ", ".join(f"{p:.0f} GFLOP/s on {t} thread{'s' if t > 1 else ''}" for t, p in sorted(peak.items())) + ")")

rates = {}
for line in open(data_file):
    m = re.match(r"ctnn loader, seed transform, batch 128: threads (\d+): (\d+) img/s", line)
    if m:
        rates.setdefault(int(m.group(1)), []).append(float(m.group(2)))
if rates:
    one = statistics.median(rates.get(1, [0]))
    parts = [f"{statistics.median(v):.0f} img/s on {t} thread{'s' if t > 1 else ''}" for t, v in sorted(rates.items())]
    train = med[("ctnn", T)][0]
    print(f"data pipeline (ctnn loader, seed augmentation, batch 128): {', '.join(parts)}; "
          f"feeding ctnn's {train:.0f} train img/s takes {100 * train / one:.1f} % of one core")
for line in open(compile_file):
    if line.startswith("compile "):
        print(line.rstrip())

def ratio(a, b, i):
    return med[a][i] / med[b][i] if a in med and b in med else float("nan")
for t in sorted({t for _, t in med}, reverse=True):
    if ("dlib", t) in med:
        print(f"ctnn/dlib, {t} threads: train {ratio(('ctnn', t), ('dlib', t), 0):.2f}, "
              f"infer {ratio(('ctnn', t), ('dlib', t), 1):.2f}")
    print(f"ctnn/pytorch, {t} thread{'s' if t > 1 else ''}: train {ratio(('ctnn', t), ('pytorch', t), 0):.2f}, "
          f"infer {ratio(('ctnn', t), ('pytorch', t), 1):.2f}")
print(f"ctnn/pytorch train ratio: {ratio(('ctnn', T), ('pytorch', T), 0):.2f}")
PY
