#!/usr/bin/env python3
"""Turn one guest run into results.json, a summary table and a verdict.

Inputs, all in the run folder:
  serial.log   the guest console: KTAP from built-in KUnit suites, kernel
               splats, and the "@@LAB begin/end/case" markers of guest/init
  results.log  the results port: each suite's TAP framed by
               "@@LAB begin NAME" / "@@LAB end NAME rc=N", the kernel's
               taint ("@@LAB taint N"), then "@@LAB done"

The lists in report/ (lablists.py says their format) say what must run
(manifest), what may fail (known-failures), skip (known-skips) or warn
(expected-warnings) under which conditions. The verdict is PASS only when
every one of these holds; each that does not is one line under
"problems", naming the cause:
  - every suite of the manifest ran, with the number of cases it lists;
    no suite ran that the manifest does not know;
  - no case failed, unless listed as a known failure for this run;
  - no case skipped, unless listed as a known skip;
  - every kernel splat came from a known failure or is a warning its case
    provokes on purpose, and each such case warned exactly as often as
    listed;
  - the kernel's taint flags are explained by those splats (and N, which
    KUnit sets);
  - the guest finished, and the lab saw no boot error.

Exit status: 0 when the verdict is "pass", 1 otherwise.
"""

import argparse
import fnmatch
import json
import os
import re
import sys

import ktap
import ktest
import lablists
import splats as splatmod

HERE = os.path.dirname(os.path.abspath(__file__))


def is_pseudo(case):
    """A pseudo-case stands for something about a suite, not a test."""
    return "(" in case["name"]


def counts(cases):
    c = {k: 0 for k in ("pass", "fail", "skip", "xfail")}
    for case in cases:
        c[case["result"]] += 1
    return c


def selected(meta):
    """--only: {suite: [filters]} of a filtered run, or None."""
    only = meta.get("only") or ""
    if not only:
        return None
    sel = {}
    for item in only.split(","):
        suite, _, filt = item.partition(":")
        sel.setdefault(suite, [])
        if filt:
            sel[suite].append(filt)
    return sel


def conditions_of(meta):
    return {k: str(v) for k, v in meta.items()}


class Judge:
    """Collects the cases of every suite and the problems of the run."""

    def __init__(self, lists):
        self.lists = lists
        self.suites = {}
        self.problems = []

    def add_suite(self, name, cases, **extra):
        for case in cases:
            rule = lablists.match(self.lists["known"], name, case["name"])
            if rule and case["result"] == "fail":
                case["result"], case["reason"] = "xfail", rule.reason
            elif rule and case["result"] == "pass":
                case["note"] = "listed as a known failure here, but passed"
            if case["result"] == "skip":
                rule = lablists.match(self.lists["skips"], name, case["name"])
                if rule:
                    case["listed"] = rule.reason
        self.suites[name] = dict(counts(cases), cases=cases, **extra)

    def problem(self, text):
        self.problems.append(text)

    def judge_cases(self):
        for name, suite in self.suites.items():
            for case in suite["cases"]:
                if case["result"] == "fail":
                    self.problem("fail: %s: %s%s" % (
                        name, case["name"],
                        " (%s)" % case["reason"] if case["reason"] else ""))
                elif case["result"] == "skip" and "listed" not in case:
                    self.problem("skip not in report/known-skips: %s: %s%s" % (
                        name, case["name"],
                        " (%s)" % case["reason"] if case["reason"] else ""))

    def real_cases(self, suite):
        if suite not in self.suites:
            return []
        return [c for c in self.suites[suite]["cases"] if not is_pseudo(c)]

    def judge_manifest(self, sel):
        for exp in self.lists["manifest"]:
            if sel is not None:
                continue
            n = sum(1 for c in self.real_cases(exp.suite)
                    if fnmatch.fnmatchcase(c["name"], exp.glob))
            if n != exp.count:
                self.problem("manifest: %s: %s: %d cases reported, %d expected (%s)"
                             % (exp.suite, exp.glob, n, exp.count, exp.where))
        globs = {}
        for exp in self.lists["manifest"]:
            globs.setdefault(exp.suite, []).append(exp.glob)
        for suite, names in globs.items():
            if sel is not None:
                break
            for c in self.real_cases(suite):
                if not any(fnmatch.fnmatchcase(c["name"], g) for g in names):
                    self.problem("manifest: %s: %s matches no line of report/manifest"
                                 % (suite, c["name"]))
        if sel is not None:
            for suite in sel:
                if not self.real_cases(suite):
                    self.problem("%s: no case ran (the filter matched nothing?)" % suite)


