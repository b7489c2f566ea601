#!/usr/bin/env python3
"""Grade a whole class (make grade-class).

    classgrade.py CLASS [--out OUT] [--jobs N] [--lab 01,05] [--seed S] [--build BUILD]

CLASS holds one entry per student, named by student: a folder (lab folders, or a whole clone),
a .zip or a .tar.gz (unpacked by unpack.py, which refuses links, paths outside and oversized
archives). OUT (default: CLASS-graded) gets, per student, students/NAME/ with report.txt (the
report the student would read), results.json (Gradescope's format), summary.json and the
transcripts; gradebook.csv (one row per student, gradebook.py), and the class summary
(summary.txt, summary.html with its plots as SVG: class_summary.py), similar submissions
included (similarity.py, Debian's sim_c).

Students are graded N at once (--jobs; each grading also runs its labs in parallel), with a
progress line on a terminal and nothing in a pipe. An interrupted run picks up where it stopped:
a student whose submission, seed and grader are those of a finished grading is not graded again.
Whatever happens to one student (an archive refused, a grader error, a timeout) is that
student's row in the gradebook, with a note; the others go on. The whole class shares one seed
(remembered in OUT/class.json), so that a run can be replayed.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import class_summary
import grade
import gradebook
import layout
import similarity
import submission as submission_module
import unpack
import version
from safe_files import write_atomic
from safe_text import printable

ROOT = grade.ROOT
GRADING_TIMEOUT_S = 3600  # one student, every lab: far above any honest grading


def entries(class_dir):
    """[(student, path, kind)] in CLASS, sorted by name; kind is folder, zip, tar.gz, or None
    for anything else (reported, not graded)."""
    found = []
    for name in sorted(os.listdir(class_dir)):
        if name.startswith("."):
            continue
        path = os.path.join(class_dir, name)
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            found.append((name, path, "folder"))
        elif stat.S_ISREG(st.st_mode) and unpack.archive_kind(name):
            found.append((unpack.student_of(name), path, unpack.archive_kind(name)))
        else:
            found.append((name, path, None))
    return found


def folder_names(students):
    """{student: a folder name of ours for them}: letters, digits, . _ - only, unique."""
    names, used = {}, set()
    for student in students:
        base = re.sub(r"[^A-Za-z0-9._-]", "_", student)[:80].lstrip(".") or "_"
        name, n = base, 1
        while name in used:
            n += 1
            name = "%s-%d" % (base, n)
        used.add(name)
        names[student] = name
    return names


def fingerprint(path, kind):
    """What a submission is, to know it unchanged when resuming: its archive's bytes, or its
    folder's regular files (names and contents), links not followed."""
    digest = hashlib.sha256()
    if kind != "folder":
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    for base, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(base, name)
            st = os.lstat(full)
            digest.update(os.path.relpath(full, path).encode("utf-8", "surrogateescape"))
            if stat.S_ISREG(st.st_mode) and st.st_size <= (16 << 20):
                with open(full, "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()


class Progress:
    """done/total, failures so far and time left on one line of a terminal; silent in a pipe."""

    def __init__(self, total, jobs):
        self.total, self.jobs, self.done, self.failed = total, jobs, 0, 0
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.tty = sys.stderr.isatty()

    def step(self, failed):
        with self.lock:
            self.done += 1
            self.failed += failed
            if not self.tty:
                return
            per = (time.monotonic() - self.start) / self.done
            left = per * (self.total - self.done)
            width = 30
            bar = "#" * (width * self.done // max(1, self.total))
            sys.stderr.write("\r[%-*s] %d/%d  %d not graded  ~%d min %02d s left " % (
                width, bar, self.done, self.total, self.failed, left // 60, left % 60))
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def grade_student(student, path, kind, folder, args, labs, lab_max):
    """Grade one student into OUT/students/FOLDER; returns (student, folder, note, resumed):
    note is why they could not be graded, "" when they were; resumed, when an earlier run had
    graded them already."""
    sdir = os.path.join(args.out, "students", folder)
    done_path = os.path.join(sdir, "done.json")
    mark = {"student": student, "fingerprint": fingerprint(path, kind) if kind else "",
            "seed": args.seed, "grader_version": version.describe(), "labs": labs}
    try:
        with open(done_path) as f:
            done = json.load(f)
        if done["mark"] == mark:  # graded already (this submission, seed and grader): resumed
            return student, folder, done["note"], True
    except (OSError, ValueError, KeyError, TypeError):
        pass
    shutil.rmtree(sdir, ignore_errors=True)
    os.makedirs(sdir)
    work = os.path.join(args.out, ".work", folder)
    shutil.rmtree(work, ignore_errors=True)
    note = ""
    try:
        if kind is None:
            note = "not a folder, a .zip or a .tar.gz: not graded"
        elif kind == "folder":
            submission = path
        else:
            os.makedirs(os.path.dirname(work), exist_ok=True)
            try:
                unpack.unpack(path, work)
                submission = unpack.single_folder(work, labs)
            except unpack.Refused as e:
                note = "archive refused: %s" % e
        if not note:
            keep_sources(submission, os.path.join(sdir, "sources"), labs)
            note = run_grader(student, submission, sdir, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if note:
        record_not_graded(args, student, lab_max, note)
        with open(os.path.join(sdir, "report.txt"), "w") as f:
            f.write("%s: not graded: %s\n" % (printable(student), printable(note)))
    write_atomic(done_path, json.dumps({"mark": mark, "note": note}))
    return student, folder, note, False


def record_not_graded(args, student, lab_max, note):
    """The student's gradebook row, with no lab graded and why."""
    gradebook.update(os.path.join(args.out, "gradebook.csv"), student, [], args.seed,
                     version.describe(), lab_max, note)


def keep_sources(submission, dest, labs):
    """A copy of each lab's .c and .h files (submission.py's checks: regular files, limits), for
    the similarity check, which runs once every student is graded."""
    root = layout.labs_root(submission, grade.find_labs(None))
    for lab in labs:
        try:
            os.makedirs(os.path.join(dest, lab))
            submission_module.copy_sources(os.path.join(root, lab), os.path.join(dest, lab))
        except (submission_module.Refused, OSError):
            shutil.rmtree(os.path.join(dest, lab), ignore_errors=True)


def run_grader(student, submission, sdir, args):
    """grade.py on one submission; "" or why it gave no grade."""
    cmd = [sys.executable, os.path.join(ROOT, "grader", "grade.py"), "--submission", submission,
           "--results-json", os.path.join(sdir, "results.json"),
           "--results-dir", os.path.join(sdir, "transcripts"),
           "--summary-json", os.path.join(sdir, "summary.json"),
           "--csv", os.path.join(args.out, "gradebook.csv"), "--student", student,
           "--seed", args.seed, "--build", args.build, "--no-expected"]
    if args.lab:
        cmd += ["--lab", args.lab]
    env = dict(os.environ, NO_COLOR="1")
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="backslashreplace", env=env, timeout=GRADING_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return "grading took more than %d s: not graded" % GRADING_TIMEOUT_S
    with open(os.path.join(sdir, "report.txt"), "w") as f:
        f.write(p.stdout)
        if p.stderr.strip():
            f.write("\n" + p.stderr)
    if p.returncode not in (0, 1) or not os.path.exists(os.path.join(sdir, "summary.json")):
        last = (p.stderr.strip().splitlines() or ["status %d" % p.returncode])[-1]
        return "grader error: %s" % last
    return ""


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `make grade-class | head` ends quietly
    p = argparse.ArgumentParser(description="Grade every submission of a class.")
    p.add_argument("class_dir", help="one folder, .zip or .tar.gz per student")
    p.add_argument("--out", help="where the results go (default: CLASS-graded)")
    p.add_argument("--jobs", type=int,
                   help="students graded at once (default: one per core for one lab; one per "
                   "two cores for several, whose labs are graded in parallel already)")
    p.add_argument("--lab", help="only these labs (01 or 01,05)")
    p.add_argument("--seed", help="the class's seed (default: remembered in OUT, or new)")
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="the built grader")
    args = p.parse_args()
    class_dir = os.path.abspath(args.class_dir)
    if not os.path.isdir(class_dir):
        p.error("no folder %s" % class_dir)
    args.out = os.path.abspath(args.out or class_dir.rstrip("/") + "-graded")
    args.build = os.path.abspath(args.build)
    if os.path.commonpath([args.out, class_dir]) == class_dir:
        p.error("OUT must not be inside CLASS")
    os.makedirs(args.out, exist_ok=True)
    state_path = os.path.join(args.out, "class.json")
    try:
        with open(state_path) as f:
            state = json.load(f)
    except (OSError, ValueError):
        state = {}
    args.seed = args.seed or state.get("seed") or str(random.SystemRandom().randint(1, 999999))
    write_atomic(state_path, json.dumps({"seed": args.seed, "class": class_dir}))
    try:
        labs = grade.find_labs(args.lab)
    except grade.GraderError as e:
        p.error(str(e))
    if not args.jobs:
        cores = os.cpu_count() or 2
        args.jobs = cores if len(labs) == 1 else max(1, cores // 2)
    lab_max = grade.lab_points()
    found = entries(class_dir)
    if not found:
        p.error("%s holds no submission" % class_dir)
    names = folder_names([s for s, _, _ in found])
    progress = Progress(len(found), args.jobs)
    outcomes = []
    start = time.monotonic()

    def one(entry):
        student, path, kind = entry
        try:
            outcome = grade_student(student, path, kind, names[student], args, labs, lab_max)
        except Exception as e:  # one student's trouble never stops the class
            note = "grader error: %s" % e
            record_not_graded(args, student, lab_max, note)
            outcome = (student, names[student], note, False)
        progress.step(bool(outcome[2]))
        return outcome

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(one, found))
    pairs = similarity.similar_pairs(
        {student: os.path.join(args.out, "students", folder, "sources")
         for student, folder, _, _ in outcomes}, labs, os.path.join(args.out, ".work"))
    class_summary.write(args.out, [(s, f, n) for s, f, n, _ in outcomes], labs, pairs)
    shutil.rmtree(os.path.join(args.out, ".work"), ignore_errors=True)
    graded = sum(1 for o in outcomes if not o[2])
    print("grade-class: %d students, %d graded, %d not graded (see the note column), %d resumed "
          "from an earlier run, in %.0f s; seed %s.\n  %s\n  %s\n  %s" % (
              len(outcomes), graded, len(outcomes) - graded,
              sum(1 for o in outcomes if o[3]), time.monotonic() - start, args.seed,
              os.path.join(args.out, "gradebook.csv"), os.path.join(args.out, "summary.txt"),
              os.path.join(args.out, "summary.html")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
