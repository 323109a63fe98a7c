#!/usr/bin/env python3
"""Compare base and patched kernels on the figures of ./lab bench.

Input: raw.txt, one line per figure: KERNEL ROUND NAME VALUE UNIT, where
KERNEL is base, patched or control (the base kernel booted again).
For each benchmark the ratio patched/base is taken per round (median of
the round's repetitions on each side), and reported as the median of the
rounds with their min and max; the reference of a round is the mean of
the base and the control (the base booted again, on the other side of
the patched kernel), so steady drift cancels. control/base, taken the
same way, is an A/A comparison: the row's noise floor. A row gets a
verdict against its target only when the A/A ran at least two rounds,
its median is within AA_RANGE and every round within AA_SPREAD;
otherwise it is NOISY (no verdict) and counts as a miss. Rates (per
second, or per million guest instructions) should not drop, times (ms,
or million instructions) should not grow.
Output: a table, bench.json with every raw figure and each ratio, and
bench.png (gnuplot) of the ratios with their spread.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict

# benchmark name prefix -> (target ratio, "min" or "max", why)
TARGETS = [
    ("hmm-migrate", 1.00, "min", "migration must not cost more (rate or instructions)"),
    ("hmm-device-fault", 1.00, "min", "device faults must not cost more"),
    ("dax-first-touch", 0.97, "min", "devdax first-touch faults within 3%"),
    ("dax-refault", 0.90, "min",
     "a fault after munmap requests a freed folio again: within 10%"),
    ("dax-second-pass", 0.99, "min", "devdax second pass within 1%"),
    ("dax-unbind", 1.05, "max", "teardown no more than 5% slower"),
    ("hmm-teardown", 1.05, "max", "teardown no more than 5% slower"),
]


AA_RANGE = (0.98, 1.02)     # the A/A median
AA_SPREAD = (0.90, 1.10)    # every round of the A/A


def target(name):
    for prefix, value, kind, why in TARGETS:
        if name.startswith(prefix):
            return value, kind, why
    return None, None, ""


def load(path):
    figures = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    units = {}
    with open(path) as f:
        for line in f:
            kernel, rnd, name, value, unit = line.split()
            figures[name][kernel][int(rnd)].append(float(value))
            units[name] = unit
    return figures, units


def ratios(top, bottom):
    """Per round: median of top's repetitions over median of bottom's."""
    return [statistics.median(top[r]) / statistics.median(bottom[r])
            for r in sorted(set(top) & set(bottom))
            if statistics.median(bottom[r])]


def patched_ratios(patched, base, control):
    """Per round: patched over the mean of base and control. The two boot
    on either side of the patched kernel, so a steady drift of the host
    over a round cancels; a round without a control uses the base alone."""
    out = []
    for r in sorted(set(patched) & set(base)):
        ref = [statistics.median(base[r])]
        if r in control:
            ref.append(statistics.median(control[r]))
        if statistics.mean(ref):
            out.append(statistics.median(patched[r]) / statistics.mean(ref))
    return out


def compare(figures, units):
    out = {}
    for name in sorted(figures):
        base, patched = figures[name]["base"], figures[name]["patched"]
        control = figures[name].get("control", {})
        pb, aa = patched_ratios(patched, base, control), ratios(control, base)
        if not pb:
            # one kernel never reported it, or the base's figure was 0
            out[name] = {"unit": units[name], "missing": True,
                         "kernels": sorted(k for k, v in figures[name].items() if v)}
            continue
        value, kind, why = target(name)
        med = statistics.median(pb)
        aa_med = statistics.median(aa) if aa else None
        steady = (len(aa) >= 2 and AA_RANGE[0] <= aa_med <= AA_RANGE[1] and
                  AA_SPREAD[0] <= min(aa) and max(aa) <= AA_SPREAD[1])
        met = None if value is None else (med >= value if kind == "min"
                                          else med <= value)
        out[name] = {
            "unit": units[name],
            "base": {str(r): base[r] for r in sorted(base)},
            "patched": {str(r): patched[r] for r in sorted(patched)},
            "control": {str(r): control[r] for r in sorted(control)},
            "aa": None if not aa else {"median": aa_med, "min": min(aa),
                                       "max": max(aa), "per_round": aa,
                                       "steady": steady},
            "base_median": statistics.median([v for r in base for v in base[r]]),
            "patched_median": statistics.median([v for r in patched
                                                 for v in patched[r]]),
            "ratio": {"median": med, "min": min(pb), "max": max(pb),
                      "per_round": pb},
            "target": {"ratio": value, "kind": kind, "why": why,
                       "met": met if steady else None,
                       "noisy": not steady},
        }
    return out


def chart(results, outdir):
    data = os.path.join(outdir, "ratios.dat")
    results = {k: v for k, v in results.items() if not v.get("missing")}
    with open(data, "w") as f:
        for i, (name, r) in enumerate(results.items()):
            aa = r["aa"]["median"] if r["aa"] else float("nan")
            f.write("%d %s %.4f %.4f %.4f %.4f\n" % (
                i, name, r["ratio"]["median"], r["ratio"]["min"],
                r["ratio"]["max"], aa))
    script = """