def exec_cases(entry):
    """--exec CMD: one case, passed when CMD exited 0."""
    if entry is None or entry["rc"] is None:
        return [ktest.pseudo("the command did not finish")]
    return [{"name": "exec", "result": "pass" if entry["rc"] == 0 else "fail",
             "reason": "exit status %d" % entry["rc"] if entry["rc"] else ""}]


def kunit_suite(judge, tree, serial_lines, want):
    """The KUnit suites of the console log, as one suite "kunit"."""
    try:
        per_suite, errors = ktap.parse(tree, serial_lines)
    except ImportError as e:
        judge.problem("kunit: cannot read KTAP: %s" % e)
        per_suite, errors = {}, []
    cases = [c for suite in per_suite.values() for c in suite]
    if not per_suite and want:
        cases = [{"name": "(no KTAP output found)", "result": "fail",
                  "reason": "no KUnit suite printed anything"}]
    names = [c["name"] for c in cases]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        cases.append({"name": "(case reported %d times: %s)" % (names.count(dup), dup),
                      "result": "fail", "reason": ""})
    judge.add_suite("kunit", cases, suites={}, parser_errors=errors)
    for name, scases in per_suite.items():
        judge.suites["kunit"]["suites"][name] = counts(scases)


# Reports of the kernel's checkers: a known failure does not excuse them
# (only an expected-warnings line naming the case can).
CHECKER = re.compile(r"BUG: KASAN|UBSAN:|possible circular locking|"
                     r"inconsistent lock state|possible recursive locking|"
                     r"suspicious RCU usage|sleeping function called")


def judge_splats(judge, serial_lines, sel):
    """Mark each splat expected or not, and check the listed counts."""
    found = splatmod.find(serial_lines)
    xfail = {(s, c["name"]) for s, suite in judge.suites.items()
             for c in suite["cases"] if c["result"] == "xfail"}
    seen = {}
    for s in found:
        s["expected"] = None
        if (s["suite"], s["case"]) in xfail and not CHECKER.search(s["text"]):
            s["expected"] = "from a known failure"
            continue
        for rule in judge.lists["warnings"]:
            if rule.suite == s["suite"] and rule.case == (s["case"] or "-") and \
                    rule.regex.search(s["text"]):
                s["expected"] = rule.reason
                seen[rule] = seen.get(rule, 0) + 1
                break
    warned = []
    for rule in judge.lists["warnings"]:
        ran = any(rule.case in (c["name"], "-") for c in judge.real_cases(rule.suite))
        n = seen.get(rule, 0)
        if ran:
            warned.append({"suite": rule.suite, "case": rule.case,
                           "count": n, "listed": rule.count})
        if not ran and sel is None and judge.real_cases(rule.suite):
            judge.problem("expected warning: %s: %s did not run (%s lists it)"
                          % (rule.suite, rule.case, rule.where))
        # a filtered run may run only part of a suite: a "-" rule (the
        # whole suite) may then warn less, never more
        partial = sel is not None and rule.case == "-"
        if ran and (n > rule.count if partial else n != rule.count):
            judge.problem("expected warning: %s: %s warned %d times, %d listed (%s)"
                          % (rule.suite, rule.case, n, rule.count, rule.where))
    for s in found:
        if not s["expected"]:
            judge.problem("splat: serial.log:%d during %s: %s"
                          % (s["line"], s["during"], s["title"][:90]))
    return found, warned


