#!/usr/bin/env python3
"""The verdict never says PASS when something did not run or did not hold.

Each class of false PASS the old report let through is tested here on the
recorded output of a real passing run (tests/samples/pass-6.12-series:
the series on Debian's 6.12.117, every suite), changed the way a guest
that went wrong would change it, several ways per class. Every changed
run must fail the verdict with a problem line that names the cause, and
the run as recorded must still pass.

KUnit output is read by the kernel tree's own kunit_parser: LAB_TREE must
name a kernel tree (./lab check sets it).
"""

import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "report"))

import results  # noqa: E402

REPORT = os.path.join(ROOT, "report")
TREE = os.environ.get("LAB_TREE", os.path.join(ROOT, "build", "linux-7.3"))
PASS_RUN = os.path.join(HERE, "samples", "pass-6.12-series")
META = {"series": "applied", "thp": "madvise", "variant": "normal",
        "base_series": "6.12", "dax_suite": "v1"}


def read(name):
    with open(os.path.join(PASS_RUN, name)) as f:
        return f.read()


SERIAL = read("serial.log")
PORT = read("results.log")


def judge(serial=SERIAL, port=PORT, **meta):
    """The results of a run folder holding these two logs."""
    run = tempfile.mkdtemp(prefix="lab-verdict-")
    try:
        with open(os.path.join(run, "serial.log"), "w") as f:
            f.write(serial)
        with open(os.path.join(run, "results.log"), "w") as f:
            f.write(port)
        return results.build_results(
            run, TREE, os.path.join(REPORT, "known-failures"),
            os.path.join(REPORT, "expected-warnings"), dict(META, **meta),
            known_skips_path=os.path.join(REPORT, "known-skips"),
            manifest_path=os.path.join(REPORT, "manifest"))
    finally:
        shutil.rmtree(run)


# Changes to the recorded logs -------------------------------------------

def kunit_suite_span(serial, suite):
    """(start, end) offsets of a KUnit suite's block, from its "KTAP
    version" line to its own result line."""
    m = re.search(r"^\[[ .0-9]+\]     # Subtest: %s\n" % re.escape(suite), serial, re.M)
    start = serial.rindex("\n", 0, serial.rindex("KTAP version", 0, m.start())) + 1
    end_m = re.compile(r"^\[[ .0-9]+\] (not )?ok \d+ %s\n" % re.escape(suite), re.M)
    e = end_m.search(serial, m.end())
    return start, e.end()


def replace_kunit_suite(serial, suite, body):
    start, end = kunit_suite_span(serial, suite)
    return serial[:start] + body + serial[end:]


def kunit_case_lines(serial, suite, fn):
    """serial with fn applied to each case result line of a suite."""
    start, end = kunit_suite_span(serial, suite)
    block = re.sub(r"^(\[[ .0-9]+\]     (?:not )?ok \d+ \S+)$",
                   lambda m: fn(m.group(1)), serial[start:end], flags=re.M)
    return serial[:start] + block + serial[end:]


def port_suite(port, suite, fn):
    """port with fn applied to the TAP text between a suite's frame lines."""
    m = re.search(r"(@@LAB begin %s\n)(.*?)(@@LAB end %s rc=\d+\n)"
                  % (re.escape(suite), re.escape(suite)), port, re.S)
    return port[:m.start(2)] + fn(m.group(2)) + port[m.end(2):]


def insert_after(serial, pattern, lines):
    """serial with console lines inserted after the first line matching."""
    m = re.search(pattern, serial, re.M)
    end = serial.index("\n", m.end()) + 1
    text = "".join("[   99.000000] %s\n" % x for x in lines)
    return serial[:end] + text + serial[end:]


def splat_block(serial, case):
    """The console lines of the splat that a KUnit case provoked."""
    case_line = re.search(r"^\[[ .0-9]+\]     ok \d+ %s$" % case, serial, re.M)
    start = serial.rindex("[ cut here ]", 0, case_line.start())
    start = serial.rindex("\n", 0, start) + 1
    end = serial.index("---[ end trace", start)
    end = serial.index("\n", end) + 1
    return start, end


