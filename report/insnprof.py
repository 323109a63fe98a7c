#!/usr/bin/env python3
"""Where each benchmark's instructions go, base against patched.

Under LAB_BENCH_CLOCK=insns LAB_BENCH_PROFILE=1 the QEMU plugin
host/lab-insns.c follows each region's "lab-insns COUNT" line with
"lab-prof ADDR INSNS" lines: the instructions each translated block at
guest address ADDR executed in the region. This names the function of
each address (the kernel's System.map; the modules' from the "kallsyms"
lines the guest prints; user space as one), sums per function and per
benchmark over its reported repetitions, divides by the operations of
the figure, and prints per benchmark the functions whose instructions
per operation differ most between the two kernels.

    insnprof.py BASE_RUN PATCHED_RUN [--top N]

Each RUN folder holds results.log, insns.log and System.map.
"""

import argparse
import bisect
import os
import sys
from collections import defaultdict

USER = "[user space]"
KERNEL_SPACE = 0xffff800000000000   # x86-64: below is user space


class Symbols:
    """Text symbols of one guest kernel and its modules. An address is
    named only inside the kernel's text (_stext.._etext) or a module
    (its /proc/modules extent); anything else is [unknown], user space
    one entry."""

    def __init__(self, run):
        kernel, modules, self.extents = [], [], []
        self.text = (0, 0)
        with open(os.path.join(run, "System.map")) as f:
            for line in f:
                w = line.split()
                if len(w) != 3:
                    continue
                if w[2] == "_stext":
                    self.text = (int(w[0], 16), self.text[1])
                elif w[2] == "_etext":
                    self.text = (self.text[0], int(w[0], 16))
                if w[1] in ("t", "T", "w", "W"):
                    kernel.append((int(w[0], 16), w[2]))
        # guest/init: "kallsyms ADDR TYPE NAME [MODULE]", "module NAME SIZE ADDR"
        with open(os.path.join(run, "results.log"), errors="replace") as f:
            for line in f:
                w = line.split()
                if len(w) == 5 and w[0] == "kallsyms" and w[2] in ("t", "T"):
                    modules.append((int(w[1], 16), "%s %s" % (w[3], w[4])))
                elif len(w) == 4 and w[0] == "module":
                    start = int(w[3], 16)
                    self.extents.append((start, start + int(w[2])))
        self.kernel = sorted(kernel)
        self.modules = sorted(modules)

    @staticmethod
    def nearest(syms, addr):
        i = bisect.bisect_right(syms, (addr, "\uffff")) - 1
        return syms[i][1] if i >= 0 else "[unknown]"

    def name(self, addr):
        if addr < KERNEL_SPACE:
            return USER
        if self.text[0] <= addr < self.text[1]:
            return self.nearest(self.kernel, addr)
        if any(a <= addr < b for a, b in self.extents):
            return self.nearest(self.modules, addr)
        return "[unknown]"


def regions(run):
    """Per reported figure: (name, ops, total, {addr: insns})."""
    figures = []
    with open(os.path.join(run, "results.log"), errors="replace") as f:
        for line in f:
            w = line.split()
            if len(w) == 5 and w[0] == "bench":
                figures.append((w[1], float(w[4])))
    counts = []
    with open(os.path.join(run, "insns.log"), errors="replace") as f:
        for line in f:
            w = line.split()
            if w and w[0] == "lab-insns-error":
                raise ValueError("%s: %s" % (run, line.strip()))
            if len(w) == 2 and w[0] == "lab-insns":
                counts.append((int(w[1]), defaultdict(int)))
            elif len(w) == 3 and w[0] == "lab-prof" and counts:
                counts[-1][1][int(w[1], 16)] += int(w[2])
    if len(figures) != len(counts):
        raise ValueError("%s: %d figures, %d regions" % (run, len(figures),
                                                         len(counts)))
    return [(n, ops, c, prof) for (n, ops), (c, prof) in zip(figures, counts)]


def per_function(run):
    """{benchmark: (insns per op, {function: insns per op})}."""
    syms = Symbols(run)
    total = defaultdict(float)
    funcs = defaultdict(lambda: defaultdict(float))
    ops = defaultdict(float)
    for name, n_ops, count, prof in regions(run):
        ops[name] += n_ops
        total[name] += count
        for addr, insns in prof.items():
            funcs[name][syms.name(addr)] += insns
    return {name: (total[name] / ops[name],
                   {f: v / ops[name] for f, v in funcs[name].items()})
            for name in total}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base")
    ap.add_argument("patched")
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    try:
        base, patched = per_function(args.base), per_function(args.patched)
    except (OSError, ValueError) as e:
        print("insnprof.py: %s" % e, file=sys.stderr)
        return 1
    for name in sorted(set(base) & set(patched)):
        (bt, bf), (pt, pf) = base[name], patched[name]
        print("%s: %.0f instructions per operation on the base, %.0f patched "
              "(%+.0f)" % (name, bt, pt, pt - bt))
        rows = sorted(set(bf) | set(pf),
                      key=lambda f: -abs(pf.get(f, 0) - bf.get(f, 0)))
        for f in rows[:args.top]:
            print("    %-44s %9.1f %9.1f %+9.1f" % (
                f[:44], bf.get(f, 0), pf.get(f, 0), pf.get(f, 0) - bf.get(f, 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
