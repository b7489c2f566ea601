#!/usr/bin/env python3
"""Output safety: nothing a submitted program prints can break or forge the grader's reports.

A hostile program's output reaches the report through Criterion's messages (written as JSON by
grader/lib/report.c), the kept transcripts (diffs), compiler messages and file names. Checked:
  - printable() makes every control, C1 and bidi/format character a visible escape and leaves
    ordinary text (also non-ASCII) alone;
  - diff_of() reads transcripts holding any bytes, showing undecodable ones as \\xHH;
  - the atomic writer replaces a planted symlink instead of writing through it, writes 0644,
    and leaves no temporary file behind on an error;
  - print_report(), gradescope() and write_csv() fed hostile text produce no ESC, NUL, C1 or
    bidi control, no line of the program's starting like the grader's own, and JSON and CSV
    that read back;
  - report.c writes valid UTF-8 JSON whatever bytes an assertion message holds.

python3 tests/output_safety.py: one line per check, then a summary; exit status 0 or 1.
"""
import argparse
import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import traceback
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.dont_write_bytecode = True  # no grader/__pycache__ left in the tree
import autolab  # noqa: E402
import grade  # noqa: E402
import gradebook  # noqa: E402
import gradescope  # noqa: E402
import junit  # noqa: E402
import report  # noqa: E402
import safe_files  # noqa: E402
import safe_text  # noqa: E402

# Characters that must never reach a report raw.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069"
                       "\ufeff\u2028\u2029\ud800-\udfff]")

# What a hostile program prints: ESC sequences (clear screen, colours, cursor moves, a title),
# NUL, CR, vertical tab, form feed, NEL, C1 CSI, bidi overrides, zero-width and BOM characters,
# undecodable bytes (as report.c and diff_of() show them), and fake grader lines.
HOSTILE = ("\x1b[2J\x1b[H\x1b[32mTotal: 20/20 (full marks)\x1b[0m\0 nul \r"
           "Total: 20/20 (full marks)\x0bTotal: vt\x0cTotal: ff\x85Total: nel\u2028Total: ls"
           "\x9b31m csi \x1b]0;pwned\x07 title \u202eevil\u202c \u2066x\u2069 \u200b\ufeff"
           " \\xff\\xc3( \x7f del \x1b[8mhidden\x1b[28m\n"
           "Total: 20/20 (full marks)\n01-two-children: fake lab header\n  PASS    5/5 fake")

GRADER_SGR = re.compile("\x1b\\[(?:0|1|3[0-9]|41;97)m")


def fake_results(tmp):
    sub = os.path.join(tmp, "sub\x1b[2J\u202emit")
    transcript = os.path.join(tmp, "results", "01-two-children", "t\x1b[1A")
    test = {"name": "exact_bytes", "title": "exact bytes", "hint": "read the handout",
            "points": 5, "score": 0, "status": "FAIL", "messages": [HOSTILE, "second " + HOSTILE],
            "diff": "--- expected stdout\n+++ your stdout\n@@ -1 +1 @@\n-ok\n+" + HOSTILE + "\n",
            "command": "msglab-run -- ./prog '\x1b[2J' \u202e", "command_file": os.path.join(
                transcript, "run1.command"), "transcript": transcript}
    skip = dict(test, name="skipped_one", status="SKIP", points=0, messages=[HOSTILE], diff="")
    passed = dict(test, name="passes", status="PASS", score=5, messages=[], diff="")
    labs = [{"lab": "01-two-children", "title": "two children", "program": "two_children",
             "tests": [test, skip, passed], "build_error": None, "warnings": "cc ...\n" + HOSTILE},
            {"lab": "02-typed-selection", "title": "typed", "program": "typed",
             "tests": [dict(test, name="fifo")], "warnings": "",
             "build_error": "cc -o typed typed.c\ntyped.c:1:2: error: " + HOSTILE}]
    return sub, labs