WARN = ["------------[ cut here ]------------",
        "WARNING: CPU: 0 PID: 60 at mm/memremap.c:657 pgmap_request_folio+0x51a/0x6e0",
        "Modules linked in:", "Call Trace:", " <TASK>", " </TASK>",
        "---[ end trace 0000000000000000 ]---"]


class Base(unittest.TestCase):
    def assertFailsWith(self, res, *words):
        """The verdict is FAIL and one problem line has all the words."""
        self.assertEqual(res["verdict"], "fail", res["problems"])
        lines = [p for p in res["problems"] if all(w in p for w in words)]
        self.assertTrue(lines, "no problem line with %s in:\n  %s"
                        % (words, "\n  ".join(res["problems"])))


class RecordedRun(Base):
    def test_the_recorded_run_passes(self):
        res = judge()
        self.assertEqual(res["problems"], [])
        self.assertEqual(res["verdict"], "pass")
        self.assertEqual(res["suites"]["kunit"]["suites"]["memremap"]["pass"], 25)
        self.assertEqual((res["suites"]["hmm-tests"]["pass"],
                          res["suites"]["dax"]["pass"]), (68, 24))

    def test_an_as_is_run_is_judged_as_the_series(self):
        res = judge(series="as-is")
        self.assertEqual(res["problems"], [])

    def test_summary_lists_skips_with_reasons_and_warnings_with_counts(self):
        text = results.table(judge())
        self.assertIn("skip  kunit: example.example_skip_test (the KUnit example", text)
        self.assertIn("warns kunit: memremap.pgmap_request_folio_misaligned: 1 time "
                      "(listed: 1)", text)
        self.assertIn("taint     262656 WN", text)
        self.assertIn("verdict   PASS", text)


class KunitSuiteFailsToInitialize(Base):
    """'# failed to initialize' and 'not ok N suite' with no case."""

    def failed_init(self, suite, n, plan):
        body = ("[    1.000000]     KTAP version 1\n"
                "[    1.000000]     # Subtest: %s\n"
                "[    1.000000]     %s"
                "[    1.000000]     # %s: failed to initialize (-12)\n"
                "[    1.000000] not ok %d %s\n" % (suite, plan, suite, n, suite))
        return replace_kunit_suite(SERIAL, suite, body)

    def test_memremap_init_fails_after_its_plan(self):
        res = judge(self.failed_init("memremap", 2, "1..25\n"))
        self.assertFailsWith(res, "manifest", "memremap.*", "0 cases reported, 25")
        self.assertFailsWith(res, "fail: kunit: memremap.")

    def test_memremap_init_fails_before_its_plan(self):
        res = judge(self.failed_init("memremap", 2, ""))
        self.assertFailsWith(res, "memremap.(no case ran)")

    def test_example_init_fails(self):
        res = judge(self.failed_init("example_init", 1, ""))
        self.assertFailsWith(res, "example_init.(no case ran)")
        self.assertFailsWith(res, "manifest", "example_init.*")


class KunitSuiteNeverPrinted(Base):
    def test_guest_crashed_inside_memremap(self):
        start, _ = kunit_suite_span(SERIAL, "memremap")
        cut = SERIAL.index("ok 4 pgmap_request_folio_order0", start)
        res = judge(SERIAL[:cut], "@@LAB kernel 6.12.117+\n")
        self.assertFailsWith(res, "guest", "did not finish")
        self.assertFailsWith(res, "manifest", "memremap.*")

    def test_suite_in_the_plan_never_printed(self):
        res = judge(replace_kunit_suite(SERIAL, "memremap", ""))
        self.assertFailsWith(res, "fail: kunit: (suite 3 of the plan never reported)")

    def test_memremap_missing_altogether(self):
        serial = replace_kunit_suite(SERIAL, "memremap", "")
        serial = serial.replace("] 1..3\n", "] 1..2\n", 1)
        serial = serial.replace("] ok 3 example\n", "] ok 2 example\n")
        res = judge(serial)
        self.assertFailsWith(res, "manifest", "memremap.*", "0 cases reported")

    def test_no_ktap_at_all(self):
        serial = re.sub(r"^.*(KTAP|# Subtest|ok \d+ |1\.\.\d).*\n", "", SERIAL, flags=re.M)
        res = judge(serial)
        self.assertFailsWith(res, "no KTAP output found")


