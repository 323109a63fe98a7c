#!/usr/bin/env python3
"""Tests of report/results.py on hand-made guest output (tests/samples).

The samples hold what the parser must catch: failing, skipped and bailed
out cases, a guest that stopped mid-suite, and splats of every kind, some
provoked on purpose and some not. KUnit output is parsed by the kernel
tree's own kunit_parser: set LAB_TREE to a kernel tree (./lab check does).
test_verdict.py tests the verdict on a recorded real run.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "report"))

import results  # noqa: E402
import splats  # noqa: E402

SAMPLES = os.path.join(HERE, "samples")
KNOWN = os.path.join(ROOT, "report", "known-failures")
EXPECTED = os.path.join(ROOT, "report", "expected-warnings")
TREE = os.environ.get("LAB_TREE", os.path.join(ROOT, "build", "linux-7.3"))


def run(name, **meta):
    meta.setdefault("series", "applied")
    meta.setdefault("thp", "madvise")
    # the recorded samples are runs of v1 on 6.12
    meta.setdefault("base_series", "6.12")
    meta.setdefault("dax_suite", "v1")
    return results.build_results(os.path.join(SAMPLES, name), TREE, KNOWN,
                                 EXPECTED, meta)


def case(res, suite, name):
    matches = [c for c in res["suites"][suite]["cases"] if c["name"] == name]
    assert len(matches) == 1, (suite, name, matches)
    return matches[0]


class TapTest(unittest.TestCase):
    def test_counts_fail_skip_bailout_and_missing_cases(self):
        hmm = run("run-mixed")["suites"]["hmm-tests"]
        self.assertEqual((hmm["pass"], hmm["skip"]), (2, 1))
        names = [c["name"] for c in hmm["cases"] if c["result"] == "fail"]
        self.assertEqual(names, ["hmm.hmm_device_private.anon_read",
                                 "(bail out)",
                                 "(1 of 5 cases did not report)"])

    def test_skip_keeps_its_reason(self):
        skip = case(run("run-mixed"), "hmm-tests",
                    "hmm.hmm_device_private.anon_write_hugetlbfs")
        self.assertEqual(skip["result"], "skip")
        self.assertEqual(skip["reason"], "Huge page size could not be determined")

    def test_guest_that_stopped_fails_every_suite_left(self):
        res = run("run-unfinished")
        self.assertFalse(res["guest_finished"])
        self.assertEqual(res["verdict"], "fail")
        names = [c["name"] for c in res["suites"]["hmm-tests"]["cases"]]
        self.assertIn("(suite did not finish)", names)
        self.assertEqual([c["name"] for c in res["suites"]["dax"]["cases"]],
                         ["(suite did not run)"])


class KnownFailureTest(unittest.TestCase):
    def test_known_failure_counts_as_known_only_where_it_applies(self):
        base = run("run-mixed", series="none")
        patched = run("run-mixed", series="applied")
        name = "dax_unbind.align_2m.pin_across_unbind"
        self.assertEqual(case(base, "dax", name)["result"], "xfail")
        self.assertIn("bug this series fixes", case(base, "dax", name)["reason"])
        self.assertEqual(case(patched, "dax", name)["result"], "fail")

    def test_known_failure_that_passes_is_noted(self):
        res = run("run-mixed", thp="always")
        ex = case(res, "hmm-tests", "hmm.hmm_device_private.exclusive")
        self.assertEqual(ex["result"], "pass")
        self.assertIn("passed", ex["note"])


class SplatTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(SAMPLES, "run-mixed", "serial.log")) as f:
            self.splats = splats.find(f.readlines())

    def test_each_splat_counted_once(self):
        firsts = [s["text"].splitlines()[0] for s in self.splats]
        self.assertEqual(len(self.splats), 5, firsts)

    def test_splats_attributed_to_what_ran(self):
        self.assertEqual([s["during"] for s in self.splats], [
            "memremap.pgmap_request_folio_misaligned",
            "memremap.pgmap_request_folio_dying",
            "hmm-tests",
            "dax_unbind.align_2m.pin_across_unbind",
            "dax_unbind.align_4k.pin_across_unbind"])

    def test_provoked_warning_is_expected_and_others_are_not(self):
        res = run("run-mixed", series="none")
        expected = [(s["during"], bool(s["expected"])) for s in res["splat_list"]]
        # the warning rules hold with the series only; the oops comes from a
        # case known to fail on the base; a lockdep report is never excused
        # by a known failure
        self.assertEqual(expected, [
            ("memremap.pgmap_request_folio_misaligned", False),
            ("memremap.pgmap_request_folio_dying", False),
            ("hmm-tests", False),
            ("dax_unbind.align_2m.pin_across_unbind", True),
            ("dax_unbind.align_4k.pin_across_unbind", False)])
        self.assertEqual((res["splats"], res["splats_expected"]), (4, 1))
        res = run("run-mixed", series="applied")
        expected = [bool(s["expected"]) for s in res["splat_list"]]
        self.assertEqual(expected, [True, False, False, False, False])

    def test_unexpected_splat_fails_the_verdict(self):
        self.assertEqual(run("run-mixed", series="none")["verdict"], "fail")


class KunitTest(unittest.TestCase):
    def test_per_suite_counts_from_kunit_py(self):
        kunit = run("run-mixed")["suites"]["kunit"]
        self.assertEqual(kunit["suites"]["memremap"],
                         {"pass": 2, "fail": 1, "skip": 0, "xfail": 0})
        self.assertEqual(kunit["suites"]["example"],
                         {"pass": 1, "fail": 0, "skip": 1, "xfail": 0})
        self.assertEqual((kunit["pass"], kunit["fail"], kunit["skip"]), (3, 1, 1))

    def test_kunit_skip_keeps_its_reason(self):
        skip = case(run("run-mixed"), "kunit", "example.example_skip_test")
        self.assertEqual(skip["reason"], "this test should be skipped")

    def test_results_json_has_the_stable_keys(self):
        res = run("run-mixed", base="6.12.117", patches=15)
        for key in ("base", "patches", "suites", "splats", "verdict"):
            self.assertIn(key, res)
        for suite in ("kunit", "hmm-tests", "dax"):
            for key in ("pass", "fail", "skip"):
                self.assertIn(key, res["suites"][suite])


if __name__ == "__main__":
    unittest.main()
