#!/usr/bin/env python3
"""Turn one guest run into results.json, a summary table and a verdict.

Inputs, all in the run folder:
  serial.log   the guest console: KTAP from built-in KUnit suites, kernel
               warnings, and the "@@LAB begin/end/case" markers of guest/init
  results.log  the results port: each suite's TAP framed by
               "@@LAB begin NAME" / "@@LAB end NAME rc=N", then "@@LAB done"

KTAP is parsed by the tree's own tools/testing/kunit/kunit.py; kselftest TAP
by its "ok" / "not ok" lines. Cases listed in report/known-failures for the
conditions of this run count as known failures ("xfail"), with their reason.

Exit status: 0 when the verdict is "pass", 1 otherwise.
"""

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys

SUITES = ("kunit", "hmm-tests", "dax")

TAP_LINE = re.compile(r"^(not ok|ok)\s+\d+\s+(.*?)(?:\s+#\s*(SKIP|XFAIL|TODO)\b\s*(.*))?$")
MARKER = re.compile(r"@@LAB (begin|end|case) (\S+)")

# The first line of each kind of kernel complaint. A "cut here" line opens
# WARN and BUG reports; the "WARNING:"/"BUG:" line that follows it belongs to
# the same splat. Lockdep, KASAN and hung-task reports have no "cut here".
SPLAT_START = re.compile(
    r"-+\[ cut here \]-+|\bBUG: |\bWARNING: |\bKASAN: |\bUBSAN: |"
    r"\bOops: |general protection fault|Kernel panic - |"
    r"INFO: task .* blocked for more than|INFO: rcu_.* detected stall|"
    r"possible circular locking dependency|inconsistent lock state"
)
CALL_TRACE = re.compile(r"\bCall Trace:")
END_TRACE = re.compile(r"---\[ end trace|---\[ end Kernel panic")
SPLAT_SPAN = 60  # lines after a splat's first line that belong to it


def strip_console(line):
    """The console line without its printk timestamp."""
    return re.sub(r"^\s*\[\s*\d+\.\d+\]\s?", "", line.rstrip("\r\n"))


KUNIT_SUBTEST = re.compile(r"^\s*# Subtest: (\S+)")
KUNIT_RESULT = re.compile(r"^\s*(?:not )?ok \d+ (\S+)")
KUNIT_SKIP = re.compile(r"^\s*ok \d+ (.+?) # SKIP ?(.*)$")


def find_splats(lines):
    """Splats in a console log, each a dict: line, text (its first lines),
    during (what ran: a guest suite or case, or a KUnit suite.case)."""
    splats = []
    marker = "boot"
    kunit_suite = None
    pending = []  # splats in a KUnit case whose result line is still ahead
    current = None
    for i, raw in enumerate(lines):
        line = strip_console(raw)
        m = MARKER.search(line)
        if m and line.startswith("@@LAB"):
            marker = m.group(2) if m.group(1) != "end" else "idle"
            kunit_suite, current = None, None
            continue
        m = KUNIT_SUBTEST.match(line)
        if m and marker == "boot":
            kunit_suite = m.group(1)
        m = KUNIT_RESULT.match(line)
        if m and pending:
            for splat in pending:
                splat["during"] = "%s.%s" % (kunit_suite, m.group(1))
            pending = []
        since = i + 1 - current["line"] if current else None
        if (SPLAT_START.search(line) and (since is None or since > 5)) or \
                (CALL_TRACE.search(line) and since is None):
            current = {"line": i + 1, "text": [], "during": marker}
            splats.append(current)
            if marker == "boot" and kunit_suite:
                pending.append(current)
        if current is not None:
            current["text"].append(line)
            if END_TRACE.search(line) or len(current["text"]) >= SPLAT_SPAN:
                current = None
    for splat in splats:
        splat["text"] = "\n".join(splat["text"])
    return splats


def list_lines(path):
    """The lines of one of the lab's lists, without comments and blanks."""
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [line.strip() for line in f]
    return [line for line in lines if line and not line.startswith("#")]


def load_expected_warnings(path):
    """report/expected-warnings: [(suite, case glob, regex, reason)]."""
    rules = []
    for line in list_lines(path):
        suite, case, regex, reason = [x.strip() for x in line.split(" | ", 3)]
        rules.append((suite, case, re.compile(regex), reason))
    return rules


def classify_splat(splat, xfail_names, rules):
    """Why a splat is expected, or None: it came from a case known to fail
    here, or it is a warning that case is written to provoke."""
    if splat["during"] in xfail_names:
        return "from a known failure"
    for suite, case, regex, reason in rules:
        name = splat["during"]
        if suite == "kunit" or name.startswith(suite + "."):
            if fnmatch.fnmatchcase(name, case) and regex.search(splat["text"]):
                return reason
    return None


