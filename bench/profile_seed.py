#!/usr/bin/python3
"""Where the time of a ctnn train step goes, layer by layer (the seed network, CPU, batch 128).

Runs build/bench/seed_throughput's training loop with ONEDNN_VERBOSE=1, which makes oneDNN print
every primitive it executes with its shape and time, and aggregates those times per train step:
by primitive kind and pass, and per layer of the network. Whatever the step spends outside
oneDNN primitives (dropout, the optimizer, the loss, running statistics, ctnn's own overhead)
is the step time minus their sum. With PERF=1 it also samples the run with `perf record -e
cpu-clock` (a software clock: these VMs expose no hardware counters) and lists the hottest
symbols, which splits that remainder by function. With PEER=1 it does the same for PyTorch's
training loop (../shared/peers/seed_torch.py's network: PyTorch 1.13 runs its convolutions on
the same oneDNN), which bounds ctnn/PyTorch for as long as both use the same convolution kernels:
PyTorch's step time over ctnn's convolution time. An ISA cap (ONEDNN_MAX_CPU_ISA=AVX2) in the
environment applies to both.
  bench/profile_seed.py [BUILD_DIR]     env: THREADS=$(nproc) STEPS=20 PERF=0 PEER=0
Prints Markdown tables (docs/performance.md keeps the latest)."""
import collections, os, re, shutil, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
threads = os.environ.get("THREADS", str(os.cpu_count()))
steps = int(os.environ.get("STEPS", "20"))
warmup = 3  # seed_throughput's untimed steps
program = os.path.join(build, "bench", "seed_throughput")
subprocess.run(["cmake", "--build", build, "--target", "seed_throughput"], check=True, stdout=subprocess.DEVNULL)

env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), OMP_NUM_THREADS=threads,
           TRAIN_ONLY="1", STEPS=str(steps), ONEDNN_VERBOSE="1")
out = subprocess.run([program], env=env, check=True, capture_output=True, text=True).stdout
rate = float(re.search(r"train img/s (\d+)", out).group(1))
step_ms = 128 / rate * 1000

# onednn_verbose,exec,cpu,KIND,IMPL,PROP,MEMORY,ATTRS,AUX,PROBLEM,TIME
records = []
for line in out.splitlines():
    f = line.split(",")
    if len(f) >= 11 and f[1] == "exec":
        records.append((f[3], f[4], f[5], f[6], f[8], f[9], float(f[10])))

# A step starts at the first convolution's forward; keep the timed steps only.
step, kept = 0, []
for r in records:
    if r[0] == "convolution" and r[2] == "forward_training" and "_ic3oc" in r[5]:
        step += 1
    if step > warmup:
        kept.append(r)
counted = step - warmup
if counted <= 0:
    sys.exit("profile_seed.py: no timed steps found in the verbose output")


def num(problem, key):
    m = re.search(key + r"(\d+)", problem)
    return int(m.group(1)) if m else 0


def layer_of(kind, prop, memory, problem):
    """The network layer a primitive belongs to, from its shape."""
    if kind == "convolution":
        return f"Conv<{num(problem, 'ic')},{num(problem, 'oc')}> {num(problem, 'ih')}x{num(problem, 'iw')}"
    if kind == "batch_normalization":
        return f"BN<{num(problem, 'ic')}>+ReLU {num(problem, 'ih')}x{num(problem, 'iw')}"
    if kind.startswith("pooling"):
        return f"MaxPool {num(problem, 'ic')}x{num(problem, 'ih')}x{num(problem, 'iw')}"
    if kind == "inner_product":
        return f"Linear<{num(problem, 'ic')},{num(problem, 'oc')}>"
    if kind == "eltwise":
        return f"ReLU {problem.split('x', 1)[1]}"
    if kind.startswith("softmax") or kind.startswith("logsoftmax"):
        return "loss (log-softmax)"
    if kind == "reorder":
        dims = [int(d) for d in problem.split("x")]
        if len(dims) == 4 and dims[2] == dims[3] == 3:
            return f"Conv<{dims[1]},{dims[0]}> weights (reorder)"
        return f"reorder {problem}"
    return f"{kind} {problem}"


def pass_of(kind, prop):
    if kind == "reorder":
        return "reorder"
    return {"forward_training": "forward", "forward_inference": "forward", "backward_data": "backward-data",
            "backward_weights": "backward-weights", "backward": "backward"}.get(prop, prop)


by_kind = collections.Counter()
by_layer = collections.defaultdict(collections.Counter)
order = []
impls = collections.defaultdict(set)
for kind, impl, prop, memory, aux, problem, ms in kept:
    k = kind.replace("_v2", "")
    p = pass_of(kind, prop)
    by_kind[(k, p)] += ms
    layer = layer_of(kind, prop, memory, problem)
    if layer not in by_layer:
        order.append(layer)
    by_layer[layer][p] += ms
    if kind == "convolution":
        impls[(layer, p)].add(impl + (" " + aux.replace("alg:", "") if aux else ""))

total = sum(by_kind.values())
reorders = sum(1 for r in kept if r[0] == "reorder") / counted
print(f"ctnn train step, seed network, batch 128, {threads} thread(s): {rate:.0f} img/s with ONEDNN_VERBOSE on, "
      f"so {step_ms:.1f} ms a step; {counted} timed steps")
print(f"oneDNN primitives: {total / counted:.1f} ms a step ({100 * total / counted / step_ms:.0f} %); "
      f"outside them: {step_ms - total / counted:.1f} ms ({100 * (1 - total / counted / step_ms):.0f} %); "
      f"{reorders:.0f} reorders a step, {by_kind[('reorder', 'reorder')] / counted:.2f} ms\n")

