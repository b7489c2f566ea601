#!/usr/bin/env python3
"""Build what students get: handouts, skeletons, the grader and its visible tests, and no
solution and no hidden test.

    release.py OUT [--labs 01,05] [--hide LAB:TEST,...] [--build BUILD]

OUT (new or empty) gets the repository's layout without solutions/, tests/buggy, tests/correct,
tests/hostile and the instructors' tools. Where the grader times a case against the reference
solution, the release ships the figures instead: each lab's reference is graded once here
(it must score full marks), and the times the grader measured are copied, with this machine's
speed, into grader/LAB/calibration; a student's machine scales them by its own speed (see
grade.timeout_scale). Figures, not compiled reference programs (as CS:APP ships tshref): a
binary can be run against the tests or taken apart, a table of milliseconds cannot.

Tests whose rubric visibility is not "visible" (hidden, after_due_date, after_published), and
any named by --hide, are left out: their code is cut out of tests.c and the rubric lists them
as hidden_here, so that make grade says how many exist and never claims full marks.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import grade
import handout
import skeleton
import version

ROOT = grade.ROOT
# What a student needs of the repository, beside labs/, handouts/ and grader/LAB/.
GRADER_FILES = ["grade.py", "report.py", "gradescope.py", "gradebook.py", "junit.py",
                "autolab.py", "classroom.py", "classroom-step.sh", "layout.py", "safe_text.py",
                "safe_files.py", "submission.py", "version.py", "ensure-deps.sh", "flow.py",
                "flow_svg.py", "recorded_run.py"]
GRADER_FOLDERS = ["lib", "sandbox", "bench"]
TEST_FOLDERS = ["harness", "kernel", "trace", "container", "style"]
TEST_FILES = ["run.py", "output_safety.py"]
# Included by the tests from the solution: a header the skeleton gives whole.
SOLUTION_HEADER = re.compile(r'#include "\.\./\.\./solutions/[^/"]+/([^/"]+\.h)"')


def cut_tests(source, names):
    """tests.c without the Test(lab, NAME) blocks of names, and the comment just above each."""
    lines = source.split("\n")
    out, i, cut = [], 0, set()
    while i < len(lines):
        m = re.match(r"Test\(\w+, (\w+)\b", lines[i])
        if m and m.group(1) in names:
            while out and out[-1].startswith(("/*", " *", "//")):
                out.pop()
            while lines[i] != "}":
                i += 1
            i += 1
            cut.add(m.group(1))
            continue
        out.append(lines[i])
        i += 1
    if cut != set(names):
        raise SystemExit("release: no Test(lab, %s) in tests.c" % ", ".join(set(names) - cut))
    text = "\n".join(out)
    if names:  # helpers only the hidden tests used are left, unused
        text = ("/* Student release: hidden tests cut out (grader/release.py). */\n"
                "#pragma GCC diagnostic ignored \"-Wunused-function\"\n" + text)
    return text


def calibrate(labs, build):
    """Grade the reference of each lab once (full marks, or no release): the grader remembers
    every case's time in the calibration folder, which is returned per lab."""
    with tempfile.TemporaryDirectory() as tmp:
        for lab in labs:
            summary = os.path.join(tmp, "summary.json")
            p = subprocess.run([sys.executable, os.path.join(ROOT, "grader", "grade.py"),
                                "--lab", lab, "--submission", os.path.join(ROOT, "solutions"),
                                "--build", build, "--results-dir", os.path.join(tmp, "results"),
                                "--summary-json", summary, "--quiet"],
                               capture_output=True, text=True)
            if p.returncode != 0:
                raise SystemExit("release: the reference of %s does not score full marks here, "
                                 "so its times cannot be shipped:\n%s%s"
                                 % (lab, p.stdout, p.stderr))
        with grade.Session(build) as session:
            mode = session.env["MSGLAB_MODE"]
    return {lab: grade.calibration_dir(lab, build, mode) for lab in labs}


def copy_lab_grader(lab, out, hidden, calibration):
    src, dest = os.path.join(ROOT, "grader", lab), os.path.join(out, "grader", lab)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "calibration"))
    with open(os.path.join(src, "tests.c")) as f:
        tests = f.read()
    with open(os.path.join(dest, "tests.c"), "w") as f:
        f.write(cut_tests(tests, hidden))
    for name in os.listdir(dest):
        path = os.path.join(dest, name)
        if name.endswith((".c", ".h")) and os.path.isfile(path):
            with open(path) as f:
                text = f.read()
            for header in SOLUTION_HEADER.findall(text):
                shutil.copy(os.path.join(ROOT, "solutions", lab, header), dest)
            with open(path, "w") as f:
                f.write(SOLUTION_HEADER.sub(r'#include "\1"', text))
    rubric = grade.load_rubric(lab)
    for t in rubric["tests"]:
        if t["name"] in hidden:
            for key in ("hint", "depends_on"):
                t.pop(key, None)
            t["hidden_here"] = True
    with open(os.path.join(dest, "rubric.json"), "w") as f:
        json.dump(rubric, f, indent=1)
        f.write("\n")
    contract = os.path.join(dest, "contract.json")
    if os.path.exists(contract):
        with open(contract) as f:
            clauses = json.load(f)
        for c in clauses["clauses"]:
            c["tests"] = [t for t in c.get("tests", []) if t not in hidden]
        with open(contract, "w") as f:
            json.dump(clauses, f, indent=1)
            f.write("\n")
    figures = os.path.join(dest, "calibration")
    os.makedirs(figures)
    for name in os.listdir(calibration):
        path = os.path.join(calibration, name)
        test = name.split(".")[0]
        if os.path.isfile(path) and not name.startswith(".") and test not in hidden and (
                name == "machine_ms" or re.fullmatch(r"\w+\.\w+", name)):
            shutil.copy(path, figures)
    # The skeleton as given, so that the grader knows an untouched lab (not started).
    os.makedirs(os.path.join(dest, "skeleton"))
    for path, text in skeleton.generated().items():
        if os.path.dirname(path) == lab:
            with open(os.path.join(dest, "skeleton", os.path.basename(path)), "w") as f:
                f.write(text)


