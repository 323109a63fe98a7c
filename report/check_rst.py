#!/usr/bin/python3
"""Check a kernel Documentation .rst file without Sphinx.

docutils parses the file with the kernel's Sphinx directives and roles
stubbed, and any warning or error fails the check. Each kernel-doc
directive is run through the tree's scripts/kernel-doc, which must find
the comments it names and print no warning; each kernel-figure must name
a file that exists.

Runs with Debian's python3 and python3-docutils (/usr/bin/python3).
"""

import argparse
import os
import subprocess
import sys

from docutils import nodes, utils
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives, roles

FOUND = {"kernel-doc": [], "kernel-figure": []}


class KernelDoc(Directive):
    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {name: directives.unchanged for name in (
        "export", "internal", "identifiers", "no-identifiers", "functions",
        "doc")}

    def run(self):
        FOUND["kernel-doc"].append((self.arguments[0], dict(self.options),
                                    self.lineno))
        return []


class KernelFigure(Directive):
    required_arguments = 1
    has_content = True
    option_spec = {name: directives.unchanged for name in (
        "alt", "align", "width", "height", "scale", "figwidth", "class",
        "name")}

    def run(self):
        FOUND["kernel-figure"].append((self.arguments[0], self.lineno))
        return []


def literal_role(name, rawtext, text, lineno, inliner, options=None,
                 content=None):
    return [nodes.literal(rawtext, utils.unescape(text))], []


def sphinx_version_args(tree):
    """-sphinx-version for the Perl kernel-doc (6.12); the Python one of
    later trees has no such option and refuses it."""
    out = subprocess.run(["scripts/kernel-doc", "-h"], cwd=tree,
                         capture_output=True, text=True)
    return ["-sphinx-version", "3.4.3"] if "sphinx-version" in \
        out.stdout + out.stderr else []


def kernel_doc_args(path, options, tree):
    """scripts/kernel-doc arguments for one directive's options."""
    args = ["-rst"] + sphinx_version_args(tree)
    if "export" in options:
        args.append("-export")
    if "internal" in options:
        args.append("-internal")
    for key in ("identifiers", "functions"):
        for ident in (options.get(key) or "").split():
            args += ["-function", ident]
    if "doc" in options:
        args += ["-function", options["doc"]]
    return args + [path]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", required=True)
    ap.add_argument("rst")
    args = ap.parse_args()

    directives.register_directive("kernel-doc", KernelDoc)
    directives.register_directive("kernel-figure", KernelFigure)
    for role in ("c:func", "c:type", "c:macro", "c:member", "ref", "doc",
                 "manpage"):
        roles.register_local_role(role, literal_role)

    path = os.path.join(args.tree, args.rst)
    with open(path) as f:
        text = f.read()
    problems = []
    doc = publish_doctree(text, source_path=path, settings_overrides={
        "report_level": 5, "halt_level": 5})
    for msg in doc.traverse(nodes.system_message):
        if msg["level"] >= 2:
            problems.append("%s:%s: %s" % (args.rst, msg.get("line"),
                                           msg.astext()))

    for figure, line in FOUND["kernel-figure"]:
        if not os.path.exists(os.path.join(os.path.dirname(path), figure)):
            problems.append("%s:%s: kernel-figure %s: no such file"
                            % (args.rst, line, figure))
    for target, options, line in FOUND["kernel-doc"]:
        out = subprocess.run(["scripts/kernel-doc"] +
                             kernel_doc_args(target, options, args.tree),
                             cwd=args.tree, capture_output=True, text=True)
        wanted = (options.get("identifiers") or "").split() + \
            (options.get("functions") or "").split()
        missing = [w for w in wanted if w not in out.stdout]
        if out.returncode or not out.stdout.strip() or missing or \
                "warning" in out.stderr.lower():
            problems.append("%s:%s: kernel-doc %s: %s" % (
                args.rst, line, target, out.stderr.strip() or
                "no kernel-doc for %s" % (" ".join(missing) or "anything")))

    for p in problems:
        print(p)
    print("%s: %d kernel-doc, %d kernel-figure directives, %d problems"
          % (args.rst, len(FOUND["kernel-doc"]), len(FOUND["kernel-figure"]),
             len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
