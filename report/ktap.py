"""KUnit results from the console log, read by the kernel's own parser.

Built-in KUnit suites print KTAP on the console at boot. The tree's
tools/testing/kunit/kunit_parser.py (what `kunit.py parse` runs) turns it
into Test objects; this module walks them and keeps what the parser knows
about a suite as well as its cases: a suite in the plan that never printed
is TEST_CRASHED with no name, a suite whose init failed has no cases, a
suite can report "not ok" with every case passing. Each of those becomes a
failing pseudo-case here, so no suite can vanish from the verdict.
"""

import contextlib
import importlib
import inspect
import io
import os
import re
import sys

KUNIT_SKIP = re.compile(r"^\s*ok \d+ (.+?) # SKIP ?(.*)$")


def load_parser(tree):
    """The tree's kunit_parser and kunit_printer modules."""
    path = os.path.join(tree, "tools", "testing", "kunit")
    if not os.path.exists(os.path.join(path, "kunit_parser.py")):
        raise ImportError("%s has no tools/testing/kunit/kunit_parser.py" % tree)
    if path not in sys.path:
        sys.path.insert(0, path)
    return (importlib.import_module("kunit_parser"),
            importlib.import_module("kunit_printer"))


def run_parser(parser, printer_mod, lines):
    """parse_run_tests() with its output captured, for any kernel's version
    (it takes a Printer since 6.13, and prints to kunit_printer.stdout
    before)."""
    out = io.StringIO()
    if "printer" in inspect.signature(parser.parse_run_tests).parameters:
        return parser.parse_run_tests(lines, printer_mod.Printer(out)), out.getvalue()
    saved = printer_mod.stdout._output
    printer_mod.stdout._output = out
    try:
        with contextlib.redirect_stdout(out):
            return parser.parse_run_tests(lines), out.getvalue()
    finally:
        printer_mod.stdout._output = saved


def skip_reasons(lines):
    """{case name: reason} of every "ok N name # SKIP reason" line."""
    reasons = {}
    for line in lines:
        m = KUNIT_SKIP.match(re.sub(r"^\s*\[\s*\d+\.\d+\]\s?", "", line))
        if m:
            reasons[m.group(1)] = m.group(2)
    return reasons


def leaves(test, prefix, status_of, reasons, params=False):
    """The leaf cases under a KUnit test, named suite.case[.param].

    A parameter's name is only its description, and two parameters of one
    case may share it (7.3's example suite has "fibonacci param: 1" twice):
    among the parameters of a case whose plan matches what it reported, a
    repeated name gets " #N". Without a plan, and for suites and cases, a
    name reported twice stays a duplicate (and fails)."""
    out = []
    seen = {}
    numbered = params and test.expected_count == len(test.subtests)
    for i, sub in enumerate(test.subtests, 1):
        name = prefix + (sub.name or "(case %d did not report)" % i)
        if numbered:
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name += " #%d" % seen[name]
        if sub.subtests:
            out += leaves(sub, name + ".", status_of, reasons, params=True)
            continue
        result = status_of(sub.status)
        reason = reasons.get(sub.name, "") if result == "skip" else \
            ("" if result == "pass" else sub.status.name)
        out.append({"name": name, "result": result, "reason": reason})
    return out


def suite_cases(suite, status_of, reasons):
    """The cases of one top-level KUnit suite, with pseudo-cases for what
    the suite itself reported."""
    name = suite.name
    cases = leaves(suite, name + ".", status_of, reasons)
    status = suite.status.name
    if not suite.subtests:
        if status_of(suite.status) == "skip":
            return [{"name": name + ".(suite skipped)", "result": "skip",
                     "reason": reasons.get(name, "")}]
        return [{"name": name + ".(no case ran)", "result": "fail",
                 "reason": "suite status %s: it failed to initialize or "
                           "crashed before its first case" % status}]
    if status_of(suite.status) == "fail" and \
            not any(c["result"] == "fail" for c in cases):
        cases.append({"name": name + ".(suite result)", "result": "fail",
                      "reason": "the suite reported %s with no failing case "
                                "(suite init or exit failed?)" % status})
    return cases


def parse(tree, lines):
    """{suite: [cases]} of the KUnit suites in a console log, in the order
    they ran, and the parser's own error lines."""
    parser, printer_mod = load_parser(tree)
    status = parser.TestStatus

    def status_of(s):
        if s == status.SUCCESS:
            return "pass"
        if s == status.SKIPPED:
            return "skip"
        return "fail"

    main, output = run_parser(parser, printer_mod, [x.rstrip("\r\n") for x in lines])
    output = re.sub(r"\x1b\[[0-9;]*m", "", output)
    errors = [re.sub(r"^\[[0-9:]+\] ", "", x) for x in output.splitlines()
              if "[ERROR]" in x]
    if main.status == status.FAILURE_TO_PARSE_TESTS:
        return {}, errors
    reasons = skip_reasons(lines)
    suites = {}
    for i, suite in enumerate(main.subtests, 1):
        if not suite.name:
            suites["(suite %d of %s)" % (i, main.expected_count)] = [{
                "name": "(suite %d of the plan never reported)" % i,
                "result": "fail",
                "reason": "the guest crashed or stopped inside it"}]
            continue
        suites[suite.name] = suite_cases(suite, status_of, reasons)
    return suites, errors
