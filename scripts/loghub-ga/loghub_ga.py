"""Grouping accuracy of `anomaly-classifier templates` and of Drain3 on Loghub samples.

usage: loghub_ga.py BINARY DATA_DIR

DATA_DIR holds either the repository's copy (<System>.tsv: EventId<TAB>Content, as in
services/anomaly-classifier/internal/template/testdata/loghub) or Loghub's own layout
(<System>/<System>_2k.log_structured.csv); every system found there is scored.

Two measures, for both parsers on the same lines:
  - leave-one-out: for each system, the parameters (similarity threshold, tree depth) are
    chosen on the other systems and this one is scored with them; the average over the
    systems is the figure to quote. The choice is the one-standard-error rule, as in
    internal/template/ga_test.go: the bar is the best mean GA on the training systems less
    its standard error over them; of the settings that reach it, the one making the fewest
    templates wins (then the lowest threshold, the smallest depth).
  - defaults: anomaly-classifier's DefaultConfig and Drain3's defaults (sim_th 0.4,
    depth 4) with the masking of Drain3's examples. On the repository's eight systems ours
    is in-sample (its defaults were chosen on them); on other systems it is not.

A line counts when the set of lines sharing its predicted group equals the set sharing
its true EventId (grouping accuracy, GA).
"""
import csv
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

# The masking list of drain3's examples/drain3.ini.
MASKING = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]

# The search grid: similarity 0.40..0.90 by 0.05; depth = prefix tokens routed (ours 1..4,
# Drain3's depth counts the root and the length level too: 3..6).
SIMS = [round(0.40 + 0.05 * i, 2) for i in range(11)]
DEPTHS = [1, 2, 3, 4]


def grouping_accuracy(truth, pred):
    by_truth, by_pred = defaultdict(list), defaultdict(list)
    for i, (t, p) in enumerate(zip(truth, pred)):
        by_truth[t].append(i)
        by_pred[p].append(i)
    ok = 0
    for lines in by_pred.values():
        t0 = truth[lines[0]]
        if len(by_truth[t0]) == len(lines) and all(truth[i] == t0 for i in lines):
            ok += len(lines)
    return ok / len(truth)


def systems(data):
    found = []
    for name in sorted(os.listdir(data)):
        if name.endswith(".tsv"):
            found.append(name[:-4])
        elif os.path.exists(os.path.join(data, name, f"{name}_2k.log_structured.csv")):
            found.append(name)
    return found