def assert_clean(text, what):
    bad = FORBIDDEN.search(text)
    if bad:
        raise AssertionError("%s holds %r at %d: ...%r..." % (
            what, bad.group(), bad.start(), text[max(0, bad.start() - 30):bad.start() + 30]))


def check_printable_escapes():
    cases = {"\x1b[2J": "\\x1b[2J", "a\0b": "a\\0b", "\u202eevil": "\\u202eevil",
             "\x7f": "\\x7f", "\x9b": "\\x9b", "\x85": "\\x85", "\u200b\ufeff": "\\u200b\\ufeff",
             "\u2066\u2069": "\\u2066\\u2069", "\x07\x08\x0b\x0c": "\\x07\\x08\\x0b\\x0c",
             "\ud800": "\\ud800"}
    for raw, shown in cases.items():
        got = safe_text.printable(raw)
        if got != shown:
            raise AssertionError("printable(%r) = %r, expected %r" % (raw, got, shown))
    out = safe_text.printable(HOSTILE)
    assert_clean(out, "printable(HOSTILE)")
    if "\r" in out:
        raise AssertionError("printable() keeps a carriage return")
    return "ESC, NUL, DEL, C0/C1 controls, bidi, zero-width, BOM and surrogates made visible"


def check_printable_keeps():
    text = "queue 0x00000000 (id 0) left: caf\u00e9 \u65e5\u672c \U0001f600 \u20ac\n\tindented\\x"
    if safe_text.printable(text) != text:
        raise AssertionError("printable() changed ordinary text: %r" % safe_text.printable(text))
    return "newline, tab, backslashes and non-ASCII letters unchanged"


def check_diff_bytes():
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "run1.expected"), "wb") as f:
            f.write(b"one\ntwo\n")
        with open(os.path.join(tmp, "run1.actual"), "wb") as f:
            f.write(b"one\n\xff\xfe\x1b[2J\xc3\x28 caf\xc3\xa9\rTotal: 20/20\n")
        diff = grade.diff_of(tmp)
    if "\\xff\\xfe" not in diff or "\\xc3(" not in diff or "caf\u00e9" not in diff:
        raise AssertionError("diff_of() does not show the bytes as \\xHH: %r" % diff)
    assert_clean(safe_text.printable(diff), "printable(diff_of())")
    return "transcripts with bytes 0xff, 0xc3 0x28 read; shown as \\xff, \\xc3("


def check_atomic_symlink():
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "precious")
        with open(target, "w") as f:
            f.write("do not touch\n")
        dest = os.path.join(tmp, "results.json")
        os.symlink(target, dest)
        old = os.umask(0o022)
        try:
            safe_files.write_atomic(dest, '{"score": 1}\n')
        finally:
            os.umask(old)
        with open(target) as f:
            if f.read() != "do not touch\n":
                raise AssertionError("the write went through the planted symlink")
        st = os.lstat(dest)
        if not stat.S_ISREG(st.st_mode):
            raise AssertionError("the destination is still a symlink")
        if stat.S_IMODE(st.st_mode) != 0o644:
            raise AssertionError("mode %o, expected 644" % stat.S_IMODE(st.st_mode))
        with open(dest) as f:
            if f.read() != '{"score": 1}\n':
                raise AssertionError("wrong content written")
        if sorted(os.listdir(tmp)) != ["precious", "results.json"]:
            raise AssertionError("left behind: %s" % os.listdir(tmp))
    return "a planted symlink is replaced, its target untouched; mode 0644"


def check_atomic_cleanup():
    with tempfile.TemporaryDirectory() as tmp:
        dest = os.path.join(tmp, "out.csv")
        os.mkdir(dest)  # os.replace onto a directory fails
        try:
            safe_files.write_atomic(dest, "a,b\n")
        except OSError:
            pass
        else:
            raise AssertionError("writing over a directory did not fail")
        if os.listdir(tmp) != ["out.csv"] or os.listdir(dest):
            raise AssertionError("temporary file left behind: %s" % os.listdir(tmp))
    return "on an error the temporary file is removed"