class KunitEverythingSkipped(Base):
    def test_every_memremap_case_skips(self):
        res = judge(kunit_case_lines(SERIAL, "memremap",
                                     lambda x: x + " # SKIP no DEVICE_PRIVATE"))
        self.assertFailsWith(res, "skip not in report/known-skips",
                             "memremap.pgmap_request_folio_order0", "no DEVICE_PRIVATE")

    def test_suite_skipped_as_a_whole(self):
        body = ("[    1.000000]     KTAP version 1\n"
                "[    1.000000]     # Subtest: memremap\n"
                "[    1.000000]     1..0\n"
                "[    1.000000] ok 2 memremap # SKIP no memory\n")
        res = judge(replace_kunit_suite(SERIAL, "memremap", body))
        self.assertFailsWith(res, "manifest", "memremap.*", "0 cases reported")

    def test_example_init_skips(self):
        res = judge(kunit_case_lines(SERIAL, "example_init", lambda x: x + " # SKIP"))
        self.assertFailsWith(res, "skip not in", "example_init.example_init_test")


class KselftestHalfOrNothing(Base):
    def test_coherent_half_skipped(self):
        port = port_suite(PORT, "hmm-tests", lambda t: re.sub(
            r"^(ok \d+ hmm2?\.hmm2?_device_coherent\.\S+)$",
            r"\1 # SKIP Could not open /dev/hmm_dmirror2", t, flags=re.M))
        res = judge(port=port)
        self.assertFailsWith(res, "skip not in", "hmm.hmm_device_coherent.open_close",
                             "hmm_dmirror2")

    def test_coherent_half_missing(self):
        def drop(t):
            t = re.sub(r"^(not )?ok \d+ hmm2?\.hmm2?_device_coherent\.\S+\n", "",
                       t, flags=re.M)
            return t.replace("1..68", "1..34")
        res = judge(port=port_suite(PORT, "hmm-tests", drop))
        self.assertFailsWith(res, "manifest", "hmm.hmm_device_coherent.*",
                             "0 cases reported, 31")

    def test_plan_of_zero(self):
        res = judge(port=port_suite(PORT, "dax", lambda t: "TAP version 13\n1..0\n"))
        self.assertFailsWith(res, "fail: dax: (plan of 0 cases")
        self.assertFailsWith(res, "manifest", "dax.align_2m.*")

    def test_printed_nothing_and_exited_0(self):
        res = judge(port=port_suite(PORT, "hmm-tests", lambda t: ""))
        self.assertFailsWith(res, "fail: hmm-tests: (no TAP plan")

    def test_more_results_than_planned(self):
        res = judge(port=port_suite(PORT, "dax", lambda t: t.replace(
            "1..24", "1..23")))
        self.assertFailsWith(res, "24 results for a plan of 23")

    def test_a_case_reported_twice(self):
        def dup(t):
            line = re.search(r"^ok \d+ dax\.align_4k\.\S+\n", t, re.M).group(0)
            return t.replace(line, line + line, 1).replace("1..24", "1..25")
        res = judge(port=port_suite(PORT, "dax", dup))
        self.assertFailsWith(res, "reported 2 times")

    def test_suite_never_ran(self):
        port = re.sub(r"@@LAB begin dax\n.*?@@LAB end dax rc=\d+\n", "", PORT, flags=re.S)
        res = judge(port=port)
        self.assertFailsWith(res, "fail: dax: (suite did not run)")


