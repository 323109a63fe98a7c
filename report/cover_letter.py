#!/usr/bin/env python3
"""Write the series' cover letter for ./lab export.

git format-patch --cover-letter makes a template with the shortlog, the
diffstat and base-commit. The subject and the text come from the previous
cover letter (written by hand); To and Cc come from the tree's
scripts/get_maintainer.pl run on the patches: maintainers and the mm list
in To, everyone else in Cc, and the people the patches credit in their
tags (Suggested-by:, Reviewed-by:, ...) in Cc as well.
"""

import argparse
import os
import re
import subprocess
import sys


def old_text(path):
    """(title, body) of a previous cover letter, or placeholders."""
    if not os.path.exists(path):
        return "*** SUBJECT HERE ***", "*** BLURB HERE ***\n"
    with open(path) as f:
        text = f.read()
    head, _, rest = text.partition("\n\n")
    m = re.search(r"^Subject: \[PATCH[^\]]*\] (.*(?:\n .*)*)", head, re.M)
    title = re.sub(r"\n ", " ", m.group(1)) if m else "*** SUBJECT HERE ***"
    m = re.search(r"^\S.* \(\d+\):$", rest, re.M)
    body = rest[:m.start()] if m else rest
    return title, body.rstrip("\n") + "\n\n"


# The MAINTAINERS entries whose maintainers the series is addressed to:
# mm (MEMORY MANAGEMENT, "- CORE" since 7.x) and, on 7.x, the entry that
# lists mm/memremap.c; device-dax (nvdimm) and VFIO, whose code v2
# changes. Their lists: linux-mm and nvdimm (VFIO's, kvm, stays in Cc).
TO_ENTRIES = ("MEMORY MANAGEMENT", "MEMORY HOT(UN)PLUG",
              "DEVICE DIRECT ACCESS (DAX)", "VFIO DRIVER")
TO_LISTS = ("linux-mm@kvack.org", "nvdimm@lists.linux.dev")


def address_and_role(line):
    """A get_maintainer.pl line split into its address and its role; a
    name may hold parentheses ("Jane Doe (ACME)" <jane@example.org>)."""
    if ">" in line:
        cut = line.rindex(">") + 1
    else:
        cut = line.find(" (") if " (" in line else len(line)
    return line[:cut].strip(), line[cut:].strip()


def maintainers(tree, patches):
    out = subprocess.run(["perl", "scripts/get_maintainer.pl", "--no-git",
                          "--no-git-fallback"] + patches, cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    to, cc = [], []
    for line in out.splitlines():
        addr, role = address_and_role(line)
        if not addr:
            continue
        if addr in TO_LISTS or any(role.startswith("(maintainer:" + e)
                                   for e in TO_ENTRIES):
            to.append(addr)
        else:
            cc.append(addr)
    return to, cc


def credited(patches):
    """Addresses named in the tags of the patches, other than sign-offs."""
    tag = re.compile(r"^(?:Suggested|Reviewed|Acked|Tested|Reported)-by: "
                     r"(.+<[^>]+>)\s*$", re.M)
    names = []
    for path in patches:
        with open(path) as f:
            for name in tag.findall(f.read().partition("\n---\n")[0]):
                if name not in names:
                    names.append(name)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--tree", required=True)
    ap.add_argument("patches", nargs="+")
    args = ap.parse_args()

    title, body = old_text(args.old)
    patches = [os.path.abspath(p) for p in args.patches
               if not p.endswith("0000-cover-letter.patch")]
    to, cc = maintainers(args.tree, patches)
    cc += [n for n in credited(patches) if n not in to + cc]
    with open(args.new) as f:
        text = f.read()
    head, _, rest = text.partition("\n\n")
    head = head.replace("*** SUBJECT HERE ***", title)
    head += "".join("\n%s: %s" % (k, ",\n ".join(v))
                    for k, v in (("To", to), ("Cc", cc)) if v)
    rest = rest.replace("*** BLURB HERE ***\n\n", body, 1)
    with open(args.new, "w") as f:
        f.write(head + "\n\n" + rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
