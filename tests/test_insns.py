#!/usr/bin/env python3
"""Tests of report/insns.py (pairing lab-bench's figures with the QEMU
plugin's instruction counts) and report/insnprof.py (naming where they
went)."""

import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "report"))

import insns  # noqa: E402
import insnprof as prof  # noqa: E402

RESULTS = """\
@@LAB begin bench
warmup hmm-migrate-0 3 steady
bench hmm-migrate-to-dev-private 51234.5 pages/s 16384
bench hmm-migrate-to-sys-private 60000.0 pages/s 16384
bench dax-unbind-4k 12.5 ms 1
@@LAB end bench rc=0
"""

# the QEMU log (-D): the plugin's lines, and a profile line to skip
LOG = """\
lab-prof ffffffff81000000 10
lab-insns 163840000
lab-insns 81920000
lab-insns 2500000
"""


def write(text):
    fd, path = tempfile.mkstemp(prefix="lab-insns-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class InsnsTest(unittest.TestCase):
    def setUp(self):
        self.paths = []

    def tearDown(self):
        for p in self.paths:
            os.unlink(p)

    def pair(self, results, log):
        self.paths += [write(results), write(log)]
        return insns.pair(insns.bench_lines(self.paths[-2]),
                          insns.counts(self.paths[-1]))

    def test_rates_become_operations_per_million_instructions(self):
        rows = self.pair(RESULTS, LOG)
        self.assertEqual(rows[0], ("hmm-migrate-to-dev-private", 100.0,
                                   "pages/Minsn"))
        self.assertEqual(rows[1], ("hmm-migrate-to-sys-private", 200.0,
                                   "pages/Minsn"))

    def test_a_time_becomes_the_instructions_it_took(self):
        self.assertEqual(self.pair(RESULTS, LOG)[2],
                         ("dax-unbind-4k", 2.5, "Minsn"))

    def test_a_missing_count_is_an_error(self):
        # a region the plugin did not see (or a figure without a region)
        # would shift every later pairing by one
        with self.assertRaisesRegex(ValueError, "3 bench figures but 2"):
            self.pair(RESULTS, "lab-insns 1\nlab-insns 2\n")

    def test_a_line_without_its_operations_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "OPS"):
            self.pair("bench dax-unbind-4k 12.5 ms\n", "lab-insns 1\n")

    def test_a_zero_count_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "0 instructions"):
            self.pair("bench dax-unbind-4k 12.5 ms 1\n", "lab-insns 0\n")


SYSTEM_MAP = """\
ffffffff81000000 T _stext
ffffffff81100000 T pgmap_request_folio
ffffffff81100200 t pgmap_claim
ffffffff81200000 T _etext
ffffffff81300000 D some_data
"""


def run_dir(results, log):
    d = tempfile.mkdtemp(prefix="lab-prof-")
    for name, text in (("System.map", SYSTEM_MAP), ("results.log", results),
                       ("insns.log", log)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    return d


class ProfileTest(unittest.TestCase):
    def test_addresses_are_named_per_operation(self):
        d = run_dir(
            "bench hmm-migrate-to-dev-private 1.0 pages/s 100\n"
            "kallsyms ffffffffa0001000 t dmirror_devmem_take [test_hmm]\n"
            "module test_hmm 8192 0xffffffffa0000000\n",
            "lab-insns 50000\n"
            "lab-prof ffffffff81100010 3000\n"   # in pgmap_request_folio
            "lab-prof ffffffff81100208 1000\n"   # in pgmap_claim
            "lab-prof ffffffffa0001010 500\n"    # in the module
            "lab-prof ffffffffa0003000 100\n"    # past the module's end
            "lab-prof ffffffffff600000 100\n"    # vsyscall page: no symbol
            "lab-prof 401000 200\n")             # user space
        total, funcs = prof.per_function(d)["hmm-migrate-to-dev-private"]
        self.assertEqual(total, 500)
        self.assertEqual(funcs["pgmap_request_folio"], 30)
        self.assertEqual(funcs["pgmap_claim"], 10)
        self.assertEqual(funcs["dmirror_devmem_take [test_hmm]"], 5)
        self.assertEqual(funcs[prof.USER], 2)
        self.assertEqual(funcs["[unknown]"], 2)

    def test_an_unbalanced_region_is_an_error(self):
        d = run_dir("bench a-b 1.0 pages/s 1\n",
                    "lab-insns-error end outside a region\nlab-insns 10\n")
        with self.assertRaisesRegex(ValueError, "outside a region"):
            prof.per_function(d)

    def test_insns_refuses_an_unbalanced_region(self):
        path = write("lab-insns-error begin inside a region\nlab-insns 1\n")
        self.addCleanup(os.unlink, path)
        with self.assertRaisesRegex(ValueError, "unbalanced"):
            insns.counts(path)

    def test_regions_and_figures_must_agree(self):
        d = run_dir("bench a-b 1.0 pages/s 1\nbench c-d 1.0 pages/s 1\n",
                    "lab-insns 10\n")
        with self.assertRaisesRegex(ValueError, "2 figures, 1 regions"):
            prof.per_function(d)


if __name__ == "__main__":
    unittest.main()