class BugWithoutCutHere(Base):
    BUG = ["BUG: Bad page state in process kunit_try_catch  pfn:0fcf8",
           "page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0xfcf8"]

    def test_bug_inside_an_expected_warning(self):
        serial = insert_after(SERIAL, r"WARNING: .* at mm/memremap\.c:657", self.BUG)
        res = judge(serial)
        self.assertFailsWith(res, "splat", "misaligned", "BUG: Bad page state")

    def test_bug_right_after_an_expected_warning(self):
        start, end = splat_block(SERIAL, "pgmap_request_folio_misaligned")
        serial = SERIAL[:end] + "".join("[    1.2] %s\n" % x for x in self.BUG) + SERIAL[end:]
        res = judge(serial)
        self.assertFailsWith(res, "splat", "BUG: Bad page state")

    def test_bug_during_a_guest_suite(self):
        serial = insert_after(SERIAL, r"@@LAB begin dax", ["BUG: scheduling while atomic: dax-tests/91/0x00000002"])
        res = judge(serial)
        self.assertFailsWith(res, "splat", "during dax", "scheduling while atomic")

    def test_kasan_report(self):
        serial = insert_after(SERIAL, r"@@LAB begin hmm-tests", [
            "=" * 66, "BUG: KASAN: slab-use-after-free in dmirror_devmem_free+0x10/0x20",
            "Read of size 8", "=" * 66])
        res = judge(serial)
        self.assertFailsWith(res, "splat", "during hmm-tests", "KASAN")

    def test_hung_task_report(self):
        serial = insert_after(SERIAL, r"@@LAB case dax_unbind\.align_2m", [
            "INFO: task dax-tests:120 blocked for more than 20 seconds.",
            "      Not tainted 6.12.117+ #1", "Call Trace:",
            "Kernel panic - not syncing: hung_task: blocked tasks"])
        res = judge(serial)
        self.assertFailsWith(res, "splat", "dax_unbind.align_2m.pin_across_unbind",
                             "blocked for more than")
        self.assertEqual(res["splats"], 1)


class WarningsCountedPerCase(Base):
    def test_warning_in_a_case_that_must_not_warn(self):
        serial = insert_after(SERIAL, r"\]     ok 3 pgmap_offset_to_pfn_outside$", WARN)
        res = judge(serial)
        self.assertFailsWith(res, "splat", "memremap.pgmap_request_folio_order0")

    def test_warning_during_suite_exit(self):
        serial = insert_after(SERIAL, r"# memremap: pass:25", WARN)
        res = judge(serial)
        self.assertFailsWith(res, "splat", "memremap (init or exit)")

    def test_listed_case_warns_twice(self):
        start, end = splat_block(SERIAL, "pgmap_request_folio_misaligned")
        serial = SERIAL[:end] + SERIAL[start:end] + SERIAL[end:]
        res = judge(serial)
        self.assertFailsWith(res, "expected warning", "misaligned warned 2 times, 1 listed")

    def test_listed_case_does_not_warn(self):
        start, end = splat_block(SERIAL, "pgmap_request_folio_crosses_ranges")
        res = judge(SERIAL[:start] + SERIAL[end:])
        self.assertFailsWith(res, "expected warning", "crosses_ranges warned 0 times")

    def test_warning_of_another_kind_in_a_listed_case(self):
        start, end = splat_block(SERIAL, "pgmap_request_folio_misaligned")
        block = SERIAL[start:end].replace("mm/memremap.c:657 pgmap_request_folio",
                                          "mm/page_alloc.c:4000 __alloc_pages")
        res = judge(SERIAL[:start] + block + SERIAL[end:])
        self.assertFailsWith(res, "splat", "misaligned", "page_alloc.c")

    def test_another_check_of_the_api_fired_in_a_listed_case(self):
        start, end = splat_block(SERIAL, "pgmap_request_folio_misaligned")
        block = SERIAL[start:end].replace("is not at an order-1 folio boundary",
                                          "requested while in use")
        res = judge(SERIAL[:start] + block + SERIAL[end:])
        self.assertFailsWith(res, "splat", "misaligned")
        self.assertFailsWith(res, "misaligned warned 0 times")

    def test_guest_suite_warning_matches_no_rule(self):
        serial = insert_after(SERIAL, r"@@LAB case dax_unbind\.align_4k", WARN)
        res = judge(serial)
        self.assertFailsWith(res, "splat", "dax_unbind.align_4k.pin_across_unbind")