def build_tree(out, labs, hide, build, keep_hidden=False):
    """The release's files in out (new or empty): labs, their graders with shipped calibration
    figures, the grader's code and the student-side tests. hide: {lab: tests left out}, added to
    the rubric's hidden ones; with keep_hidden (the Gradescope bundle, which graders alone see)
    every test stays. Returns the tests left out, as LAB:TEST."""
    calibration = calibrate(labs, build)
    os.makedirs(os.path.join(out, "handouts"))
    left_out = []
    for lab in labs:
        rubric = grade.load_rubric(lab)
        hidden = set() if keep_hidden else {
            t["name"] for t in rubric["tests"]
            if t.get("visibility", "visible") != "visible"} | hide.get(lab, set())
        left_out += ["%s:%s" % (lab, t) for t in sorted(hidden)]
        copy_lab_grader(lab, out, hidden, calibration[lab])
        shutil.copytree(os.path.join(ROOT, "labs", lab), os.path.join(out, "labs", lab))
        shutil.copy(os.path.join(ROOT, "handouts", lab + ".md"), os.path.join(out, "handouts"))
    for name in GRADER_FILES:
        shutil.copy(os.path.join(ROOT, "grader", name), os.path.join(out, "grader", name))
    for name in GRADER_FOLDERS:
        shutil.copytree(os.path.join(ROOT, "grader", name), os.path.join(out, "grader", name))
    for name in TEST_FOLDERS:
        shutil.copytree(os.path.join(ROOT, "tests", name), os.path.join(out, "tests", name))
    # The kernel facts of a lab left out need its grader files (facts_03: lab 03's model).
    for name in os.listdir(os.path.join(out, "tests", "kernel")):
        needs = {"model_vs_kernel.c": "02"}.get(name) or (
            name[6:8] if re.fullmatch(r"facts_\d\d\.c", name) else None)
        if needs and not any(lab.startswith(needs + "-") for lab in labs):
            os.unlink(os.path.join(out, "tests", "kernel", name))
    for name in TEST_FILES:
        shutil.copy(os.path.join(ROOT, "tests", name), os.path.join(out, "tests", name))
    # make demo: a student watches their own program (labs/, there being no solutions/).
    shutil.copytree(os.path.join(ROOT, "demo"), os.path.join(out, "demo"),
                    ignore=shutil.ignore_patterns("__pycache__", "screenshots.py"))
    # The handouts' pages of no lab (ipc-bench.md: make ipc-bench's figures explained).
    for name in handout.OTHER_PAGES:
        shutil.copy(os.path.join(ROOT, "handouts", name), os.path.join(out, "handouts"))
    shutil.copy(os.path.join(ROOT, "Makefile"), out)
    shutil.copy(os.path.join(ROOT, "release", "README.md"), out)
    # A GitHub Classroom template is this folder: its workflow grades each push.
    shutil.copytree(os.path.join(ROOT, "release", ".github"), os.path.join(out, ".github"))
    with open(os.path.join(out, "VERSION"), "w") as f:
        f.write(version.describe() + ("-gradescope\n" if keep_hidden else "-student\n"))
    return left_out


def parse_labs(labs, hide):
    """--labs and --hide as ([lab], {lab: {test}})."""
    chosen = [lab for sel in (labs.split(",") if labs else [None]) for lab in grade.find_labs(sel)]
    hidden = {}
    for item in filter(None, (hide or "").split(",")):
        lab, _, test = item.partition(":")
        hidden.setdefault(grade.find_labs(lab)[0], set()).add(test)
    return chosen, hidden


def main():
    p = argparse.ArgumentParser(description="Build the student release.")
    p.add_argument("out", help="a new or empty folder")
    p.add_argument("--labs", help="only these labs (01,05; default: all)")
    p.add_argument("--hide", default="", help="also leave out these tests (LAB:TEST,...)")
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="the built grader")
    args = p.parse_args()
    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out):
        p.error("%s is not empty" % out)
    labs, hide = parse_labs(args.labs, args.hide)
    left_out = build_tree(out, labs, hide, os.path.abspath(args.build))
    print("release: %s (labs %s; hidden tests left out: %s)"
          % (out, ", ".join(labs), ", ".join(left_out) or "none"))


if __name__ == "__main__":
    main()