set terminal png size 1100,520
set output '%s'
set title 'patched / base, median of rounds, bars min..max; diamonds: A/A control (unbind, teardown: time or Minsn, lower is better)'
set ylabel 'ratio (log scale)'
set xtics rotate by -30 font ',9'
set grid ytics
set style fill solid 0.4
set boxwidth 0.6
set logscale y
set yrange [0.25:4]
set ytics (0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4)
plot '%s' using 1:3:xtic(2) with boxes notitle, \\
     '' using 1:3:4:5 with yerrorbars lc rgb 'black' pt 7 notitle, \\
     '' using 1:6 with points lc rgb 'blue' pt 13 ps 1.5 notitle, \\
     1 lc rgb 'red' dt 2 notitle
""" % (os.path.join(outdir, "bench.png"), data)
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("chart: gnuplot failed: %s" % e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", action="append", default=[])
    args = ap.parse_args()
    figures, units = load(args.raw)
    results = compare(figures, units)
    meta = dict(kv.split("=", 1) for kv in args.meta)
    with open(os.path.join(args.out, "bench.json"), "w") as f:
        json.dump(dict(meta, benchmarks=results), f, indent=2)
        f.write("\n")
    chart(results, args.out)
    print("%-30s %11s %11s %6s %13s %6s %13s %s" % (
        "benchmark", "base", "patched", "ratio", "min..max", "A/A",
        "min..max", "target"))
    met = targets = 0
    for name, r in results.items():
        if r.get("missing"):
            print("%-30s MISSING: only %s reported it (or the base's figure "
                  "was 0)" % (name, ", ".join(r["kernels"])))
            targets += target(name)[0] is not None
            continue
        t, aa = r["target"], r["aa"]
        if t["ratio"] is None:
            mark = ""
        elif t["noisy"]:
            mark = "%s%.2f NOISY" % (">=" if t["kind"] == "min" else "<=",
                                     t["ratio"])
        else:
            mark = "%s%.2f %s" % (">=" if t["kind"] == "min" else "<=",
                                  t["ratio"], "ok" if t["met"] else "MISS")
        targets += t["ratio"] is not None
        met += bool(t["met"])
        aa_text = ("%6.3f %6.3f..%-6.3f" % (aa["median"], aa["min"], aa["max"])
                   if aa else "%6s %13s" % ("-", ""))
        print("%-30s %11.1f %11.1f %6.3f %6.3f..%-6.3f %s %s  %s" % (
            name, r["base_median"], r["patched_median"], r["ratio"]["median"],
            r["ratio"]["min"], r["ratio"]["max"], aa_text, mark, r["unit"]))
    print("%d of %d targets met; a row whose A/A median is outside "
          "%.2f..%.2f, or a round of it outside %.2f..%.2f, is NOISY and "
          "gets no verdict" % (met, targets, *AA_RANGE, *AA_SPREAD))
    return 0


if __name__ == "__main__":
    sys.exit(main())
