"""Grouping accuracy of Drain3 and of `anomaly-classifier templates` on Loghub samples.

usage: loghub_ga.py BINARY DATA_DIR

For each system, the Content column of <sys>_2k.log_structured.csv (Loghub's layout),
or of <sys>.tsv (EventId<TAB>Content, the repository's copy in
services/anomaly-classifier/internal/template/testdata/loghub), is fed to
Drain3 (default TemplateMiner config plus the masking instructions of Drain3's
examples) and to `BINARY templates`; a line counts when the set of lines sharing
its predicted group equals the set sharing its true EventId.
"""
import csv
import os
import subprocess
import sys
import time
from collections import defaultdict

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

SYSTEMS = ["HDFS", "Apache", "OpenSSH", "Zookeeper"]

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


def load(data, system):
    tsv = os.path.join(data, f"{system}.tsv")
    if os.path.exists(tsv):
        with open(tsv, newline="") as f:
            rows = [l.rstrip("\n").split("\t", 1) for l in f if l.strip()]
        return [r[0] for r in rows], [r[1] for r in rows]
    with open(f"{data}/{system}/{system}_2k.log_structured.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["EventId"] for r in rows], [r["Content"].replace("\n", " ") for r in rows]


def drain3(lines):
    cfg = TemplateMinerConfig()
    cfg.masking_instructions = [MaskingInstruction(p, m) for p, m in MASKING]
    cfg.profiling_enabled = False
    miner = TemplateMiner(config=cfg)
    start = time.perf_counter()
    pred = [miner.add_log_message(l)["cluster_id"] for l in lines]
    return pred, len(lines) / (time.perf_counter() - start)


def ours(binary, lines):
    data = ("\n".join(lines) + "\n").encode()
    start = time.perf_counter()
    out = subprocess.run([binary, "templates"], input=data, capture_output=True, check=True).stdout
    rate = len(lines) / (time.perf_counter() - start)
    pred = [l.split(b"\t", 1)[0] for l in out.splitlines()]
    assert len(pred) == len(lines), (len(pred), len(lines))
    return pred, rate


def main():
    binary, data = sys.argv[1], sys.argv[2]
    print(f"{'system':<10} {'GA ours':>8} {'GA Drain3':>10} {'lines/s ours':>13} {'lines/s Drain3':>15}")
    sums = [0.0, 0.0]
    for s in SYSTEMS:
        truth, lines = load(data, s)
        p1, r1 = ours(binary, lines)
        p2, r2 = drain3(lines)
        g1, g2 = grouping_accuracy(truth, p1), grouping_accuracy(truth, p2)
        sums[0] += g1
        sums[1] += g2
        print(f"{s:<10} {g1:>8.4f} {g2:>10.4f} {r1:>13.0f} {r2:>15.0f}")
    n = len(SYSTEMS)
    print(f"{'average':<10} {sums[0] / n:>8.4f} {sums[1] / n:>10.4f}")
    print("(lines/s ours includes process start-up of the templates command)")


if __name__ == "__main__":
    main()