print("| primitive | pass | ms / step | % of step |")
print("|---|---|---:|---:|")
for (k, p), ms in sorted(by_kind.items(), key=lambda kv: -kv[1]):
    print(f"| {k} | {p} | {ms / counted:.2f} | {100 * ms / counted / step_ms:.1f} |")
print(f"| (outside oneDNN: dropout, Adam, loss gradient, running stats, overhead) | | "
      f"{step_ms - total / counted:.2f} | {100 * (1 - total / counted / step_ms):.1f} |\n")

passes = ["forward", "backward-data", "backward-weights", "backward", "reorder"]
print("| layer | " + " | ".join(passes) + " | total ms | % of step |")
print("|---|" + "---:|" * (len(passes) + 2))
for layer in order:
    c = by_layer[layer]
    cells = " | ".join(f"{c[p] / counted:.2f}" if c[p] else "" for p in passes)
    t = sum(c.values()) / counted
    print(f"| {layer} | {cells} | {t:.2f} | {100 * t / step_ms:.1f} |")
print("\nconvolution implementations: " + "; ".join(
    f"{layer} {p}: {', '.join(sorted(v))}" for (layer, p), v in sorted(impls.items())))

# ctnn's own Winograd (below AVX-512) runs its products as matmul primitives and its transforms
# outside oneDNN: the matmuls count as convolution here, the transforms don't.
conv_ms = sum(ms for (k, p), ms in by_kind.items() if k in ("convolution", "matmul")) / counted
if os.environ.get("PEER") == "1":
    peer = os.path.join(root, "..", "shared", "peers", "seed_torch.py")
    loop = f'''
import importlib.util, os, time, torch, torch.nn as nn
spec = importlib.util.spec_from_file_location("peer", {peer!r}); peer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peer)
torch.manual_seed(0); torch.set_num_threads({threads})
m = peer.CNN(); opt = torch.optim.Adam(m.parameters(), lr=1e-3); crit = nn.CrossEntropyLoss()
x = torch.randn(128, 3, 32, 32); y = torch.randint(0, 10, (128,))
def step(): opt.zero_grad(); crit(m(x), y).backward(); opt.step()
for i in range({warmup}): step()
print("timed steps", flush=True)
t = time.time()
for i in range({steps}): step()
print("step ms", (time.time() - t) / {steps} * 1000, flush=True)
'''
    out = subprocess.run(["/usr/bin/python3", "-c", loop], env=env, check=True, capture_output=True, text=True).stdout
    peer_step = float(re.search(r"step ms ([\d.]+)", out).group(1))
    peer_kind = collections.Counter()
    for line in out.split("timed steps", 1)[1].splitlines():
        f = line.split(",")
        if len(f) >= 11 and f[1] == "exec":
            peer_kind[(f[3].replace("_v2", ""), pass_of(f[3], f[5]))] += float(f[10])
    peer_reorders = sum(1 for line in out.split("timed steps", 1)[1].splitlines() if ",exec,cpu,reorder," in line) / steps
    peer_total = sum(peer_kind.values()) / steps
    print(f"\nPyTorch's train step, same network and batch, {threads} thread(s), ONEDNN_VERBOSE on: {peer_step:.1f} ms; "
          f"oneDNN primitives {peer_total:.1f} ms, outside them {peer_step - peer_total:.1f} ms; "
          f"{peer_reorders:.0f} reorders a step\n")
    print("| primitive | pass | PyTorch ms / step | ctnn ms / step |")
    print("|---|---|---:|---:|")
    for (k, p), ms in sorted(peer_kind.items(), key=lambda kv: -kv[1]):
        print(f"| {k} | {p} | {ms / steps:.2f} | {by_kind[(k, p)] / counted:.2f} |")
    print(f"| everything else | | {peer_step - peer_total:.2f} | {step_ms - sum(by_kind[kp] for kp in peer_kind) / counted:.2f} |")
    peer_conv = sum(ms for (k, p), ms in peer_kind.items() if k == "convolution") / steps
    print(f"\nconvolutions: PyTorch {peer_conv:.1f} ms, ctnn {conv_ms:.1f} ms a step (with its Winograd's matmuls, "
          f"without their transforms). With these convolution "
          f"kernels ctnn/PyTorch can reach at most {peer_step / conv_ms:.2f} (PyTorch's step over ctnn's "
          f"convolutions); now {peer_step / step_ms:.2f}")

if os.environ.get("PERF") == "1" and shutil.which("perf"):
    import glob
    maps_before = set(glob.glob("/tmp/perf-*.map"))
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        penv = dict(env, ONEDNN_JIT_PROFILE="2")  # oneDNN writes /tmp/perf-PID.map: JIT kernels get names
        penv.pop("ONEDNN_VERBOSE")
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "-o", data, program], env=penv,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "sym", "--percent-limit", "0"],
                                capture_output=True, text=True).stdout
    for path in set(glob.glob("/tmp/perf-*.map")) - maps_before:
        os.remove(path)
    # One row per function name: oneDNN generates a JIT kernel per shape, all with one name.
    share = collections.Counter()
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+\[(.)\]\s+(.*)", line)
        if m:
            name = m.group(3).strip()
            if name.startswith("0x"):
                name = "(JIT code without a name)"
            share[("kernel " if m.group(2) == "k" else "") + name] += float(m.group(1))
    print("\nperf: cpu-clock samples of the same training loop without ONEDNN_VERBOSE, all threads, "
          "by function (JIT kernels summed over shapes; rows from 0.5 %):\n")
    print("| % of samples | function |")
    print("|---:|---|")
    for name, pct in share.most_common():
        if pct < 0.5:
            break
        print(f"| {pct:.1f} | `{name[:90]}` |")