def parse_tap(text):
    """kselftest TAP: {"cases": [...], "planned": N, "bailout": str}."""
    cases, planned, bailout = [], None, None
    for line in text.splitlines():
        line = line.rstrip()
        m = re.match(r"^1\.\.(\d+)", line)
        if m:
            planned = int(m.group(1))
            continue
        if line.startswith("Bail out!"):
            bailout = line[len("Bail out!"):].strip() or "bail out"
            continue
        m = TAP_LINE.match(line)
        if not m:
            continue
        ok, name, directive, reason = m.groups()
        if directive == "SKIP":
            result = "skip"
        elif directive == "XFAIL":
            result = "xfail"
        else:
            result = "pass" if ok == "ok" else "fail"
        cases.append({"name": name.strip(), "result": result,
                      "reason": (reason or "").strip()})
    return {"cases": cases, "planned": planned, "bailout": bailout}


def split_results(text):
    """The results port: {suite: {"text": TAP, "rc": int|None}}, done flag."""
    suites, current, buf = {}, None, []
    done = False
    for line in text.splitlines():
        if line.startswith("@@LAB begin "):
            current, buf = line.split()[2], []
        elif line.startswith("@@LAB end ") and current:
            m = re.search(r"rc=(-?\d+)", line)
            suites[current] = {"text": "\n".join(buf),
                               "rc": int(m.group(1)) if m else None}
            current = None
        elif line.startswith("@@LAB done"):
            done = True
        elif current:
            buf.append(line)
    if current:  # the guest stopped inside a suite
        suites[current] = {"text": "\n".join(buf), "rc": None}
    return suites, done


def kselftest_suite(name, entry):
    """Cases of one kselftest suite, with synthetic failures for a suite that
    bailed out, stopped early or exited non-zero without a failing case."""
    if entry is None:
        return [{"name": "(suite did not run)", "result": "fail", "reason": ""}]
    tap = parse_tap(entry["text"])
    cases = tap["cases"]
    reported = len(cases)
    if tap["bailout"]:
        cases.append({"name": "(bail out)", "result": "fail",
                      "reason": tap["bailout"]})
    if tap["planned"] is not None and reported < tap["planned"]:
        cases.append({"name": "(%d of %d cases did not report)"
                      % (tap["planned"] - reported, tap["planned"]),
                      "result": "fail", "reason": ""})
    if entry["rc"] is None:
        cases.append({"name": "(suite did not finish)", "result": "fail",
                      "reason": ""})
    elif entry["rc"] != 0 and not any(c["result"] == "fail" for c in cases):
        cases.append({"name": "(exit status %d)" % entry["rc"],
                      "result": "fail", "reason": ""})
    return cases