class WarningRulesForGuestSuites(Base):
    """A rule names a guest suite's case, or "-" for the suite outside any
    case; the old suite column could match neither."""

    def judge_with(self, rule, serial):
        path = tempfile.mktemp(prefix="lab-warnings-")
        with open(os.path.join(REPORT, "expected-warnings")) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text + rule + "\n")
        try:
            run = tempfile.mkdtemp(prefix="lab-verdict-")
            for name, content in (("serial.log", serial), ("results.log", PORT)):
                with open(os.path.join(run, name), "w") as f:
                    f.write(content)
            return results.build_results(
                run, TREE, os.path.join(REPORT, "known-failures"), path, dict(META))
        finally:
            os.unlink(path)
            shutil.rmtree(run)

    def test_rule_for_a_dax_case(self):
        serial = insert_after(SERIAL, r"@@LAB case dax_unbind\.align_4k", WARN)
        rule = ("dax | dax_unbind.align_4k.pin_across_unbind | 1 | always | "
                "WARNING: .* mm/memremap | test")
        self.assertEqual(self.judge_with(rule, serial)["problems"], [])

    def test_rule_for_hmm_tests_outside_any_case(self):
        serial = insert_after(SERIAL, r"@@LAB begin hmm-tests", WARN)
        rule = "hmm-tests | - | 1 | always | WARNING: .* mm/memremap | test"
        self.assertEqual(self.judge_with(rule, serial)["problems"], [])
        res = self.judge_with(rule, SERIAL)
        self.assertFailsWith(res, "hmm-tests: - warned 0 times, 1 listed")


class HolesFoundInReview(Base):
    """False PASSes a cold review of the stricter report still found."""

    def test_harness_xfail_is_not_a_known_failure(self):
        port = PORT.replace("ok 2 hmm.hmm_device_private.anon_read\n",
                            "ok 2 hmm.hmm_device_private.anon_read # XFAIL device busy\n")
        self.assertFailsWith(judge(port=port), "fail: hmm-tests: hmm.hmm_device_private.anon_read",
                             "XFAIL")

    def test_lowercase_skip_directive(self):
        port = PORT.replace("ok 2 hmm.hmm_device_private.anon_read\n",
                            "ok 2 hmm.hmm_device_private.anon_read # skip no device\n")
        self.assertFailsWith(judge(port=port), "skip not in", "anon_read")

    def test_listed_warning_case_renamed_away(self):
        start, end = splat_block(SERIAL, "pgmap_request_folio_in_use")
        serial = (SERIAL[:start] + SERIAL[end:]).replace(
            "ok 7 pgmap_request_folio_in_use", "ok 7 pgmap_request_folio_order0")
        res = judge(serial)
        self.assertFailsWith(res, "pgmap_request_folio_in_use did not run")
        self.assertFailsWith(res, "reported 2 times", "pgmap_request_folio_order0")

    def test_oops_inside_an_expected_warning(self):
        serial = insert_after(SERIAL, r"WARNING: .* at mm/memremap\.c:657", [
            "Oops: general protection fault, probably for non-canonical address: 0000 [#1] SMP"])
        self.assertFailsWith(judge(serial), "splat", "general protection fault")

    def test_kasan_during_a_known_failure(self):
        port = re.sub(r"^ok (\d+ dax_unbind\.)", r"not ok \1", PORT, flags=re.M)
        serial = insert_after(SERIAL, r"@@LAB case dax_unbind\.align_2m", [
            "=" * 66, "BUG: KASAN: slab-use-after-free in pipe_release+0x10/0x20",
            "=" * 66])
        res = judge(serial, port, series="none")
        self.assertFailsWith(res, "splat", "BUG: KASAN")

    def test_console_cut_short(self):
        cut = SERIAL.index("@@LAB begin hmm-tests")
        cut = SERIAL.rindex("\n", 0, cut) + 1
        self.assertFailsWith(judge(SERIAL[:cut]), "console", "@@LAB begin hmm-tests")

    def test_printk_dropped_messages(self):
        serial = insert_after(SERIAL, r"@@LAB begin dax", ["** 12 printk messages dropped **"])
        self.assertFailsWith(judge(serial), "console", "dropped")

    def test_truncated_begin_line_and_missing_console(self):
        res = judge("", PORT.replace("@@LAB taint", "@@LAB begin \n@@LAB taint"))
        self.assertFailsWith(res, "console", "missing or empty")


