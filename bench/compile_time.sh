#!/usr/bin/env bash
# Compile-time budget: wall time, CPU time (user + system) and peak memory (GNU time's %e, %U +
# %S and %M) of g++ compiling one translation unit, ctnn beside dlib, alternated ROUNDS times,
# medians and ratios. On a busy machine the CPU time is the steadier of the two times.
#   bench/compile_time.sh [BUILD_DIR]      (ROUNDS=3 by default)
# The translation units:
#   ctnn example:  examples/cifar10/main.cpp (examples/train_synthetic/main.cpp until it exists):
#                  the whole CIFAR-10 program (network, trainer, data, command line)
#   ctnn seed:     bench/seed_throughput.cpp: the network and a training loop only
#   dlib seed:     bench/dlib_seed.cpp: the same network and loop in dlib
# Each is compiled exactly as BUILD_DIR's compile_commands.json says (its defines and include
# directories), with the same optimisation and language flags for all: -O2 -std=gnu++20, no
# warnings, to an object file (no link). Target: ctnn example <= 0.5x dlib in time and memory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${ROUNDS:-3}
python=/usr/bin/python3
[[ -x /usr/bin/time ]] || { echo "compile_time.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
if [[ ! -f $build/compile_commands.json ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi
example=examples/cifar10/main.cpp
[[ -f $root/$example ]] || example=examples/train_synthetic/main.cpp

# One shell command per translation unit, from compile_commands.json, flags normalised.
command_for() {
  "$python" - "$build/compile_commands.json" "$root/$1" "$2" <<'PY'
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
cmd[ctnn example]=$(command_for "$example" "$tmp/example.o")
cmd[ctnn seed]=$(command_for bench/seed_throughput.cpp "$tmp/seed.o")
cmd[dlib seed]=$(command_for bench/dlib_seed.cpp "$tmp/dlib.o")
echo "== compile time: g++ $(g++ -dumpfullversion), -O2 -std=gnu++20, $rounds rounds; ctnn example = $example"
for name in "ctnn example" "ctnn seed" "dlib seed"; do echo "  $name: ${cmd[$name]}"; done
log=$tmp/log
for ((i = 1; i <= rounds; i++)); do
  for name in "dlib seed" "ctnn example" "ctnn seed"; do
    /usr/bin/time -f "%e %U %S %M" -o "$tmp/t" bash -c "${cmd[$name]}"
    read -r secs user sys kb <"$tmp/t"
    cpu=$(awk "BEGIN {print $user + $sys}")
    echo "$name|$secs|$cpu|$kb" >>"$log"
    printf '  round %d  %-13s %6.1f s wall %6.1f s CPU %7.0f MB\n' "$i" "$name" "$secs" "$cpu" "$((kb / 1024))"
  done
done
"$python" - "$log" "$example" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, secs, cpu, kb = line.strip().split("|")
    runs.setdefault(name, []).append((float(secs), float(cpu), int(kb) / 1024))
med = {k: tuple(statistics.median(r[i] for r in v) for i in range(3)) for k, v in runs.items()}
print(f"\n{'translation unit':34}{'wall s':>8}{'CPU s':>8}{'peak MB':>9}   (medians of {len(runs['dlib seed'])})")
labels = {"ctnn example": f"ctnn {sys.argv[2]}", "ctnn seed": "ctnn bench/seed_throughput.cpp",
          "dlib seed": "dlib bench/dlib_seed.cpp"}
for k in ("ctnn example", "ctnn seed", "dlib seed"):
    print(f"{labels[k]:34}{med[k][0]:8.1f}{med[k][1]:8.1f}{med[k][2]:9.0f}")
d = med["dlib seed"]
for k in ("ctnn example", "ctnn seed"):
    t, c, m = (med[k][i] / d[i] for i in range(3))
    verdict = "meets" if max(t, c, m) <= 0.5 else "misses"
    print(f"compile {k}/dlib: wall time {t:.2f}x, CPU time {c:.2f}x, peak memory {m:.2f}x  ({verdict} the 0.5x target)")
PY
