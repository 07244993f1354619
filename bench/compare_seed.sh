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
#        COMPILE=1 (bench/compile_time.sh, COMPILE_ROUNDS=3),
#        ISAS="AVX2 ALL": each round runs ctnn and pytorch once per oneDNN ISA cap in the list
#        (ONEDNN_MAX_CPU_ISA and DNNL_MAX_CPU_ISA, which both PyTorch's oneDNN and ctnn's
#        honour; fma_peak too), so an AVX-512 machine also stands in for an AVX2-only one in the
#        same run. Unset: no cap. dlib, on OpenBLAS, runs uncapped only.
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
read -r -a isas <<<"${ISAS:-}"
[[ ${#isas[@]} == 0 ]] && isas=(native)  # native: no cap
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
runs=$tmp/runs  # one line per run: name|isa|threads|train|infer|rss_kb

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
     "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); ctnn $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg); ctnn: $program, peer: $peer"
echo "== peers' BLAS: $blas"

# isa: the environment that caps oneDNN at that ISA (nothing for native).
isa_env() { [[ $1 == native ]] || echo "ONEDNN_MAX_CPU_ISA=$1 DNNL_MAX_CPU_ISA=$1"; }
for isa in "${isas[@]}"; do
  [[ $isa == native ]] && continue
  # What each side's oneDNN reports under the cap (its first verbose line naming the ISA).
  ctnn_isa=$(env $(isa_env "$isa") ONEDNN_VERBOSE=1 INFER_ONLY=1 STEPS=1 OMP_NUM_THREADS=1 "$build/bench/$program" |
             grep -o 'isa:[^,]*' | head -1)
  # (a batch of 16: PyTorch sends smaller 3x3 convolutions past oneDNN)
  torch_isa=$(env $(isa_env "$isa") ONEDNN_VERBOSE=1 OMP_NUM_THREADS=1 "$python" -c \
              'import torch; torch.nn.functional.conv2d(torch.randn(16, 8, 8, 8), torch.randn(8, 8, 3, 3))' 2>&1 |
              grep -o 'isa:[^,]*' | head -1)
  echo "== cap $isa: ctnn's oneDNN ${ctnn_isa:-?}; pytorch's oneDNN ${torch_isa:-?}"
done

# name threads command...: runs it under GNU time, echoes its line, records the numbers.
measure() {
  local name=$1 isa=$2 t=$3
  shift 3
  /usr/bin/time -f "%M" -o "$tmp/rss" "$@" >"$tmp/out"
  local line
  line=$(grep -m1 'train img/s' "$tmp/out")
  local cap_note=""
  [[ $isa != native ]] && cap_note=" [oneDNN cap $isa]"
  echo "  $line  (peak RSS $(($(cat "$tmp/rss") / 1024)) MB)$cap_note"
  [[ $name == ctnn ]] && grep -m1 'flops per image' "$tmp/out" >"$tmp/flops"
  echo "$line" | sed -E "s/.*train img\/s ([0-9]+) +infer img\/s ([0-9]+).*/$name|$isa|$t|\1|\2|$(cat "$tmp/rss")/" >>"$runs"
}

for isa in "${isas[@]}"; do
  env $(isa_env "$isa") "$build/bench/fma_peak" | sed "s/^/$isa|/" >>"$tmp/peak"
done
cut -d'|' -f2- "$tmp/peak"

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
  for isa in "${isas[@]}"; do
    cap=($(isa_env "$isa"))
    measure ctnn "$isa" "$threads" "${common[@]}" "${cap[@]}" OMP_NUM_THREADS="$threads" "$build/bench/$program"
    measure pytorch "$isa" "$threads" "${common[@]}" "${cap[@]}" "${blas_env[@]}" OMP_NUM_THREADS="$threads" T="$threads" \
      "$python" "$peer"
  done
  if [[ $with_dlib == 1 ]]; then
    measure dlib native "$threads" "${common[@]}" "${blas_env[@]}" OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" \
      "$build/bench/dlib_seed"
  fi
  if [[ $one_thread == 1 ]]; then
    for isa in "${isas[@]}"; do
      cap=($(isa_env "$isa"))
      measure ctnn "$isa" 1 "${common[@]}" "${cap[@]}" OMP_NUM_THREADS=1 "$build/bench/$program"
      measure pytorch "$isa" 1 "${common[@]}" "${cap[@]}" "${blas_env[@]}" OMP_NUM_THREADS=1 T=1 "$python" "$peer"
    done
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
"$python" - "$runs" "$tmp/peak" "$tmp/flops" "$tmp/data" "$tmp/compile" "$threads" "${isas[@]}" <<'PY'
import re, statistics, sys
runs_file, peak_file, flops_file, data_file, compile_file, T, *isas = sys.argv[1:]
T = int(T)
runs = {}
for line in open(runs_file):
    name, isa, t, train, infer, rss = line.strip().split("|")
    runs.setdefault((name, isa, int(t)), []).append((float(train), float(infer), int(rss) / 1024))
peak = {}
for line in open(peak_file):
    m = re.match(r"([^|]+)\|.*threads (\d+): ([\d.]+) GFLOP/s", line)
    if m:
        peak[(m.group(1), int(m.group(2)))] = float(m.group(3))
m = re.search(r"forward ([\d.]+) MFLOP, train ([\d.]+) MFLOP", open(flops_file).read())
fwd, trn = float(m.group(1)), float(m.group(2))
med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in runs.items()}
n = len(next(iter(runs.values())))
print(f"\n{'program':10}{'ISA cap':>10}{'threads':>8}{'train img/s':>13}{'infer img/s':>13}{'train GFLOP/s':>15}"
      f"{'% FMA peak':>12}{'infer GFLOP/s':>15}{'peak RSS MB':>13}")
for (name, isa, t), (train, infer, rss) in med.items():
    g = train * trn / 1e3
    pct = f"{100 * g / peak[(isa, t)]:.0f} %" if (isa, t) in peak else "?"
    print(f"{name:10}{isa:>10}{t:8}{train:13.0f}{infer:13.0f}{g:15.1f}{pct:>12}{infer * fwd / 1e3:15.1f}{rss:13.0f}")
print(f"(medians of {n} alternating runs; FLOPs per image from the model summary: forward {fwd:.1f} M, "
      f"train step {trn:.1f} M; FMA peak measured by fma_peak: " +
      ", ".join(f"{p:.0f} GFLOP/s on {t} thread{'s' if t > 1 else ''}{'' if isa == 'native' else ' (' + isa + ')'}"
                for (isa, t), p in sorted(peak.items())) + ")")

first = isas[0]
rates = {}
for line in open(data_file):
    m = re.match(r"ctnn loader, seed transform, batch 128: threads (\d+): (\d+) img/s", line)
    if m:
        rates.setdefault(int(m.group(1)), []).append(float(m.group(2)))
if rates:
    one = statistics.median(rates.get(1, [0]))
    parts = [f"{statistics.median(v):.0f} img/s on {t} thread{'s' if t > 1 else ''}" for t, v in sorted(rates.items())]
    train = med[("ctnn", first, T)][0]
    print(f"data pipeline (ctnn loader, seed augmentation, batch 128): {', '.join(parts)}; "
          f"feeding ctnn's {train:.0f} train img/s takes {100 * train / one:.1f} % of one core")
for line in open(compile_file):
    if line.startswith("compile "):
        print(line.rstrip())

def ratio(a, b, i):
    return med[a][i] / med[b][i] if a in med and b in med else float("nan")
for isa in isas:
    cap = "" if isa == "native" else f" (oneDNN capped at {isa})"
    for t in sorted({t for _, _, t in med}, reverse=True):
        if isa == first and ("dlib", "native", t) in med:
            print(f"ctnn/dlib, {t} threads: train {ratio(('ctnn', isa, t), ('dlib', 'native', t), 0):.2f}, "
                  f"infer {ratio(('ctnn', isa, t), ('dlib', 'native', t), 1):.2f}")
        print(f"ctnn/pytorch, {t} thread{'s' if t > 1 else ''}{cap}: train "
              f"{ratio(('ctnn', isa, t), ('pytorch', isa, t), 0):.2f}, infer {ratio(('ctnn', isa, t), ('pytorch', isa, t), 1):.2f}")
print(f"ctnn/pytorch train ratio: {ratio(('ctnn', first, T), ('pytorch', first, T), 0):.2f}")
PY