def load(data, system):
    tsv = os.path.join(data, f"{system}.tsv")
    if os.path.exists(tsv):
        with open(tsv, newline="") as f:
            rows = [l.rstrip("\n").split("\t", 1) for l in f if l.strip()]
        return [r[0] for r in rows], [r[1] for r in rows]
    with open(f"{data}/{system}/{system}_2k.log_structured.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["EventId"] for r in rows], [r["Content"].replace("\n", " ").replace("\t", " ") for r in rows]


def drain3(lines, sim=None, depth=None):
    cfg = TemplateMinerConfig()
    cfg.masking_instructions = [MaskingInstruction(p, m) for p, m in MASKING]
    cfg.profiling_enabled = False
    if sim is not None:
        cfg.drain_sim_th = sim
        cfg.drain_depth = depth + 2
    miner = TemplateMiner(config=cfg)
    start = time.perf_counter()
    pred = [miner.add_log_message(l)["cluster_id"] for l in lines]
    return pred, len(lines) / (time.perf_counter() - start)


# The binary runs in an empty directory with no TEMPLATE_* variables, so a .env file or
# the caller's environment cannot change its defaults.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLATE_") and k != "CONFIG_FILE"}
WORKDIR = tempfile.mkdtemp(prefix="loghub-ga-")


def ours(binary, lines, sim=None, depth=None):
    args = [binary, "templates"]
    if sim is not None:
        args += ["--template-similarity", str(sim), "--template-depth", str(depth)]
    data = ("\n".join(lines) + "\n").encode()
    start = time.perf_counter()
    out = subprocess.run(args, input=data, capture_output=True, check=True, env=ENV, cwd=WORKDIR).stdout
    rate = len(lines) / (time.perf_counter() - start)
    pred = [l.split(b"\t", 1)[0] for l in out.splitlines()]
    assert len(pred) == len(lines), (len(pred), len(lines))
    return pred, rate


def choose(grid, ga, n, train):
    """The one-standard-error rule over the training systems (see the module doc)."""
    mean = {g: sum(ga[g][s] for s in train) / len(train) for g in grid}
    best = max(grid, key=lambda g: mean[g])
    m = mean[best]
    se = 0.0
    if len(train) > 1:
        var = sum((ga[best][s] - m) ** 2 for s in train) / (len(train) - 1)
        se = math.sqrt(var) / math.sqrt(len(train))
    ok = [g for g in grid if mean[g] >= m - se - 1e-12]
    return min(ok, key=lambda g: (sum(n[g][s] for s in train), g[0], g[1]))


def search(run, sysdata):
    grid = [(s, d) for d in DEPTHS for s in SIMS]
    ga, n = defaultdict(dict), defaultdict(dict)
    for g in grid:
        for s, (truth, lines) in sysdata.items():
            pred, _ = run(lines, *g)
            ga[g][s] = grouping_accuracy(truth, pred)
            n[g][s] = len(set(pred))
    names = list(sysdata)
    loo = {}
    for h in names:
        g = choose(grid, ga, n, [s for s in names if s != h])
        loo[h] = (ga[g][h], g)
    return loo, choose(grid, ga, n, names)


def main():
    binary, data = sys.argv[1], sys.argv[2]
    names = systems(data)
    if len(names) < 2:
        sys.exit(f"{data}: fewer than two systems")
    sysdata = {s: load(data, s) for s in names}

    print(f"leave-one-out over {len(names)} systems (parameters chosen on the other {len(names) - 1}):")
    loo_ours, all_ours = search(lambda l, s, d: ours(binary, l, s, d), sysdata)
    loo_drain, all_drain = search(lambda l, s, d: drain3(l, s, d), sysdata)
    print(f"{'system':<10} {'GA ours':>8} {'(sim, depth)':>13} {'GA Drain3':>10} {'(sim, depth)':>13}")
    for s in names:
        (g1, c1), (g2, c2) = loo_ours[s], loo_drain[s]
        print(f"{s:<10} {g1:>8.4f} {str(c1):>13} {g2:>10.4f} {str((c2[0], c2[1] + 2)):>13}")
    k = len(names)
    a1 = sum(loo_ours[s][0] for s in names) / k
    a2 = sum(loo_drain[s][0] for s in names) / k
    print(f"{'average':<10} {a1:>8.4f} {'':>13} {a2:>10.4f}")
    print(f"chosen on all {k}: ours {all_ours}, Drain3 {(all_drain[0], all_drain[1] + 2)}")

    print()
    print("defaults (ours: DefaultConfig; Drain3: sim_th 0.4, depth 4, examples' masking):")
    print(f"{'system':<10} {'GA ours':>8} {'GA Drain3':>10} {'lines/s ours':>13} {'lines/s Drain3':>15}")
    sums = [0.0, 0.0]
    for s in names:
        truth, lines = sysdata[s]
        p1, r1 = ours(binary, lines)
        p2, r2 = drain3(lines)
        g1, g2 = grouping_accuracy(truth, p1), grouping_accuracy(truth, p2)
        sums[0] += g1
        sums[1] += g2
        print(f"{s:<10} {g1:>8.4f} {g2:>10.4f} {r1:>13.0f} {r2:>15.0f}")
    print(f"{'average':<10} {sums[0] / k:>8.4f} {sums[1] / k:>10.4f}")
    print("(lines/s ours includes process start-up of the templates command; the Go benchmark is")
    print(" go test -run '^$' -bench . -benchmem ./internal/template/ in services/anomaly-classifier)")


if __name__ == "__main__":
    main()
