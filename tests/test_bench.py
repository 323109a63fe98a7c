#!/usr/bin/env python3
"""Tests of report/bench.py: ratios per round, the A/A control and when a
row gets a verdict."""

import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "report"))

import bench  # noqa: E402


def figures(rows):
    """bench.load() of raw.txt lines built from (kernel, round, name, value)."""
    fd, path = tempfile.mkstemp(prefix="lab-bench-")
    with os.fdopen(fd, "w") as f:
        for kernel, rnd, name, value in rows:
            unit = "ms" if name.endswith("unbind") else "pages/s"
            f.write("%s %d %s %s %s\n" % (kernel, rnd, name, value, unit))
    try:
        return bench.load(path)
    finally:
        os.unlink(path)


def rounds(name, base, patched, control):
    """Rows of three rounds, each kernel with the values given per round."""
    out = []
    for rnd in range(3):
        out += [("base", rnd + 1, name, base[rnd]),
                ("patched", rnd + 1, name, patched[rnd]),
                ("control", rnd + 1, name, control[rnd])]
    return out


class BenchTest(unittest.TestCase):
    def compare(self, rows):
        return bench.compare(*figures(rows))

    def test_steady_control_gives_a_verdict(self):
        r = self.compare(rounds("hmm-migrate-to-dev-private",
                                [100, 100, 100], [103, 102, 104], [100, 101, 99]))
        row = r["hmm-migrate-to-dev-private"]
        self.assertAlmostEqual(row["ratio"]["median"], 1.03, places=2)
        self.assertTrue(row["aa"]["steady"])
        self.assertIs(row["target"]["met"], True)

    def test_a_drop_misses_the_target(self):
        r = self.compare(rounds("hmm-migrate-to-dev-private",
                                [100, 100, 100], [95, 96, 94], [100, 100, 100]))
        self.assertIs(r["hmm-migrate-to-dev-private"]["target"]["met"], False)

    def test_noisy_control_gives_no_verdict(self):
        # the patched kernel looks faster, but the base against itself
        # moves more than that
        r = self.compare(rounds("hmm-migrate-to-dev-private",
                                [100, 100, 100], [110, 110, 110], [120, 90, 130]))
        row = r["hmm-migrate-to-dev-private"]
        self.assertTrue(row["target"]["noisy"])
        self.assertIsNone(row["target"]["met"])

    def test_without_a_control_there_is_no_verdict(self):
        rows = [x for x in rounds("dax-unbind-4k", [10, 10, 10], [10, 10, 10],
                                  [10, 10, 10]) if x[0] != "control"]
        row = self.compare(rows)["dax-unbind-4k"]
        self.assertIsNone(row["aa"])
        self.assertIsNone(row["target"]["met"])

    def test_a_time_must_not_grow(self):
        r = self.compare(rounds("dax-unbind-4k", [10, 10, 10], [11, 11, 11],
                                [10, 10, 10]))
        self.assertIs(r["dax-unbind-4k"]["target"]["met"], False)

    def test_a_wide_control_round_is_noisy(self):
        # the A/A median is 1.00, but one round of it is 30 % off
        r = self.compare(rounds("hmm-migrate-to-dev-private",
                                [100, 100, 100], [105, 105, 105], [100, 130, 100]))
        self.assertIsNone(r["hmm-migrate-to-dev-private"]["target"]["met"])

    def test_drift_across_a_round_cancels(self):
        # the host slows down 2 % a boot: base, patched, control in turn
        rows = []
        for rnd in range(3):
            t = 100 * (0.98 ** (3 * rnd))
            rows += [("base", rnd + 1, "hmm-migrate-to-dev-private", t),
                     ("patched", rnd + 1, "hmm-migrate-to-dev-private", t * 0.98),
                     ("control", rnd + 1, "hmm-migrate-to-dev-private", t * 0.98 ** 2)]
        row = self.compare(rows)["hmm-migrate-to-dev-private"]
        self.assertAlmostEqual(row["ratio"]["median"], 1.0, places=3)

    def test_a_row_one_kernel_did_not_report_is_missing(self):
        rows = [x for x in rounds("hmm-device-fault-private", [100] * 3,
                                  [100] * 3, [100] * 3) if x[0] != "patched"]
        row = self.compare(rows)["hmm-device-fault-private"]
        self.assertTrue(row["missing"])
        self.assertEqual(row["kernels"], ["base", "control"])

    def test_ratio_is_taken_per_round(self):
        # round medians: a slow round for both kernels cancels out
        r = self.compare(rounds("hmm-device-fault-private",
                                [100, 50, 100], [100, 50, 100], [100, 50, 100]))
        self.assertEqual(r["hmm-device-fault-private"]["ratio"]["min"], 1.0)


if __name__ == "__main__":
    unittest.main()