class UnknownSuite(Base):
    NEW = "@@LAB begin newsuite\nTAP version 13\n1..2\nok 1 a\n%s 2 b\n@@LAB end newsuite rc=%d\n"

    def add(self, ok, rc):
        return PORT.replace("@@LAB taint", self.NEW % (ok, rc) + "@@LAB taint")

    def test_passing_suite_not_in_the_manifest(self):
        res = judge(port=self.add("ok", 0))
        self.assertFailsWith(res, "newsuite", "manifest does not list it")

    def test_failing_suite_not_in_the_manifest(self):
        res = judge(port=self.add("not ok", 1))
        self.assertFailsWith(res, "fail: newsuite: b")
        self.assertFailsWith(res, "newsuite", "manifest does not list it")

    def test_unknown_case_in_a_known_suite(self):
        res = judge(port=port_suite(PORT, "dax", lambda t: t.replace(
            "1..24", "1..25") + "ok 25 dax.align_1g.mmap\n"))
        self.assertFailsWith(res, "dax.align_1g.mmap matches no line")


class Taint(Base):
    def test_taint_not_reported(self):
        res = judge(port=re.sub(r"@@LAB taint .*\n", "", PORT))
        self.assertFailsWith(res, "taint", "did not report")

    def test_bad_page_taint_with_no_splat(self):
        res = judge(port=PORT.replace("@@LAB taint 262656", "@@LAB taint %d"
                                      % (262656 | 1 << 5)))
        self.assertFailsWith(res, "taint", "flag B")

    def test_died_taint_with_no_splat(self):
        res = judge(port=PORT.replace("@@LAB taint 262656", "@@LAB taint %d"
                                      % (262656 | 1 << 7)))
        self.assertFailsWith(res, "taint", "flag D")

    def test_warn_taint_without_expected_warnings(self):
        serial = SERIAL
        for case in ("in_use", "out_of_range", "misaligned", "crosses_ranges",
                     "altmap_reserve", "order_too_large", "compound_wrong_order"):
            start, end = splat_block(serial, "pgmap_request_folio_" + case)
            serial = serial[:start] + serial[end:]
        res = judge(serial)
        self.assertFailsWith(res, "taint", "flag W")

    def test_taint_letters(self):
        from splats import taint_flags
        self.assertEqual(taint_flags(262656), "WN")
        self.assertEqual(taint_flags(1 << 7 | 1 << 9), "DW")


class Filtered(Base):
    def test_filtered_run_checks_what_it_selected(self):
        port = re.sub(r"@@LAB begin hmm-tests\n.*?@@LAB end hmm-tests rc=\d+\n", "",
                      PORT, flags=re.S)
        serial = re.sub(r"^.*(KTAP|# Subtest|ok \d+ |1\.\.\d).*\n", "", SERIAL, flags=re.M)
        res = judge(serial, port, only="dax")
        self.assertEqual(sorted(res["suites"]), ["dax"])

    def test_filter_that_matched_nothing_fails(self):
        port = port_suite(PORT, "dax", lambda t: "TAP version 13\n1..0\n")
        res = judge(port=port, only="dax:nosuchcase")
        self.assertFailsWith(res, "dax: no case ran")


BASE73_RUN = os.path.join(HERE, "samples", "pass-7.3-base")
BASE73_META = {"series": "none", "base_series": "7.3", "dax_suite": "v3"}


def read_sample(run, name):
    with open(os.path.join(run, name)) as f:
        return f.read()


def read73(name):
    return read_sample(BASE73_RUN, name)


class RecordedBase73(Base):
    """A real run of the 7.3-rc7 base alone (tests/samples/pass-7.3-base):
    its known failures, its one test_hmm warning 160 times, KUnit's 7.3
    example suite (a parameter name twice, a skipped suite)."""

    def setUp(self):
        self.serial, self.port = read73("serial.log"), read73("results.log")

    def test_the_recorded_base_passes(self):
        res = judge(self.serial, self.port, **BASE73_META)
        self.assertEqual(res["problems"], [])
        self.assertEqual(res["verdict"], "pass")
        self.assertEqual(res["suites"]["hmm-tests"]["xfail"], 1)
        # the pipe oops on the 2M, 4K and 1G devices, the unaligned PMD,
        # the poisoned page mapped again on all three
        self.assertEqual(res["suites"]["dax"]["xfail"], 7)

    def test_lists_of_6_12_do_not_excuse_it(self):
        res = judge(self.serial, self.port, series="none", base_series="6.12")
        self.assertFailsWith(res, "hmm.hmm_device_coherent.migrate_anon_huge_err")
        self.assertFailsWith(res, "manifest", "hmm.hmm_device_private.*")

    def test_one_more_conflicting_mapping_fails(self):
        start = self.serial.index("------------[ cut here ]")
        end = self.serial.index("---[ end trace", start)
        end = self.serial.index("\n", end) + 1
        serial = self.serial[:end] + self.serial[start:end] + self.serial[end:]
        res = judge(serial, self.port, **BASE73_META)
        self.assertFailsWith(res, "hmm-tests", "161")

    def test_a_repeated_parameter_name_is_numbered_not_lost(self):
        res = judge(self.serial, self.port, **BASE73_META)
        self.assertEqual(res["suites"]["kunit"]["suites"]["example"]["pass"], 18)
        names = [c["name"] for c in res["suites"]["kunit"]["cases"]]
        self.assertIn("example.example_params_test_with_init_dynamic_arr."
                      "fibonacci param: 1 #2", names)

    def test_a_case_reported_twice_still_fails(self):
        # kunit_parser counts one case more than the plan: the suite fails
        line = re.search(r"^.*    ok \d+ example_slow_test\n", self.serial, re.M)
        serial = self.serial[:line.end()] + line.group(0) + self.serial[line.end():]
        res = judge(serial, self.port, **BASE73_META)
        self.assertFailsWith(res, "kunit: example.")


