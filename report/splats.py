"""Kernel complaints (splats) in the console log, and the kernel's taint.

A splat starts at a title line (BUG:, WARNING:, a hung task, an RCU stall,
a general protection fault, ...), or at the "cut here" / "=====" line just
before its title. Every title starts a splat of its own: a BUG printed in
the middle of another report is counted, not absorbed. Lines that only
continue a report (Oops:, a panic, a KASAN detail after a fault, the call
trace) belong to the splat before them. A call trace with no title (a bare
dump_stack()) is a splat too.

Each splat is attributed to what was running: a KUnit case (suite.case,
named by the result line that follows it), a KUnit suite's init or exit,
or a guest suite and the case its program announced with "@@LAB case".
"""

import re

TITLE = re.compile(
    r"\bBUG: |\bWARNING: |\bUBSAN: |general protection fault|"
    r"INFO: task .* blocked for more than|INFO: rcu_\S+ (self-)?detected stall|"
    r"\bRCU Tasks\S* detected stall|Kernel panic - |\bOops: ")
OPENER = re.compile(r"-+\[ cut here \]-+|^={40,}$")
CONTINUES = re.compile(
    r"Kernel panic - |^KASAN: |\bCall Trace:|^#PF: |Modules linked in|"
    r"^CPU: |^Hardware name|^RIP: |^Code: |^RSP: |^R[A-Z0-9]{2}: ")
# An "Oops:" line continues the report of a fault (BUG: unable to handle,
# a general protection fault, a kernel BUG at), and starts one otherwise.
FAULT = re.compile(r"BUG: |general protection fault")
END = re.compile(r"---\[ end trace|---\[ end Kernel panic|^={40,}$")
SPAN = 80  # lines after a title that may still belong to its report

MARKER = re.compile(r"^@@LAB (begin|end|case) (\S+)")
KUNIT_SUBTEST = re.compile(r"^(\s*)# Subtest: (\S+)")
KUNIT_RESULT = re.compile(r"^(\s*)(?:not )?ok \d+ (\S+)")

# Taint flags, bit by bit (kernel/panic.c taint_flags[]).
TAINT_LETTERS = "PFSRMBUDAWCIOELKXTN"


def strip_console(line):
    """The console line without its printk timestamp."""
    return re.sub(r"^\s*\[\s*\d+\.\d+\]\s?", "", line.rstrip("\r\n"))


class Attribution:
    """What was running at each console line."""

    def __init__(self):
        self.suite, self.case = "boot", None
        self.kunit_suite, self.kunit_indent = None, 0
        self.pending = []  # KUnit splats waiting for their result line

    def line(self, line):
        m = MARKER.match(line)
        if m:
            kind, name = m.groups()
            if kind == "begin":
                self.suite, self.case = name, None
            elif kind == "end":
                self.suite, self.case = "idle", None
            else:
                self.case = name
            self.kunit_suite = None
            self.settle("%s (init or exit)" % self.pending_suite())
            return
        if self.suite != "boot":
            return
        m = KUNIT_SUBTEST.match(line)
        if m and not (self.kunit_suite and len(m.group(1)) > self.kunit_indent):
            self.settle("%s (init or exit)" % self.pending_suite())
            self.kunit_suite, self.kunit_indent = m.group(2), len(m.group(1))
            return
        m = KUNIT_RESULT.match(line)
        if m and self.kunit_suite:
            # a case's result is indented like its suite's "# Subtest:"
            # line; the suite's own result is indented less
            if len(m.group(1)) >= self.kunit_indent:
                self.settle("%s.%s" % (self.kunit_suite, m.group(2)))
            else:
                self.settle("%s (init or exit)" % self.kunit_suite)
                self.kunit_suite = None

    def pending_suite(self):
        return self.kunit_suite or "kunit"

    def settle(self, case):
        for splat in self.pending:
            splat["case"] = case
        self.pending = []

    def attach(self, splat):
        if self.suite == "boot" and self.kunit_suite:
            splat["suite"] = "kunit"
            splat["case"] = "%s (init or exit)" % self.kunit_suite
            self.pending.append(splat)
        else:
            splat["suite"], splat["case"] = self.suite, self.case


def continues(line, current):
    """Whether a title-like line is part of the report before it."""
    if "Oops: " in line:
        return bool(FAULT.search(current["title"])) and "WARNING:" not in current["title"]
    return bool(CONTINUES.search(line))


def find(lines):
    """Splats in a console log: dicts with line, text, title, suite, case
    and during (suite or suite.case, for the summary)."""
    splats, current, opener, where = [], None, None, Attribution()
    recent = []  # the last lines, for the text between an opener and a title
    for i, raw in enumerate(lines, 1):
        line = strip_console(raw)
        recent = (recent + [line])[-4:]
        where.line(line)
        if current and (i - current["line"] > SPAN or current.get("ended")):
            current = None
        title = TITLE.search(line)
        if OPENER.search(line) and not (current and END.search(line)):
            opener = i
        elif title and not (current and continues(line, current)):
            start = opener if opener and i - opener <= 3 else i
            current = {"line": start, "title": line,
                       "text": recent[start - i - 1:]}
            where.attach(current)
            splats.append(current)
            opener = None
            continue
        elif "Call Trace:" in line and current is None:
            current = {"line": i, "title": "Call Trace (no title)",
                       "text": [line]}
            where.attach(current)
            splats.append(current)
            continue
        if current is not None:
            current["text"].append(line)
            if END.search(line):
                current["ended"] = True
    for splat in splats:
        splat["text"] = "\n".join(splat["text"])
        splat.pop("ended", None)
        splat["during"] = splat["case"] or splat["suite"]
    return splats


def taint_flags(value):
    """The letters of a taint value, e.g. 0x40200 -> "WN"."""
    out = ""
    for bit, letter in enumerate(TAINT_LETTERS):
        if value & (1 << bit):
            out += letter
    rest = value >> len(TAINT_LETTERS)
    if rest:
        out += "?(0x%x)" % (rest << len(TAINT_LETTERS))
    return out
