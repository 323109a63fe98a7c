"""The lab's lists: what must run, what may fail, skip or warn, and when.

Every list is a text file in report/, one rule a line, '#' comments. A
rule's "when" field is "always" or comma-separated KEY=VALUE conditions on
the run (results.json keys: series, thp, variant, base_series, dax_suite); a rule
applies when all of them hold. series=applied also holds for an --as-is
run (series=as-is): the series under development.

  manifest           suite  case-glob  count  when
  known-failures     suite  case-glob  when   reason
  known-skips        suite  case-glob  when   reason
  expected-warnings  suite | case | count | when | splat regex | reason

In expected-warnings the case is one exact name (a KUnit suite.case, or
the case a guest program announced with "@@LAB case"), or "-" for a splat
in a guest suite while no case was announced.
"""

import fnmatch
import os
import re
from collections import namedtuple

Rule = namedtuple("Rule", "suite pattern when reason where")
Expect = namedtuple("Expect", "suite glob count where")
Warning = namedtuple("Warning", "suite case count regex reason where")


class ListError(Exception):
    """A malformed line in one of the lists: the run cannot be judged."""


def list_lines(path):
    """(where, text) of each rule line of a list; where is FILE:LINE."""
    if not path:
        return []
    if not os.path.exists(path):
        raise ListError("%s: no such list" % path)
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(("%s:%d" % (os.path.basename(path), n), line))
    return out


def applies(when, conditions, where):
    """Whether a rule's "when" field holds for a run's conditions."""
    if when == "always":
        return True
    for cond in when.split(","):
        if "=" not in cond:
            raise ListError("%s: condition %r is not KEY=VALUE" % (where, cond))
        key, value = cond.split("=", 1)
        have = str(conditions.get(key))
        # ./lab run --as-is builds the series as it is being developed:
        # it is judged by the series' rules
        if key == "series" and value == "applied" and have == "as-is":
            continue
        if have != value:
            return False
    return True


def load_rules(path, conditions):
    """known-failures and known-skips: the rules for this run."""
    rules = []
    for where, line in list_lines(path):
        fields = line.split(None, 3)
        if len(fields) < 4:
            raise ListError("%s: want 'suite case-glob when reason'" % where)
        if applies(fields[2], conditions, where):
            rules.append(Rule(fields[0], fields[1], fields[2], fields[3], where))
    return rules


def load_manifest(path, conditions):
    """The manifest: how many cases of each glob must report for this run."""
    out = []
    for where, line in list_lines(path):
        fields = line.split()
        if len(fields) != 4 or not fields[2].isdigit():
            raise ListError("%s: want 'suite case-glob count when'" % where)
        if applies(fields[3], conditions, where):
            out.append(Expect(fields[0], fields[1], int(fields[2]), where))
    return out


def load_warnings(path, conditions):
    """expected-warnings: the warnings cases provoke on purpose."""
    out = []
    for where, line in list_lines(path):
        fields = [x.strip() for x in line.split(" | ", 5)]
        if len(fields) != 6 or not fields[2].isdigit():
            raise ListError("%s: want 'suite | case | count | when | regex | reason'"
                            % where)
        suite, case, count, when, regex, reason = fields
        if any(c in case for c in "*?["):
            raise ListError("%s: name one case, not a glob (%s)" % (where, case))
        if applies(when, conditions, where):
            out.append(Warning(suite, case, int(count), re.compile(regex),
                               reason, where))
    return out


def match(rules, suite, name):
    """The first rule that names this case of this suite, or None."""
    for rule in rules:
        if rule.suite == suite and fnmatch.fnmatchcase(name, rule.pattern):
            return rule
    return None