def judge_console(judge, serial_lines, order):
    """The console is whole: it has every suite's begin marker, and printk
    dropped nothing (a splat may be in what was lost)."""
    text = "".join(serial_lines)
    for name in order:
        if "@@LAB begin %s" % name not in text:
            judge.problem("console: serial.log lacks '@@LAB begin %s': the "
                          "console is incomplete, splats may be missing" % name)
    if "printk messages dropped" in text:
        judge.problem("console: the kernel dropped printk messages; splats may be missing")


# Taint flags a run may show, and the splat that explains each.
TAINT_FROM = (("W", ("WARNING:",)), ("D", ("Oops", "BUG:", "general protection")),
              ("B", ("Bad page", "KASAN")), ("L", ("soft lockup",)))


def judge_taint(judge, taint, found, done):
    """The kernel's taint at the end of the run, flag by flag."""
    if taint is None:
        if done:
            judge.problem("taint: the guest did not report the kernel's taint "
                          "(@@LAB taint) at the end of the run")
        return None
    allowed = set()
    if judge.suites.get("kunit", {}).get("suites"):
        allowed.add("N")  # KUnit taints the kernel when a suite runs
    for s in found:
        if s["expected"]:
            for flag, words in TAINT_FROM:
                if any(w in s["text"] for w in words):
                    allowed.add(flag)
    flags = splatmod.taint_flags(taint)
    for flag in flags:
        if flag not in allowed and flag.isalpha():
            judge.problem("taint: the kernel is tainted %s (%d); flag %s is not "
                          "explained by an expected splat" % (flags, taint, flag))
    if "?" in flags:
        judge.problem("taint: unknown taint bits in %d" % taint)
    return flags


def build_results(run, tree, known_path, expected_path, meta,
                  known_skips_path=None, manifest_path=None):
    """results.json's content for one run folder."""
    known_skips_path = known_skips_path or os.path.join(HERE, "known-skips")
    manifest_path = manifest_path or os.path.join(HERE, "manifest")
    try:
        with open(os.path.join(run, "serial.log"), errors="replace") as f:
            serial_lines = f.readlines()
    except OSError:
        serial_lines = []
    try:
        with open(os.path.join(run, "results.log"), errors="replace") as f:
            port_text = f.read()
    except OSError:
        port_text = ""
    entries, order, taint, done = ktest.parse_results_port(port_text)
    cond = conditions_of(meta)
    sel = selected(meta)
    lists = {"manifest": [], "known": [], "skips": [], "warnings": []}
    list_error = None
    try:
        lists = {"manifest": lablists.load_manifest(manifest_path, cond),
                 "known": lablists.load_rules(known_path, cond),
                 "skips": lablists.load_rules(known_skips_path, cond),
                 "warnings": lablists.load_warnings(expected_path, cond)}
    except lablists.ListError as e:
        list_error = str(e)
    judge = Judge(lists)
    if not serial_lines:
        judge.problem("console: serial.log is missing or empty")
    if list_error:
        judge.problem("lists: %s" % list_error)

    manifest_suites = []
    for exp in lists["manifest"]:
        if exp.suite not in manifest_suites:
            manifest_suites.append(exp.suite)
    want = [s for s in manifest_suites if sel is None or s in sel]
    if sel is not None:
        want += [s for s in sel if s not in want]
    if "kunit" in want or sel is None:
        kunit_suite(judge, tree, serial_lines, "kunit" in want)
    for name in want + [s for s in order if s not in want]:
        if name == "kunit" or name in judge.suites:
            continue
        if name == "exec":
            judge.add_suite(name, exec_cases(entries.get(name)))
            continue
        judge.add_suite(name, ktest.suite_cases(entries.get(name)))
        if name not in manifest_suites and name != "exec":
            judge.problem("%s: ran in the guest, but report/manifest does not list it"
                          % name)
    judge.judge_manifest(sel)
    judge.judge_cases()
    found, warned = judge_splats(judge, serial_lines, sel)
    judge_console(judge, serial_lines, order)
    flags = judge_taint(judge, taint, found, done)
    if not done:
        judge.problem("guest: it did not finish its suites (no @@LAB done)")
    if meta.get("boot_error"):
        judge.problem("guest: %s" % meta["boot_error"])

    for s in found:
        s["first_line"] = s["title"]
    unexpected = sum(1 for s in found if not s["expected"])
    verdict = "fail" if judge.problems else "pass"
    return dict(meta, suites=judge.suites, splats=unexpected,
                splats_expected=len(found) - unexpected, splat_list=found,
                expected_warnings=warned, taint=taint, taint_flags=flags,
                guest_finished=done, problems=judge.problems,
                filtered=sel is not None, verdict=verdict)