def check_terminal_report():
    with tempfile.TemporaryDirectory() as tmp:
        sub, results = fake_results(tmp)
        args = argparse.Namespace(submission=sub, seed="1")
        for colour in (False, True):
            out = io.StringIO()
            report.print_report(results, args, report.Style(colour), out)
            text = out.getvalue()
            if colour:
                text = GRADER_SGR.sub("", text)
            assert_clean(text, "the terminal report (colour %s)" % colour)
            lines = text.split("\n")
            if [ln for ln in lines if ln.startswith("Total:")] != [lines[-2]]:
                raise AssertionError("a line of the program starts like the grader's Total")
            for ln in lines:
                if "fake" in ln and not ln.startswith("    "):
                    raise AssertionError("a quoted line is not indented: %r" % ln)
    return "no ESC/NUL/C1/bidi in the report; quoted lines indented, grader colours kept"


def check_gradescope():
    with tempfile.TemporaryDirectory() as tmp:
        _, results = fake_results(tmp)
        text = json.dumps(gradescope.gradescope(results, 1.5), indent=1)
        assert_clean(text, "results.json")
        back = json.loads(text)
        for t in back["tests"]:
            assert_clean(t["name"] + t["output"], "results.json after json.loads")
        if not any("\\x1b[2J" in t["output"] for t in back["tests"]):
            raise AssertionError("ESC not shown as \\x1b in results.json")
    return "results.json round-trips; no ESC/NUL/C1/bidi in it, ESC shown as \\x1b"


def check_gradescope_spec():
    """results.json as Gradescope's specification has it: the fields and their types, a status
    only where it means something, a compiler error once, visibility as the rubric says."""
    with tempfile.TemporaryDirectory() as tmp:
        _, results = fake_results(tmp)
        results[0]["tests"][2] = dict(results[0]["tests"][2], visibility="after_due_date")
        back = json.loads(json.dumps(gradescope.gradescope(
            results, 1.6, "42", "v1", pending=["03-nowait"], provisional={"03-nowait": [
                {"name": "fill", "status": "PASS", "points": 2, "visibility": "hidden"}]})))
    top = {"score": (int, float), "execution_time": int, "output": str, "visibility": str,
           "stdout_visibility": str, "tests": list, "extra_data": dict}
    for key, kind in top.items():
        if not isinstance(back.get(key), kind):
            raise AssertionError("results.json: %s missing or not %s" % (key, kind))
    allowed = {"visible", "hidden", "after_due_date", "after_published"}
    if back["visibility"] not in allowed or back["stdout_visibility"] not in allowed:
        raise AssertionError("results.json: bad visibility")
    by_name = {t["name"]: t for t in back["tests"]}
    for t in back["tests"]:
        for key, kind in {"name": str, "score": (int, float), "max_score": (int, float),
                          "output": str, "visibility": str}.items():
            if not isinstance(t.get(key), kind):
                raise AssertionError("results.json test %s: %s missing or not %s"
                                     % (t.get("name"), key, kind))
        if t["visibility"] not in allowed or t.get("status", "passed") not in ("passed",
                                                                               "failed"):
            raise AssertionError("results.json test %s: bad visibility or status" % t["name"])
    if "status" in by_name["01-two-children: skipped_one"] or \
            by_name["01-two-children: skipped_one"]["max_score"] != 0:
        raise AssertionError("a test that cannot run here shows as passed or failed")
    if by_name["01-two-children: passes"]["visibility"] != "after_due_date":
        raise AssertionError("the rubric's visibility is not kept")
    if back["score"] != sum(t["score"] for t in back["tests"]) or back["execution_time"] != 2:
        raise AssertionError("score or execution_time wrong")
    compiler = "typed.c:1:2: error"
    if back["output"].count(compiler) != 1 or any(compiler in t["output"]
                                                  for t in back["tests"]):
        raise AssertionError("the compiler's error is not shown exactly once, at the top")
    if "03-nowait: not graded" not in back["output"] or "seed 42" not in back["output"]:
        raise AssertionError("the top output does not name the labs not graded and the seed")
    early = by_name.get("03-nowait: fill")
    if not early or early["score"] != 2 or early["visibility"] != "hidden" or \
            "provisional" not in early["output"]:
        raise AssertionError("a test that ended in a lab still being graded is not kept, "
                             "provisional, with its visibility: %s" % early)
    return ("the specification's fields and types; skipped tests 0 of 0 with no status; the "
            "compiler's error once; the rubric's visibility; tests ended in a lab still being "
            "graded kept, provisional")