def kunit_json(tree, serial):
    """Run the tree's kunit.py parse on the console log; its JSON or None."""
    kunit = os.path.join(tree, "tools/testing/kunit/kunit.py")
    try:
        out = subprocess.run([sys.executable, kunit, "parse", "--json",
                              os.path.abspath(serial)],
                             capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return None
    start = out.stdout.find("\n{")
    if start < 0:
        return None
    try:
        return json.loads(out.stdout[start:])
    except ValueError:
        return None


def kunit_cases(group, prefix=""):
    """Leaf cases of a kunit.py JSON group as kselftest-like case dicts."""
    result = {"PASS": "pass", "SKIP": "skip"}
    cases = []
    for case in group.get("test_cases", []):
        cases.append({"name": prefix + case["name"],
                      "result": result.get(case["status"], "fail"),
                      "reason": "" if case["status"] in result else case["status"]})
    for sub in group.get("sub_groups", []):
        cases += kunit_cases(sub, prefix + sub["name"] + ".")
    return cases


def load_known(path, conditions):
    """Known failures that apply to this run: [(suite, pattern, reason)]."""
    known = []
    for line in list_lines(path):
        suite, pattern, when, reason = line.split(None, 3)
        if when != "always" and not all(
                conditions.get(k) == v for k, v in
                (c.split("=", 1) for c in when.split(","))):
            continue
        known.append((suite, pattern, reason))
    return known


def apply_known(suite, cases, known):
    for case in cases:
        for ksuite, pattern, reason in known:
            if ksuite == suite and fnmatch.fnmatchcase(case["name"], pattern):
                if case["result"] == "fail":
                    case["result"] = "xfail"
                    case["reason"] = reason
                elif case["result"] == "pass":
                    case["note"] = "known to fail here, but passed"


def counts(cases):
    c = {k: 0 for k in ("pass", "fail", "skip", "xfail")}
    for case in cases:
        c[case["result"]] += 1
    return c


def build_results(run, tree, known_path, expected_path, meta):
    with open(os.path.join(run, "serial.log"), errors="replace") as f:
        serial_lines = f.readlines()
    try:
        with open(os.path.join(run, "results.log"), errors="replace") as f:
            results_text = f.read()
    except OSError:
        results_text = ""
    entries, done = split_results(results_text)
    conditions = {k: str(v) for k, v in meta.items()}
    known = load_known(known_path, conditions)

    suites = {}
    skip_reasons = {}
    for raw in serial_lines:
        m = KUNIT_SKIP.match(strip_console(raw))
        if m:
            skip_reasons[m.group(1)] = m.group(2)
    kj = kunit_json(tree, os.path.join(run, "serial.log"))
    kcases, per_suite = [], {}
    if kj is None or not kj.get("sub_groups"):
        kcases = [{"name": "(no KTAP output found)", "result": "fail", "reason": ""}]
    else:
        for group in kj["sub_groups"]:
            cases = kunit_cases(group, group["name"] + ".")
            for c in cases:
                if c["result"] == "skip":
                    c["reason"] = skip_reasons.get(c["name"].rsplit(".", 1)[-1], "")
            apply_known("kunit", cases, known)
            per_suite[group["name"]] = counts(cases)
            kcases += cases
    suites["kunit"] = dict(counts(kcases), suites=per_suite, cases=kcases)

    for name in SUITES[1:]:
        cases = kselftest_suite(name, entries.get(name))
        apply_known(name, cases, known)
        suites[name] = dict(counts(cases), cases=cases)

    splats = find_splats(serial_lines)
    xfail_names = {c["name"] for s in suites.values()
                   for c in s["cases"] if c["result"] == "xfail"}
    rules = load_expected_warnings(expected_path)
    for s in splats:
        s["expected"] = classify_splat(s, xfail_names, rules)
        lines = s["text"].splitlines()
        heads = [x for x in lines if re.search(r"\b(WARNING|BUG|Oops|KASAN|INFO):", x)]
        s["first_line"] = (heads or lines or [""])[0]
    unexpected = [s for s in splats if not s["expected"]]

    failed = sum(s["fail"] for s in suites.values())
    verdict = "pass" if failed == 0 and not unexpected and done \
        and not meta.get("boot_error") else "fail"
    return dict(meta, suites=suites, splats=len(unexpected),
                splats_expected=len(splats) - len(unexpected),
                splat_list=splats, guest_finished=done, verdict=verdict)


def table(res):
    out = []
    out.append("base      %s, %d patches, %s kernel, THP %s"
               % (res.get("base"), res.get("patches", 0), res.get("variant"),
                  res.get("thp")))
    out.append("%-16s %5s %5s %5s %6s" % ("suite", "pass", "fail", "skip", "known"))
    for name, s in res["suites"].items():
        out.append("%-16s %5d %5d %5d %6d" % (name, s["pass"], s["fail"],
                                               s["skip"], s["xfail"]))
        if name == "kunit":
            for sub, c in sorted(s["suites"].items()):
                out.append("  %-14s %5d %5d %5d %6d" % (sub[:14], c["pass"],
                           c["fail"], c["skip"], c["xfail"]))
    for name, s in res["suites"].items():
        for c in s["cases"]:
            if c["result"] != "pass":
                out.append("  %-5s %s: %s%s" % (c["result"], name, c["name"],
                           " (%s)" % c["reason"] if c["reason"] else ""))
    out.append("splats    %d unexpected, %d expected"
               % (res["splats"], res["splats_expected"]))
    for s in res["splat_list"]:
        out.append("  %s serial.log:%d during %s: %s" % (
            "expected  " if s["expected"] else "UNEXPECTED",
            s["line"], s["during"], s["first_line"][:70]))
        if s["expected"]:
            out.append("             (%s)" % s["expected"])
    if res.get("boot_error"):
        out.append("guest     %s" % res["boot_error"])
    out.append("verdict   %s" % res["verdict"].upper())
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="the run folder")
    ap.add_argument("--tree", required=True, help="kernel tree (for kunit.py)")
    ap.add_argument("--known", help="known-failures file")
    ap.add_argument("--expected-warnings", help="expected-warnings file")
    ap.add_argument("--meta", action="append", default=[],
                    help="KEY=VALUE copied into results.json")
    args = ap.parse_args()
    meta = {}
    for kv in args.meta:
        k, v = kv.split("=", 1)
        meta[k] = int(v) if v.isdigit() else v
    res = build_results(args.run, args.tree, args.known,
                        args.expected_warnings, meta)
    with open(os.path.join(args.run, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(table(res))
    return 0 if res["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
