#!/usr/bin/env python3
"""Turn one bench guest's figures into instruction figures.

Under LAB_BENCH_CLOCK=insns the QEMU plugin host/lab-insns.c writes one
line "lab-insns COUNT" per region guest/lab-bench.c measured, in the
order the regions ran, and lab-bench prints one line
"bench NAME VALUE UNIT OPS" per region, in the same order. This pairs
them: a rate (UNIT "<ops>/s") becomes operations per million guest
instructions ("<ops>/Minsn", higher is better, as the rate), a time
(UNIT "ms") becomes the million instructions it took ("Minsn", lower is
better, as the time). Output: "NAME VALUE UNIT" per figure, as raw.txt
takes it after the kernel and the round.
"""

import argparse
import math
import sys


def words(path):
    """Each line of @path as (its words, the line stripped)."""
    with open(path, errors="replace") as f:
        for line in f:
            yield line.split(), line.strip()


def bench_lines(path):
    out = []
    for w, line in words(path):
        if w and w[0] == "bench":
            if len(w) != 5:
                raise ValueError("%s: not 'bench NAME VALUE UNIT OPS': %s"
                                 % (path, line))
            ops = float(w[4])
            if not math.isfinite(ops):
                raise ValueError("%s: OPS is not a number: %s" % (path, line))
            out.append((w[1], w[3], ops))
    return out


def counts(path):
    out = []
    for w, line in words(path):
        if w and w[0] == "lab-insns-error":
            raise ValueError("%s: the plugin saw unbalanced regions: %s"
                             % (path, line))
        if len(w) == 2 and w[0] == "lab-insns":
            if not w[1].isdigit():
                raise ValueError("%s: not a count: %s" % (path, line))
            out.append(int(w[1]))
    return out


def pair(figures, insns):
    if len(figures) != len(insns):
        raise ValueError("%d bench figures but %d instruction counts: the "
                         "guest and the plugin do not agree on the regions"
                         % (len(figures), len(insns)))
    out = []
    for (name, unit, ops), n in zip(figures, insns):
        if n <= 0 or ops <= 0:
            raise ValueError("%s: %d instructions for %g operations"
                             % (name, n, ops))
        if unit == "ms":
            out.append((name, n / ops / 1e6, "Minsn"))
        elif unit.endswith("/s"):
            out.append((name, ops * 1e6 / n, unit[:-2] + "/Minsn"))
        else:
            raise ValueError("%s: unit %s is neither a rate nor ms"
                             % (name, unit))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="the guest's results.log")
    ap.add_argument("insns", help="the plugin's log (QEMU -D)")
    args = ap.parse_args()
    try:
        rows = pair(bench_lines(args.results), counts(args.insns))
    except (OSError, ValueError) as e:
        print("insns.py: %s" % e, file=sys.stderr)
        return 1
    for name, value, unit in rows:
        print("%s %.6g %s" % (name, value, unit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