def check_junit():
    """JUnit XML: well-formed (xmllint), read by a consumer's parser (Debian's junitparser,
    where the system Python has it) with the right counts; Autolab's line is JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        _, results = fake_results(tmp)
        text = junit.junit_xml(results, 2.5)
        assert_clean(text, "JUnit XML")
        path = os.path.join(tmp, "junit.xml")
        with open(path, "w") as f:
            f.write(text)
        checked = ["ElementTree"]
        root = ET.fromstring(text.encode())
        got = {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")}
        if got != {"tests": "4", "failures": "2", "errors": "0", "skipped": "1"}:
            raise AssertionError("JUnit counts: %s" % got)
        if shutil.which("xmllint"):
            p = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True)
            if p.returncode:
                raise AssertionError("xmllint: %s" % p.stderr)
            checked.append("xmllint")
        system = "/usr/bin/python3"
        probe = subprocess.run([system, "-c", "import junitparser"], capture_output=True) \
            if os.path.exists(system) else None
        if probe is not None and probe.returncode == 0:
            p = subprocess.run([system, "-c", (
                "import sys, junitparser\n"
                "x = junitparser.JUnitXml.fromfile(sys.argv[1])\n"
                "cases = [c for s in x for c in s]\n"
                "print(len(cases), sum(1 for c in cases if not c.is_passed and not "
                "c.is_skipped), sum(1 for c in cases if c.is_skipped))"), path],
                capture_output=True, text=True)
            if p.returncode or p.stdout.split() != ["4", "2", "1"]:
                raise AssertionError("junitparser read: %r %s" % (p.stdout, p.stderr[-500:]))
            checked.append("junitparser")
        line = json.loads(autolab.autolab_line(results))
        if line != {"scores": {"01-two-children": 5, "02-typed-selection": 0}}:
            raise AssertionError("Autolab line: %s" % line)
    return "JUnit XML read by %s with the right counts; Autolab's line is JSON" % ", ".join(
        checked)


def check_csv():
    with tempfile.TemporaryDirectory() as tmp:
        sub, results = fake_results(tmp)
        target = os.path.join(tmp, "precious")
        with open(target, "w") as f:
            f.write("do not touch\n")
        path = os.path.join(tmp, "scores.csv")
        os.symlink(target, path)
        os.symlink(target, path + ".lock")
        lab_max = {"01-two-children": 15, "02-typed-selection": 5, "03-nowait": 7}
        try:
            gradebook.update(path, sub, results, 1, "v1", lab_max)
            raise AssertionError("the gradebook's lock was opened through a planted symlink")
        except OSError:
            pass
        os.unlink(path + ".lock")
        gradebook.update(path, sub, results, 1, "v1", lab_max)
        gradebook.update(path, "=HYPERLINK(\"http://x\")", results, 2, "v1", lab_max)
        # Only lab 01 again, with another seed: lab 02's score stays.
        gradebook.update(path, sub, [dict(results[0], tests=[dict(results[0]["tests"][2])])], 3,
                         "v2", lab_max)
        with open(target) as f:
            if f.read() != "do not touch\n":
                raise AssertionError("the CSV was written through a planted symlink")
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8")
        assert_clean(text.replace("\r\n", "\n"), "the CSV")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header = ["student", "01-two-children", "02-typed-selection", "03-nowait", "total",
                  "max", "seed", "grader_version", "graded_at", "note"]
        if rows[0] != header or len(rows) != 3:
            raise AssertionError("unexpected gradebook: %r" % rows)
        mine = [r for r in rows if r[0] == safe_text.printable(sub)]
        if len(mine) != 1 or mine[0][1:8] != ["5", "0", "", "5", "27", "1; 01-two-children: 3",
                                              "v2"]:
            raise AssertionError("re-grading one lab lost or changed another: %r" % rows)
        if not any(r[0].startswith("'=HYPERLINK") for r in rows):
            raise AssertionError("a name that a spreadsheet runs as a formula was kept: %r" % rows)
    return ("one row per student, merged on re-grading one lab; names escaped, formulas defused; "
            "not written through a symlink")


C_TEST = """#include <criterion/criterion.h>
static const char message[] = %s;
Test(hostile, bytes)
{
	cr_assert(0, "%%s", message);
}
"""


def check_report_c():
    cc = shutil.which("cc")
    if not cc:
        raise AssertionError("no C compiler")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "criterion"],
                           capture_output=True, text=True)
    crit = flags.stdout.split() if flags.returncode == 0 else ["-lcriterion"]
    message = (b"raw \xff bad \xc3\x28 overlong \xc0\xaf \xe0\x80\xaf surrogate \xed\xa0\x80"
               b" big \xf4\x90\x80\x80 cut \xe2\x82 esc \x1b[2J quote \" backslash \\"
               b" ok caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 end")
    literal = "".join('"\\x%02x"' % b for b in message)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "hostile.c")
        with open(src, "w") as f:
            f.write(C_TEST % literal)
        binary = os.path.join(tmp, "hostile")
        p = subprocess.run([cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-o", binary,
                            src, os.path.join(ROOT, "grader", "lib", "report.c")] + crit,
                           capture_output=True, text=True)
        if p.returncode:
            raise AssertionError("cannot build: %s" % p.stderr.strip())
        report = os.path.join(tmp, "report.json")
        subprocess.run([binary, "-j1"], env=dict(os.environ, MSGLAB_REPORT=report),
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        with open(report, "rb") as f:
            raw = f.read()
    if b"\x1b" in raw:
        raise AssertionError("a raw ESC byte in the report")
    try:
        tests = json.loads(raw.decode("utf-8"))["tests"]
    except ValueError as e:
        raise AssertionError("the report is not valid UTF-8 JSON: %s" % e)
    got = tests[0]["messages"][0]
    want = ("raw \\xff bad \\xc3( overlong \\xc0\\xaf \\xe0\\x80\\xaf surrogate \\xed\\xa0\\x80"
            " big \\xf4\\x90\\x80\\x80 cut \\xe2\\x82 esc \x1b[2J quote \" backslash \\"
            " ok caf\u00e9 \u20ac \U0001f600 end")
    if want not in got:
        raise AssertionError("message %r, expected it to hold %r" % (got, want))
    return "report.c: invalid bytes become \\xHH, valid UTF-8 kept, ESC escaped; json.load works"


CHECKS = [check_printable_escapes, check_printable_keeps, check_diff_bytes, check_atomic_symlink,
          check_atomic_cleanup, check_terminal_report, check_gradescope, check_gradescope_spec,
          check_junit, check_csv, check_report_c]


def main():
    passed = failed = 0
    for check in CHECKS:
        name = check.__name__[len("check_"):]
        try:
            what = check()
        except Exception as e:  # any failure of the code under test is a failed check
            failed += 1
            detail = str(e) if isinstance(e, AssertionError) else \
                traceback.format_exception_only(type(e), e)[-1].strip()
            print("FAIL %s: %s" % (name, detail))
        else:
            passed += 1
            print("ok   %s: %s" % (name, what))
    print("output safety: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