def table(res):
    out = []
    out.append("base      %s, %d patches, %s kernel, THP %s"
               % (res.get("base"), res.get("patches", 0), res.get("variant"),
                  res.get("thp")))
    if res.get("filtered"):
        only = res.get("only")
        out.append("filter    %s: the manifest's counts are not checked"
                   % ("--exec" if only == "exec" else "--only %s" % only))
    out.append("%-16s %5s %5s %5s %6s" % ("suite", "pass", "fail", "skip", "known"))
    for name, s in res["suites"].items():
        out.append("%-16s %5d %5d %5d %6d" % (name, s["pass"], s["fail"],
                                               s["skip"], s["xfail"]))
        for sub, c in sorted(s.get("suites", {}).items()):
            out.append("  %-14s %5d %5d %5d %6d" % (sub[:14], c["pass"],
                       c["fail"], c["skip"], c["xfail"]))
    for name, s in res["suites"].items():
        for c in s["cases"]:
            if c["result"] == "skip":
                out.append("  skip  %s: %s (%s)%s" % (
                    name, c["name"], c.get("listed") or c["reason"] or "no reason",
                    "" if "listed" in c else " NOT LISTED"))
            elif c["result"] == "xfail":
                out.append("  known %s: %s (%s)" % (name, c["name"], c["reason"]))
            elif c.get("note"):
                out.append("  note  %s: %s: %s" % (name, c["name"], c["note"]))
    for w in res.get("expected_warnings", []):
        out.append("  warns %s: %s: %d time%s (listed: %d)" % (
            w["suite"], w["case"], w["count"], "" if w["count"] == 1 else "s",
            w["listed"]))
    out.append("splats    %d unexpected, %d expected"
               % (res["splats"], res["splats_expected"]))
    for s in res["splat_list"]:
        out.append("  %s serial.log:%d during %s: %s" % (
            "expected  " if s["expected"] else "UNEXPECTED",
            s["line"], s["during"], s["first_line"][:70]))
    taint = res.get("taint")
    out.append("taint     %s" % ("not reported" if taint is None else
                                 "%d %s" % (taint, res.get("taint_flags") or "(none)")))
    if res["problems"]:
        out.append("problems  %d" % len(res["problems"]))
        for p in res["problems"]:
            out.append("  " + p)
    out.append("verdict   %s%s" % (res["verdict"].upper(),
                                   " (filtered run)" if res.get("filtered") else ""))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, help="the run folder")
    ap.add_argument("--tree", required=True, help="kernel tree (for kunit_parser)")
    ap.add_argument("--known", help="known-failures file")
    ap.add_argument("--expected-warnings", help="expected-warnings file")
    ap.add_argument("--known-skips", help="known-skips file (default: report/known-skips)")
    ap.add_argument("--manifest", help="manifest file (default: report/manifest)")
    ap.add_argument("--meta", action="append", default=[],
                    help="KEY=VALUE copied into results.json")
    args = ap.parse_args()
    meta = {}
    for kv in args.meta:
        k, v = kv.split("=", 1)
        meta[k] = int(v) if v.isdigit() else v
    res = build_results(args.run, args.tree, args.known,
                        args.expected_warnings, meta,
                        known_skips_path=args.known_skips,
                        manifest_path=args.manifest)
    with open(os.path.join(args.run, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    print(table(res))
    return 0 if res["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
