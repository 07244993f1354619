#!/usr/bin/env bash
# Compile-time budget: wall time, CPU time (user + system) and peak memory (GNU time's %e, %U +
# %S and %M) of g++ compiling one translation unit, ctnn beside dlib, alternated ROUNDS times,
# medians and ratios. On a busy machine the CPU time is the steadier of the two times.
#   bench/compile_time.sh [BUILD_DIR]      (ROUNDS=3 by default)
# The translation units compared (target: ctnn example <= 0.5x dlib in time and memory):
#   ctnn example:  examples/cifar10/train_cpu.cpp: the CIFAR-10 example's network with its
#                  training (model, optimizers, Trainer, checkpoints), built as the example
#                  builds it, against ctnn::cpu_compiled (CTNN_SEPARATE_COMPILATION)
#   ctnn seed:     bench/seed_throughput.cpp: the network and a training loop, header-only
#   dlib seed:     bench/dlib_seed.cpp: the same network and loop in dlib, whose own
#                  non-template code comes precompiled in libdlib
#   ctnn resnet:   bench/resnet_throughput.cpp: ResNet-18 (CIFAR stem) and a training loop,
#                  header-only (target: <= 0.5x dlib resnet)
#   dlib resnet:   bench/dlib_resnet.cpp: the same ResNet-18 and loop in dlib
# Then, once each, the example's other translation units and ctnn's compiled library (the
# counterpart of libdlib: built once per program, not per network), so the whole example's
# cost is on record too.
# Each is compiled exactly as BUILD_DIR's compile_commands.json says (its defines and include
# directories), with the same optimisation and language flags for all: -O2 -std=gnu++20, no
# warnings, to an object file (no link).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "${1:-$root/build}"
build=$(cd "${1:-$root/build}" && pwd)
rounds=${ROUNDS:-3}
python=/usr/bin/python3
[[ -x /usr/bin/time ]] || { echo "compile_time.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
if [[ ! -f $build/compile_commands.json ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi
# The generated source of ctnn::cpu_compiled must exist (it is written at configure time).
library_source=$build/ctnn_separate_compilation.cpp

# One shell command per translation unit, from compile_commands.json, flags normalised.
command_for() {
  "$python" - "$build/compile_commands.json" "$1" "$2" <<'PY'
import json, shlex, sys
db, source, obj = sys.argv[1:]
entry = next((e for e in json.load(open(db)) if e["file"] == source), None)
if entry is None:
    sys.exit(f"compile_time.sh: {source} is not in {db} (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)")
args = entry.get("arguments") or shlex.split(entry["command"])
out, skip = [], False
for a in args:
    if skip: skip = False; continue
    if a == "-o": skip = True; continue
    if a == "-c" or a == source: continue
    if a.startswith(("-O", "-std=", "-W")): continue
    out.append(a)
out += ["-O2", "-std=gnu++20", "-w", "-c", source, "-o", obj]
print("cd " + shlex.quote(entry["directory"]) + " && " + shlex.join(out))
PY
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A cmd
cmd[ctnn example]=$(command_for "$root/examples/cifar10/train_cpu.cpp" "$tmp/example.o")
cmd[ctnn seed]=$(command_for "$root/bench/seed_throughput.cpp" "$tmp/seed.o")
cmd[dlib seed]=$(command_for "$root/bench/dlib_seed.cpp" "$tmp/dlib.o")
cmd[ctnn resnet]=$(command_for "$root/bench/resnet_throughput.cpp" "$tmp/resnet.o")
cmd[dlib resnet]=$(command_for "$root/bench/dlib_resnet.cpp" "$tmp/dlib_resnet.o")
cmd[example main]=$(command_for "$root/examples/cifar10/main.cpp" "$tmp/main.o")
cmd[example options]=$(command_for "$root/examples/cifar10/options.cpp" "$tmp/options.o")
cmd[ctnn library]=$(command_for "$library_source" "$tmp/library.o")
echo "== compile time: g++ $(g++ -dumpfullversion), -O2 -std=gnu++20, $rounds rounds"
for name in "ctnn example" "ctnn seed" "dlib seed" "ctnn resnet" "dlib resnet" "example main" "example options" \
  "ctnn library"; do
  echo "  $name: ${cmd[$name]}"
done
log=$tmp/log
run() {  # name round
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" bash -c "${cmd[$1]}"
  read -r secs user sys kb <"$tmp/t"
  cpu=$(awk "BEGIN {print $user + $sys}")
  echo "$1|$secs|$cpu|$kb" >>"$log"
  printf '  round %d  %-16s %6.1f s wall %6.1f s CPU %7.0f MB\n' "$2" "$1" "$secs" "$cpu" "$((kb / 1024))"
}
for ((i = 1; i <= rounds; i++)); do
  for name in "dlib seed" "ctnn example" "ctnn seed" "dlib resnet" "ctnn resnet"; do run "$name" "$i"; done
done
for name in "example main" "example options" "ctnn library"; do run "$name" 1; done
"$python" - "$log" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, secs, cpu, kb = line.strip().split("|")
    runs.setdefault(name, []).append((float(secs), float(cpu), int(kb) / 1024))
med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in runs.items()}
labels = {"ctnn example": "ctnn examples/cifar10/train_cpu.cpp", "ctnn seed": "ctnn bench/seed_throughput.cpp",
          "dlib seed": "dlib bench/dlib_seed.cpp", "ctnn resnet": "ctnn bench/resnet_throughput.cpp",
          "dlib resnet": "dlib bench/dlib_resnet.cpp", "example main": "ctnn examples/cifar10/main.cpp",
          "example options": "ctnn examples/cifar10/options.cpp", "ctnn library": "ctnn::cpu_compiled's library"}
print(f"\n{'translation unit':40}{'wall s':>8}{'CPU s':>8}{'peak MB':>9}   (medians of {len(runs['dlib seed'])}; "
      "the last three once)")
for k in labels:
    print(f"{labels[k]:40}{med[k][0]:8.1f}{med[k][1]:8.1f}{med[k][2]:9.0f}")
example = ("ctnn example", "example main", "example options")
print(f"whole cifar10 example (3 TUs, no library): {sum(med[k][1] for k in example):.1f} s CPU, "
      f"largest {max(med[k][2] for k in example):.0f} MB; with ctnn's library: "
      f"{sum(med[k][1] for k in example) + med['ctnn library'][1]:.1f} s CPU")
for k, peer in (("ctnn example", "dlib seed"), ("ctnn seed", "dlib seed"), ("ctnn resnet", "dlib resnet")):
    t, c, m = (med[k][i] / med[peer][i] for i in range(3))
    verdict = "meets" if max(t, c, m) <= 0.5 else "misses"
    print(f"compile {k}/{peer}: wall time {t:.2f}x, CPU time {c:.2f}x, peak memory {m:.2f}x  ({verdict} the 0.5x target)")
PY