SERIES73_RUN = os.path.join(HERE, "samples", "pass-7.3-series")
SERIES73_META = {"series": "applied", "base_series": "7.3", "dax_suite": "v3"}


def read73s(name):
    return read_sample(SERIES73_RUN, name)


class RecordedSeries73(Base):
    """A real run of the v2 series on 7.3-rc7 (tests/samples/pass-7.3-series):
    47 KUnit memremap cases, hmm-tests with the counting cases, the dax
    suite of v2 and the 1G device (dax suite v3) with nothing known."""

    def setUp(self):
        self.serial, self.port = read73s("serial.log"), read73s("results.log")

    def test_the_recorded_series_passes(self):
        res = judge(self.serial, self.port, **SERIES73_META)
        self.assertEqual(res["problems"], [])
        self.assertEqual(res["verdict"], "pass")
        self.assertEqual(res["suites"]["kunit"]["suites"]["memremap"]["pass"], 47)
        self.assertEqual(res["suites"]["dax"]["pass"], 45)

    def test_judged_as_the_base_it_fails(self):
        # the base's lists count 36 hmm-tests cases a variant, not 45
        res = judge(self.serial, self.port, series="none", base_series="7.3")
        self.assertFailsWith(res, "manifest", "hmm.hmm_device_private.*")

    def test_a_failed_counting_case_fails(self):
        name = "hmm.hmm_device_private.live_folios_thp_split"
        port = re.sub(r"^ok (\d+) %s$" % re.escape(name), r"not ok \1 %s" % name,
                      self.port, flags=re.M)
        self.assertNotEqual(port, self.port)
        res = judge(self.serial, port, **SERIES73_META)
        self.assertFailsWith(res, "live_folios_thp_split")

    def test_a_poisoned_page_mapped_again_fails_with_the_series(self):
        # known on the base only: with the series it is a failure
        name = "dax.align_4k.poison_not_mapped_again"
        port = re.sub(r"^ok (\d+) %s$" % re.escape(name), r"not ok \1 %s" % name,
                      self.port, flags=re.M)
        self.assertNotEqual(port, self.port)
        self.assertFailsWith(judge(self.serial, port, **SERIES73_META), name)

    def test_judged_with_v1_dax_counts_it_fails(self):
        res = judge(self.serial, self.port, **dict(SERIES73_META, dax_suite="v1"))
        self.assertFailsWith(res, "manifest", "dax.align_2m.*")

    def test_judged_with_v2_dax_counts_it_fails(self):
        # v2 had no 1G device: three pin_across_unbind cases, not two
        res = judge(self.serial, self.port, **dict(SERIES73_META, dax_suite="v2"))
        self.assertFailsWith(res, "manifest", "dax_unbind.*")

    def test_memremap_suite_missing_fails(self):
        start, end = kunit_suite_span(self.serial, "memremap")
        res = judge(self.serial[:start] + self.serial[end:], self.port,
                    **SERIES73_META)
        self.assertFailsWith(res, "manifest", "memremap.*")


if __name__ == "__main__":
    unittest.main()
