"""The guest's results port and the kselftest TAP of each suite on it.

The port (ttyS1) carries each suite framed by "@@LAB begin NAME" and
"@@LAB end NAME rc=N", then "@@LAB taint N" and "@@LAB done". A suite's
TAP is judged on what it says and on what it should have said: a plan of
0, no plan, fewer or more results than planned, a bail-out, a non-zero
exit with no failing case, or no end line each add a failing pseudo-case
whose name says which.
"""

import re

TAP_LINE = re.compile(
    r"^(not ok|ok)\s+\d+\s+(.*?)(?:\s+#\s*(SKIP|XFAIL|XPASS|TODO)\b\s*(.*))?$",
    re.I)


def parse_results_port(text):
    """{suite: {"text": TAP, "rc": int|None}}, the order they ran in, the
    taint value (int or None) and whether the guest said it was done."""
    suites, order, current, buf = {}, [], None, []
    taint, done = None, False
    for line in text.splitlines():
        if line.startswith("@@LAB begin "):
            current, buf = (line.split()[2:] or ["(unnamed)"])[0], []
            order.append(current)
        elif line.startswith("@@LAB end ") and current:
            m = re.search(r"rc=(-?\d+)", line)
            suites[current] = {"text": "\n".join(buf),
                               "rc": int(m.group(1)) if m else None}
            current = None
        elif line.startswith("@@LAB taint "):
            m = re.match(r"@@LAB taint (\d+)\s*$", line)
            taint = int(m.group(1)) if m else None
        elif line.startswith("@@LAB done"):
            done = True
        elif current:
            buf.append(line)
    if current:  # the guest stopped inside a suite
        suites[current] = {"text": "\n".join(buf), "rc": None}
    return suites, order, taint, done


def parse_tap(text):
    """kselftest TAP: {"cases": [...], "planned": N|None, "bailout": str}."""
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
        directive = (directive or "").upper()
        if directive == "SKIP":
            result = "skip"
        elif directive in ("XFAIL", "XPASS", "TODO"):
            # the harness's own verdict is not ours: a case it calls an
            # expected failure fails here unless report/known-failures
            # lists it
            result, reason = "fail", "%s %s" % (directive, reason or "")
        else:
            result = "pass" if ok == "ok" else "fail"
        cases.append({"name": name.strip(), "result": result,
                      "reason": (reason or "").strip()})
    return {"cases": cases, "planned": planned, "bailout": bailout}


def pseudo(name, reason=""):
    """A failing pseudo-case: something about the suite that did not hold."""
    return {"name": "(%s)" % name, "result": "fail", "reason": reason}


def suite_cases(entry):
    """Cases of one kselftest suite (entry from parse_results_port), with
    a failing pseudo-case for each way the suite itself went wrong."""
    if entry is None:
        return [pseudo("suite did not run")]
    tap = parse_tap(entry["text"])
    cases = tap["cases"]
    reported, planned = len(cases), tap["planned"]
    if tap["bailout"]:
        cases.append(pseudo("bail out", tap["bailout"]))
    if planned is None:
        cases.append(pseudo("no TAP plan: the suite printed no 1..N line"))
    elif planned == 0:
        cases.append(pseudo("plan of 0 cases: the suite ran nothing"))
    elif reported < planned:
        cases.append(pseudo("%d of %d cases did not report"
                            % (planned - reported, planned)))
    elif reported > planned:
        cases.append(pseudo("%d results for a plan of %d" % (reported, planned)))
    names = [c["name"] for c in tap["cases"]]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        cases.append(pseudo("case reported %d times: %s" % (names.count(dup), dup)))
    if entry["rc"] is None:
        cases.append(pseudo("suite did not finish"))
    elif entry["rc"] != 0 and not any(c["result"] == "fail" for c in cases):
        cases.append(pseudo("exit status %d" % entry["rc"]))
    return cases
