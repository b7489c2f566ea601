#!/usr/bin/env python3
"""Grade a submission: build each lab, run its Criterion tests in the sandbox, report.

Run through make:  make grade [LAB=01] [SUBMISSION=dir] [TEST=name] [RESULTS=file.json] [SEED=n]
A whole class:     grade.py --class CLASS [--out OUT] [--jobs N] (classgrade.py; make grade-class)

A submission is a folder laid out like labs/: one folder per lab (01-two-children/...) holding
the lab's C files. The exit status is 0 only on full marks (2 on a grader error).
"""
import argparse
import fcntl
import glob
import concurrent.futures
import difflib
import hashlib
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import stat
import sys
import tempfile
import threading
import time

import layout
import submission
import version
import autolab
import classroom
import flow
import flow_svg
import recorded_run
import gradebook
import junit
from gradescope import VISIBILITIES, gradescope
from report import Style, print_report, relative
from safe_files import read_own_file, write_atomic
from safe_text import lines_of, printable, read_transcript

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDENT_CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-O1", "-g"]
# The build the memory_safety test runs: a memory error or undefined behaviour ends the process
# with the sanitizer's report on stderr and status 86 (see grader/lib/harness.c).
SANITIZED_CFLAGS = STUDENT_CFLAGS + ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
                                     "-fno-sanitize-recover=undefined"]
SANITIZED_SLOWER = 3  # how much longer a sanitized run may take than a plain one
MEMORY_TEST = "memory_safety"
LAB_TIMEOUT_S = 600  # the whole Criterion run of one lab; each test has its own, much shorter
# Part of a calibration folder's name: 2 since the reference's folder is readable by the sandbox's
# user (1 timed failed execs), so that no machine keeps figures measured the old way.
CALIBRATION_FORMAT = 2


class GraderError(Exception):
    """Something wrong with the grader or its set-up, never the student's fault."""


class Session:
    """A grading session: a temporary folder of the grader's (the submission's copies, the built
    programs, the lab tools; in the sealed sandbox only the folders bound into it are seen,
    read-only) and the environment the Criterion tests read (see grader/lib/harness.h). Also
    finds out once whether the sealed sandbox works here, or only the announced fallback."""

    def __init__(self, build):
        self.build = build
        self.private = []  # folders made private to root while grading (container mode)

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="msglab-", dir=os.environ.get("MSGLAB_TMPDIR", "/tmp"))
        run = os.path.join(self.build, "bin", "msglab-run")
        self.env = dict(os.environ, MSGLAB_BUILD=self.build, MSGLAB_RUN=run, MSGLAB_TMP=self.tmp)
        # Twice, the faster counting: also how fast the machine is now (machine_ms).
        self.machine_ms = None
        for _ in range(2):
            started = time.monotonic()
            probe = subprocess.run([run, "-U", "-t", "5000", "--", "/bin/true"],
                                   capture_output=True, text=True, errors="replace",
                                   cwd=self.tmp, env=self.env, stdin=subprocess.DEVNULL)
            took = (time.monotonic() - started) * 1000
            self.machine_ms = min(took, self.machine_ms or took)
        report = dict(line.split(" ", 1) for line in probe.stderr.splitlines() if " " in line)
        if "mode" not in report or "outcome" not in report:
            raise GraderError("the sandbox does not work here:\n%s" % probe.stderr.strip())
        self.env["MSGLAB_MODE"] = report["mode"]
        self.fallback_reason = report.get("fallback_reason", "")
        if self.fallback:
            self.env["MSGLAB_NO_NAMESPACES"] = "1"  # no run tries bubblewrap again
        return self

    @property
    def fallback(self):
        return self.env["MSGLAB_MODE"] == "fallback"

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.private:
            self._private_count(-1)

    def make_private(self, paths):
        """Make the grader's folders private to root while any grading runs (gradings at once
        count themselves in a locked file of the build, so that the last one gives the folders
        their modes back)."""
        for path in paths:
            os.makedirs(path, exist_ok=True)
        self.private = paths
        self._private_count(+1)

    def _private_count(self, step):
        state_path = os.path.join(self.build, ".private-modes.json")
        with open(os.path.join(self.build, ".private-modes.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with open(state_path) as f:
                    state = json.load(f)
            except (OSError, ValueError):
                state = {"count": 0, "modes": {}}
            if step > 0 and state["count"] == 0:
                state["modes"] = {p: stat.S_IMODE(os.stat(p).st_mode) for p in self.private}
                for p, mode in state["modes"].items():
                    os.chmod(p, mode & 0o700)
            state["count"] = max(0, state["count"] + step)
            if state["count"] == 0:
                for p, mode in state["modes"].items():
                    os.chmod(p, mode)
                state["modes"] = {}
            write_atomic(state_path, json.dumps(state))


def find_labs(selected):
    labs = sorted(d for d in os.listdir(os.path.join(ROOT, "grader"))
                  if os.path.isfile(os.path.join(ROOT, "grader", d, "rubric.json")))
    if not selected:
        return labs
    chosen = []
    for one in selected.split(","):  # 01 or 01-two-children, or a list of them: 01,05
        found = [lab for lab in labs if lab == one or lab.split("-")[0] == one.zfill(2)]
        if not found:
            raise GraderError("no lab %r; the labs are: %s" % (one, ", ".join(labs)))
        chosen += [lab for lab in found if lab not in chosen]
    return chosen


def load_rubric(lab):
    with open(os.path.join(ROOT, "grader", lab, "rubric.json")) as f:
        rubric = json.load(f)
    names = [t["name"] for t in rubric["tests"]]
    if rubric.get("lab") != lab or len(set(names)) != len(names):
        raise GraderError("grader/%s/rubric.json: wrong lab name or duplicate tests" % lab)
    for t in rubric["tests"]:
        if t.get("visibility", "visible") not in VISIBILITIES:
            raise GraderError("grader/%s/rubric.json: test %s: visibility must be one of %s"
                              % (lab, t["name"], ", ".join(VISIBILITIES)))
    return rubric


def lab_points():
    """{lab: its points} for every lab of the course: the gradebook's columns and maximum."""
    return {lab: sum(t["points"] for t in load_rubric(lab)["tests"]) for lab in find_labs(None)}


def programs_of(rubric):
    """{program: its sources, or None for every .c file of the lab}, the main program first."""
    if "programs" in rubric:
        return rubric["programs"]
    return {rubric["program"]: None}


def build_reference(lab_dir, programs, out_dir):
    """Compile the reference solution (our own code) into out_dir. Returns (ok, messages)."""
    every_c = sorted(f for f in os.listdir(lab_dir) if f.endswith(".c"))
    os.makedirs(out_dir, exist_ok=True)
    messages = []
    for program, sources in programs.items():
        cmd = ["cc"] + STUDENT_CFLAGS + ["-o", os.path.join(out_dir, program)] + \
            ["./" + f for f in sources or every_c]
        proc = subprocess.run(cmd, cwd=lab_dir, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        messages.append(proc.stdout + proc.stderr)
        if proc.returncode:
            return False, "\n".join(messages)
    return True, "\n".join(messages)


def reference_binaries(lab, programs, calibration, out_dir):
    """The reference solution's programs in out_dir, compiled once per calibration folder
    (which is named after the solution's sources and the machine) rather than per grading."""
    cached = os.path.join(calibration, "reference")
    if not all(os.path.exists(os.path.join(cached, p)) for p in programs):
        work = tempfile.mkdtemp(prefix="reference-", dir=calibration)
        ok, message = build_reference(os.path.join(ROOT, "solutions", lab), programs, work)
        if not ok:
            shutil.rmtree(work, ignore_errors=True)
            return False, message
        try:
            os.rename(work, cached)
        except OSError:  # another grading put it there first
            shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(cached, out_dir, dirs_exist_ok=True)
    # mkdtemp made the cache 0700 and copytree copies that: the sandbox's user must reach the
    # programs, or every calibration times a failed exec (measured 0.2 ms, not 1 ms).
    os.chmod(out_dir, 0o755)
    return True, ""


def build(lab_dir, programs, out_dir, session, cflags=STUDENT_CFLAGS):
    """Copy the lab's sources and compile each program of the lab in the sandbox, into
    out_dir. Returns (ok, messages for the student)."""
    lab = os.path.basename(lab_dir)
    work = tempfile.mkdtemp(prefix="build-", dir=session.tmp)
    src, bins = os.path.join(work, "src"), os.path.join(work, "out")
    os.mkdir(src)
    os.mkdir(bins)
    # The compiler runs as the sandbox's user: only this folder is its to write.
    os.chmod(bins, 0o777)
    try:
        try:
            names = submission.copy_sources(lab_dir, src)
        except submission.Refused as e:
            if str(e) == "missing":
                return False, "no folder %s: a submission holds one folder per lab, named " \
                    "like labs/ (%s/...)" % (lab, lab)
            return False, "%s: %s; this lab is not graded" % (lab, e)
        every_c = [n for n in names if n.endswith(".c")]
        os.makedirs(out_dir, exist_ok=True)
        messages = []
        for program, sources in programs.items():
            sources = sources or every_c
            missing = [f for f in sources if f not in names]
            if missing or not sources:
                return False, "%s: missing %s" % (lab, ", ".join(missing) or "any .c file")
            shown = "cc %s -o %s %s" % (" ".join(cflags), program, " ".join(
                submission.shown_name(f) for f in sources))
            try:
                ok, text = submission.sandbox_compile(
                    session.env["MSGLAB_RUN"], src, bins,
                    os.path.join(work, "report-" + program), program, sources, cflags)
            except submission.Refused as e:  # the machine's compiler, not the student's fault
                raise GraderError(str(e))
            messages.append((shown + "\n" + text).strip())
            if not ok:
                return False, "\n".join(messages)
            try:
                submission.copy_binary(os.path.join(bins, program), os.path.join(out_dir, program))
            except (OSError, submission.Refused) as e:
                return False, "\n".join(messages + ["%s: no program was built (%s)" % (program, e)])
        return True, "\n".join(messages)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_tests(lab, env, results_dir, names, limit_s=LAB_TIMEOUT_S, stop_when=None,
              on_progress=None):
    """Run the lab's Criterion binary (only the tests named, if names); return {test name:
    report entry}, or {} if stop_when() came true first (polled while it runs). on_progress
    gets [(test, passed|failed|crashed|skipped)] each time more tests have ended."""
    binary = os.path.join(env["MSGLAB_BUILD"], "grader", lab, "tests")
    if not os.access(binary, os.X_OK):
        raise GraderError("%s is missing: run make tools" % binary)
    report = os.path.join(results_dir, "criterion.json")
    # Not --full-stats: it evaluates the messages of assertions that pass as well.
    cmd = [binary, "-j1"]
    if names:  # Criterion's filters take @(a|b) for a list
        cmd.append("--filter=lab/@(%s)" % "|".join(names))
    progress = os.path.join(results_dir, "progress")
    run_env = dict(env, MSGLAB_RESULTS=results_dir, MSGLAB_REPORT=report,
                   MSGLAB_PROGRESS=progress)
    seen = 0
    with open(os.path.join(results_dir, "criterion.log"), "w") as log:
        # Its own session, so that a timeout kills the whole tree; stdin never the terminal.
        proc = subprocess.Popen(cmd, env=run_env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + limit_s
        while True:
            try:
                proc.wait(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if on_progress is not None:
                    ended = tests_ended(progress)
                    if len(ended) > seen:
                        seen = len(ended)
                        on_progress(ended)
                stop = stop_when is not None and stop_when()
                if stop or time.monotonic() >= deadline:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    # Killed, Criterion leaves its socket behind.
                    socket_path = "/tmp/criterion_%d.sock" % proc.pid
                    try:
                        if stat.S_ISSOCK(os.lstat(socket_path).st_mode):
                            os.unlink(socket_path)
                    except FileNotFoundError:
                        pass
                    if stop:
                        return {}
                    raise GraderError("the tests of %s did not finish in %d s" % (lab, limit_s))
    try:
        with open(report) as f:
            entries = json.load(f)["tests"]
    except (OSError, ValueError, KeyError) as e:
        raise GraderError("no usable report from %s (%s); see %s/criterion.log"
                          % (binary, e, results_dir))
    return {e["name"]: e for e in entries}


def tests_ended(path):
    """[(test, status)] of the progress file report.c appends to, complete lines only."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return []
    lines = text.split("\n")[:-1]  # the last one may be half written
    return [tuple(line.split(" ", 1)) for line in lines if " " in line]


def outcome_of(entry, test_dir):
    """(status, why): PASS, FAIL, TIMEOUT (the program hung), CRASH (it died of a signal),
    SKIP (cannot run here) or ERROR (the grader's fault)."""
    if entry is None:
        return "ERROR", ""
    marker = os.path.join(test_dir, "outcome")
    if os.path.exists(marker):
        with open(marker) as f:
            status, _, why = f.read().partition("\n")
        return status.strip() or "FAIL", why.strip()
    return {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}.get(entry["status"], "ERROR"), ""


def diff_of(test_dir):
    """The unified diff of expected and actual stdout kept by the test, if any. The actual
    output may hold any bytes: those that are not UTF-8 show as \\xHH (printable() makes the
    rest visible when it is shown)."""
    if not os.path.isdir(test_dir):
        return ""
    parts = []
    for name in sorted(os.listdir(test_dir)):
        if name.endswith(".expected"):
            label = name[:-len(".expected")]
            expected = lines_of(read_transcript(os.path.join(test_dir, name)))
            actual = lines_of(read_transcript(os.path.join(test_dir, label + ".actual")))
            diff = list(difflib.unified_diff(expected, actual, "expected stdout",
                                             "your stdout", n=2))
            if len(diff) > 40:
                diff = diff[:40] + ["... (%d more lines of diff)\n" % (len(diff) - 40)]
            parts.append("".join(d if d.endswith("\n") else d + "\n" for d in diff))
    return "".join(parts)


def first_command(test_dir):
    """(command, file) of the test's first run of the program, to try it by hand."""
    if os.path.isdir(test_dir):
        for name in sorted(os.listdir(test_dir)):
            if name.endswith(".command") and name.startswith("run"):
                path = os.path.join(test_dir, name)
                with open(path) as f:
                    return f.read().strip(), path
    return None, None


def has_reference(lab):
    """False in a student release, which ships no solution (grader/release.py)."""
    return os.path.isdir(os.path.join(ROOT, "solutions", lab))


def calibration_dir(lab, build, mode):
    """Where the reference's times on this lab's cases are remembered: a folder named after
    everything they depend on (the machine, the sandbox mode, the solution, the tests). In a
    student release, which has no reference to run, it starts as a copy of the figures the
    release shipped (grader/LAB/calibration, with the speed of the machine that measured them,
    which timeout_scale compares with this one's)."""
    digest = hashlib.sha256()
    digest.update(("%s %s %s %d" % (platform.node(), os.cpu_count(), mode,
                                    CALIBRATION_FORMAT)).encode())
    for folder in (os.path.join(ROOT, "solutions", lab), os.path.join(ROOT, "grader", lab)):
        for base, dirs, files in sorted(os.walk(folder)):
            dirs.sort()
            for name in sorted(files):
                with open(os.path.join(base, name), "rb") as f:
                    digest.update(name.encode() + f.read())
    path = os.path.join(build, "calibration", "%s-%s" % (lab, digest.hexdigest()[:16]))
    shipped = os.path.join(ROOT, "grader", lab, "calibration")
    if not has_reference(lab) and not os.path.isdir(path) and os.path.isdir(shipped):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        work = tempfile.mkdtemp(prefix=".shipped-", dir=os.path.dirname(path))
        shutil.copytree(shipped, work, dirs_exist_ok=True)
        try:
            os.rename(work, path)
        except OSError:  # another grading put it there first
            shutil.rmtree(work, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    return path


def timeout_scale(calibration, machine_ms):
    """How much slower the machine is now than when this lab's reference was timed (a sandbox
    start then and now), at least 1: the calibrated timeouts grow with the machine's load, so
    that a deadline's load never turns a correct program into a TIMEOUT. The first grading of
    a calibration remembers the machine's speed."""
    path = os.path.join(calibration, "machine_ms")
    try:
        with open(path) as f:
            then = float(f.read())
    except (OSError, ValueError):
        write_atomic(path, "%.1f\n" % machine_ms)
        return 1.0
    return min(20.0, max(1.0, machine_ms / then)) if then > 0 else 1.0


def grade_lab(lab, args, env, session, partial=None):
    """Build and test one lab; returns its result as a dict (never raises for student faults).
    partial (a PartialResults) hears of each test as it ends."""
    tmp = session.tmp
    rubric = load_rubric(lab)
    # A student release lists its hidden tests without their code: graded elsewhere.
    hidden = [t for t in rubric["tests"] if t.get("hidden_here")]
    rubric["tests"] = [t for t in rubric["tests"] if not t.get("hidden_here")]
    programs = programs_of(rubric)
    program = next(iter(programs))
    results_dir = os.path.join(args.results_dir, lab)
    shutil.rmtree(results_dir, ignore_errors=True)
    os.makedirs(results_dir)
    wanted = args.test.split(",") if args.test else None
    unknown = set(wanted or ()) - {t["name"] for t in rubric["tests"]}
    if unknown:
        raise GraderError("lab %s has no test %s; its tests are: %s"
                          % (lab, ", ".join(sorted(unknown)),
                             ", ".join(t["name"] for t in rubric["tests"])))
    tests = [t for t in rubric["tests"] if not wanted or t["name"] in wanted]
    result = {"lab": lab, "title": rubric["title"], "program": ", ".join(programs), "tests": [],
              "build_error": None, "warnings": "", "hidden_tests": len(hidden),
              "hidden_points": sum(t["points"] for t in hidden)}
    sub_dir = os.path.join(args.submission, lab)
    if not os.path.lexists(sub_dir):
        ok, message = False, layout.missing_message(args.submission, lab)
        result["missing"] = message
    else:
        ok, message = build(sub_dir, programs, os.path.join(tmp, "submission", lab), session)
    if not ok:
        result["build_error"] = message
    elif "warning:" in message:
        result["warnings"] = message
    calibration = calibration_dir(lab, env["MSGLAB_BUILD"], env["MSGLAB_MODE"])
    ref_ok, ref_message = True, ""
    if has_reference(lab):
        ref_ok, ref_message = reference_binaries(lab, programs, calibration,
                                                 os.path.join(tmp, "reference", lab))
    if not ref_ok:
        raise GraderError("the reference solution of %s does not build:\n%s" % (lab, ref_message))
    entries, memory = {}, None
    wants_memory = any(t["name"] == MEMORY_TEST for t in tests)
    # The self-tests' buggy variants of other bugs skip the sanitized pass (make test's time);
    # their memory variants run it on the tests they name alone ("always": no half-points gate).
    skip_memory = wants_memory and os.environ.get("MSGLAB_MEMORY_PASS") == "0"
    ungated = os.environ.get("MSGLAB_MEMORY_PASS") == "always"
    wants_memory = wants_memory and not skip_memory
    if ok:
        scale = timeout_scale(calibration, session.machine_ms)
        lab_env = dict(env,
                       MSGLAB_LAB=lab,
                       MSGLAB_PROGRAM=os.path.join(tmp, "submission", lab, program),
                       MSGLAB_REFERENCE=os.path.join(tmp, "reference", lab, program)
                       if has_reference(lab) else "",
                       MSGLAB_CALIBRATION=calibration,
                       MSGLAB_TIMEOUT_SCALE="%.2f" % scale,
                       MSGLAB_KEEP_REPLAY="1")  # runN.replay: the expected run, drawn
        tools = os.path.join(env["MSGLAB_BUILD"], "grader", lab, "tools")
        if os.path.isdir(tools):
            # Run inside the sandbox as another user: copied where it can reach them.
            lab_env["MSGLAB_TOOLS"] = os.path.join(tmp, "tools", lab)
            lab_env["MSGLAB_TOOLS_SHOWN"] = tools  # where they stay, for commands to try
            shutil.copytree(tools, lab_env["MSGLAB_TOOLS"], dirs_exist_ok=True)
        others = [t for t in tests if t["name"] != MEMORY_TEST]
        limit_s = LAB_TIMEOUT_S * scale
        found = {}
        if others:
            found["plain"] = run_tests(
                lab, lab_env, results_dir, [t["name"] for t in others] if wanted else None,
                limit_s, on_progress=partial and (lambda ended: partial.tests_ended(
                    lab, ended, results_dir)))
        # The memory pass after the plain one, and only where it can count: on a program that
        # earns half the other points (memory_needs_work), and on the tests that did not hang
        # (a hanging test finds nothing, in three times as long). Hostile or unfinished code,
        # which hangs or fails everywhere, costs one pass, not two.
        plain = {t["name"]: outcome_of(found["plain"].get(t["name"]),
                                       os.path.join(results_dir, t["name"]))[0]
                 for t in others}
        run_these = [t["name"] for t in rubric["tests"]
                     if t["name"] != MEMORY_TEST and plain.get(t["name"]) != "TIMEOUT"]
        memory_gated = wants_memory and (not run_these or not ungated and not half_earned(
            sum(t["points"] for t in others if plain[t["name"]] == "PASS"),
            sum(t["points"] for t in others if plain[t["name"]] != "SKIP")))
        if wants_memory and not memory_gated:
            memory = build(sub_dir, programs, os.path.join(tmp, "sanitized", lab), session,
                           SANITIZED_CFLAGS)
            if memory[0]:
                memory_dir = os.path.join(results_dir, MEMORY_TEST)
                os.makedirs(memory_dir)
                found["memory"] = run_tests(lab, dict(
                    lab_env, MSGLAB_SANITIZED="1",
                    MSGLAB_PROGRAM=os.path.join(tmp, "sanitized", lab, program),
                    MSGLAB_TIMEOUT_SCALE="%.2f" % min(20.0, scale * SANITIZED_SLOWER)),
                    memory_dir, run_these, limit_s,
                    # One finding is enough; a program that overflows often hangs after it.
                    stop_when=lambda: bool(glob.glob(os.path.join(memory_dir, "*",
                                                                  "run*.sanitizer"))))
        entries = found.get("plain", {})
        unknown = set(entries) - {t["name"] for t in rubric["tests"]}
        if unknown:
            raise GraderError("tests of %s missing from its rubric: %s" % (lab, ", ".join(unknown)))
        if "memory" in found:
            entries[MEMORY_TEST] = memory_entry(os.path.join(results_dir, MEMORY_TEST),
                                                [t["name"] for t in rubric["tests"]])
        elif memory_gated:  # memory_needs_work makes it BLOCKED, with the points so far
            entries[MEMORY_TEST] = {"status": "passed", "messages": []}
        elif skip_memory:
            entries[MEMORY_TEST] = {"status": "skipped", "messages": [
                "not run: the memory pass is off here (MSGLAB_MEMORY_PASS is 0: the "
                "self-tests' variants of other bugs)"]}
        elif wants_memory:
            entries[MEMORY_TEST] = {"status": "failed", "messages": [
                "the build with -fsanitize=address,undefined failed, so the program's memory "
                "safety cannot be checked:\n" + memory[1]]}  # one message: no order to keep
    decode = flow.lab_decoder(os.path.join(ROOT, "grader", lab))  # its diagrams' messages
    for t in tests:
        test_dir = os.path.join(results_dir, t["name"])
        entry = entries.get(t["name"])
        status, why = ("FAIL", "") if not ok else outcome_of(entry, test_dir)
        # Criterion 2.4.1 lists a test's assertions newest first.
        messages = list(reversed(entry["messages"])) if entry else []
        if result.get("missing"):
            messages = ["not graded: " + result["missing"]]
        elif not ok:
            messages = ["the program did not compile"]
        elif entry is None:
            messages = ["grader error: this test did not run (see %s/criterion.log)" % results_dir]
        elif status == "SKIP":
            messages = [why or (messages[0] if messages else "this test cannot run on this machine")]
        elif status == "ERROR":
            messages = ["grader error: the test itself %s (signal %d); please report it"
                        % (entry["status"], entry["signal"])] + messages
        command, command_file = first_command(test_dir)
        # What the program did, drawn: for the tests it failed (the others' are not read),
        # beside what the reference solution does in the same run.
        diagrams = []
        if ok and status in ("FAIL", "TIMEOUT", "CRASH") and os.path.isdir(test_dir):
            expected = None
            if has_reference(lab) and not args.no_expected:
                def expected(replay):
                    return recorded_run.replay(replay, env["MSGLAB_RUN"],
                                               os.path.join(tmp, "reference", lab),
                                               lab_env.get("MSGLAB_TOOLS"), env)
            diagrams = flow_svg.transcript_diagrams(
                test_dir, os.path.join(env["MSGLAB_BUILD"], "bin", "msgflow"), program,
                "%s %s" % (lab, t["name"]), expected, decode=decode)
        result["tests"].append({
            "name": t["name"], "title": t["title"], "hint": hint_for(t.get("hint", ""), test_dir),
            "depends_on": t.get("depends_on", []),
            "visibility": t.get("visibility", "visible"),
            # A test that cannot run here (SKIP) counts for nothing either way.
            "points": 0 if status == "SKIP" else t["points"],
            "score": t["points"] if status == "PASS" else 0,
            "status": status, "messages": messages,
            "diff": diff_of(test_dir) if status != "PASS" else "",
            "command": command, "command_file": command_file, "transcript": test_dir,
            "diagram": diagrams[0][0] if diagrams else "",
            "diagram_beside": bool(diagrams) and diagrams[0][1]})
    if ok:  # a build error is the one message of every test: nothing to untangle
        if not ungated:
            memory_needs_work(result["tests"])
        mark_blocked(result["tests"])
    result["not_started"] = ok and untouched_skeleton(lab, sub_dir)
    return result


def sanitizer_finding(text):
    """The first memory error or undefined behaviour in a sanitizer's report on stderr, trimmed
    to what a student reads: "stack-buffer-overflow: WRITE of size 13 in send_all (msgpair.c:61)".
    None when there is no report."""
    lab_path = r"(?:/tmp/msglab-run-[^/\s]+)?/lab/([^\s:]+):(\d+)"
    asan = re.search(r"ERROR: AddressSanitizer: ([\w-]+)", text)
    if asan:
        access = re.search(r"^(READ|WRITE) of size (\d+)", text, re.M)
        frame = re.search(r"#\d+ 0x[0-9a-f]+ in (\S+) " + lab_path, text)
        return "%s%s%s" % (asan.group(1), ": %s of size %s" % access.groups() if access else "",
                           " in %s (%s:%s)" % frame.groups() if frame else
                           " (no frame in your files: see the report)")
    ubsan = re.search(lab_path + r":\d+: runtime error: ([^\n]+)", text)
    if ubsan:
        return "undefined behaviour at %s:%s: %s" % ubsan.groups()
    return None


def memory_entry(memory_dir, order):
    """The memory_safety test's report entry, from the sanitized pass's transcripts: the first
    finding, by rubric order, and where the whole report is."""
    findings = []
    for test in order:
        folder = os.path.join(memory_dir, test)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not (name.startswith("run") and name.endswith(".stderr")):
                continue
            label = name[:-len(".stderr")]
            text = read_transcript(os.path.join(folder, name))
            if re.search(r"^==\d+==(?:ERROR: AddressSanitizer failed|ReserveShadowMemory)", text,
                         re.M):
                raise GraderError("the sanitizer cannot start in the sandbox here (%s): see %s"
                                  % (text.strip().splitlines()[0][:200], folder))
            found = sanitizer_finding(text)
            if not found and os.path.exists(os.path.join(folder, label + ".sanitizer")):
                found = "a process ended with the sanitizer's status, its report hidden " \
                    "(stderr closed or redirected?)"
            if found:
                findings.append((test, label, found, os.path.join(folder, name)))
    if not findings:
        return {"status": "passed", "messages": []}
    test, label, found, path = findings[0]
    # Reversed, as Criterion lists a test's messages (newest first).
    return {"status": "failed", "messages": list(reversed([
        "memory error in the program built with -fsanitize=address,undefined: %s (test %s, %s)"
        % (found, test, label),
        "the sanitizer's whole report: %s (the memory pass stops at its first finding)"
        % relative(path)]))}


def half_earned(earned, possible):
    return not possible or 2 * earned >= possible


def memory_needs_work(tests):
    """memory_safety earns its points only from a program that does most of its job (at least
    half of the lab's other points): a program that does nothing has no memory error to find."""
    memory = next((t for t in tests if t["name"] == MEMORY_TEST), None)
    if memory is None or memory["status"] != "PASS":
        return
    others = [t for t in tests if t is not memory]
    earned, possible = sum(t["score"] for t in others), sum(t["points"] for t in others)
    if not half_earned(earned, possible):
        memory.update(status="BLOCKED", score=0, blocked_by="", hint="", messages=[
            "not checked yet: memory safety counts once the program earns at least half of "
            "the lab's other points (%d of %d so far)" % (earned, possible)])


def mark_blocked(tests):
    """A failed test whose rubric says it depends on another test that failed shows as BLOCKED,
    "not checked: depends on X", instead of its own messages: once X fails its checks mean
    nothing (mtype 0 fails every msgsnd, and the receiver then times out everywhere). Its
    points are lost all the same. X is named by the root of the chain, the bug to fix first."""
    by_name = {t["name"]: t for t in tests}
    failed = {t["name"] for t in tests if t["status"] not in ("PASS", "SKIP")}

    def root(name, seen=()):
        for dep in by_name[name]["depends_on"]:
            if dep in failed and dep not in seen and dep in by_name:
                return root(dep, seen + (name,))
        return name
    for t in tests:
        if t["status"] in ("FAIL", "TIMEOUT", "CRASH") and root(t["name"]) != t["name"]:
            cause = root(t["name"])
            t.update(status="BLOCKED", blocked_by=cause, diff="", hint="", messages=[
                "not checked: depends on %s, which failed (fix %s first; the transcript of "
                "this test is still kept)" % (cause, cause)])


def hint_for(hint, test_dir):
    """The rubric's hint without the sentences that point at transcript files this run did not
    keep (run1.expected after a TIMEOUT)."""
    named = set(re.findall(r"\brun\d+\.\w+", hint))
    missing = {n for n in named if not os.path.exists(os.path.join(test_dir, n))}
    if not missing:
        return hint
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", hint)
    return " ".join(s for s in sentences if not any(n in s for n in missing))


def untouched_skeleton(lab, lab_dir):
    """True when the lab's C files are exactly the skeleton's: the student has not started."""
    shipped = os.path.join(ROOT, "grader", lab, "skeleton")  # a student release's copy
    if has_reference(lab):
        import skeleton
        given = {os.path.basename(path): text for path, text in skeleton.generated().items()
                 if os.path.dirname(path) == lab and path.endswith((".c", ".h"))}
    elif os.path.isdir(shipped):
        given = {n: read_own_file(os.path.join(shipped, n)) for n in os.listdir(shipped)
                 if n.endswith((".c", ".h"))}
    else:
        return False
    try:
        names = {n for n in os.listdir(lab_dir) if n.endswith((".c", ".h"))}
    except OSError:
        return False
    return bool(given) and names == set(given) and all(
        read_own_file(os.path.join(lab_dir, n)) == given[n] for n in names)


class PartialResults:
    """results.json while grading: the labs graded, and of the labs being graded the tests
    that have ended (provisional: a test that passed has its points, one that failed may yet
    show as BLOCKED), so that a platform's time limit never loses what was graded."""

    def __init__(self, path, labs, start, seed):
        self.path, self.labs, self.start, self.seed = path, labs, start, seed
        self.done, self.running = {}, {}
        self.lock = threading.Lock()

    def lab_done(self, lab, result):
        with self.lock:
            self.done[lab] = result
            self.running.pop(lab, None)
            self._write()

    def tests_ended(self, lab, ended, results_dir):
        rubric = {t["name"]: t for t in load_rubric(lab)["tests"]}
        tests = []
        for name, status in ended:
            if name not in rubric:
                continue
            marked = outcome_of({"status": status}, os.path.join(results_dir, name))[0]
            tests.append({"name": name, "status": marked, "points": rubric[name]["points"],
                          "visibility": rubric[name].get("visibility", "visible")})
        with self.lock:
            self.running[lab] = tests
            self._write()

    def _write(self):
        write_atomic(self.path, json.dumps(gradescope(
            [self.done[lab] for lab in self.labs if lab in self.done],
            time.monotonic() - self.start, self.seed, version.describe(),
            pending=[lab for lab in self.labs if lab not in self.done],
            provisional=dict(self.running)), indent=1) + "\n")


def student_name(submission):
    """A submission's name for the gradebook: its folder's, or the clone's when it is labs/."""
    folder = os.path.abspath(submission)
    if os.path.basename(folder) == "labs":
        folder = os.path.dirname(folder)
    return os.path.basename(folder) or folder


def unsandboxed(args, session, style):
    """Where bubblewrap cannot make a sandbox: as root (a container that refuses namespaces),
    programs are kept from the grader by user separation alone, so the grader's files are made
    private to root; without root nothing keeps them apart, so only the repository's own labs
    and solutions may be graded."""
    reason = printable(session.fallback_reason)
    if os.geteuid() == 0:
        session.make_private([ROOT, args.build, args.results_dir])
        print(style("CONTAINER MODE: no sandbox can be made here (%s). Programs run as users of "
                    "their own on this file system; the grader's folders are private to root "
                    "while grading. Tests that need a private IPC namespace are skipped."
                    % reason, "33"), file=sys.stderr)
        return
    own = {os.path.realpath(os.path.join(ROOT, d)) for d in ("labs", "solutions")}
    if os.path.realpath(args.submission) not in own:
        raise GraderError(
            "grading someone else's code needs a sandbox, and this machine gives none (%s). "
            "Install bubblewrap (sudo apt-get install bubblewrap) and allow unprivileged user "
            "namespaces (sudo sysctl -w kernel.unprivileged_userns_clone=1 "
            "user.max_user_namespaces=15000), or run the grader as root." % reason)
    print(style("FALLBACK MODE: %s. Your own labs only: programs run as you, unsandboxed. Tests "
                "that need a private IPC namespace are skipped; do not grade in parallel."
                % reason, "33"), file=sys.stderr)


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `make grade | head` ends quietly
    if sys.argv[1:2] == ["--class"]:  # grade.py --class CLASS [...]: classgrade.py's options
        import classgrade
        sys.argv = [os.path.join(ROOT, "grader", "classgrade.py")] + sys.argv[2:]
        return classgrade.main()
    p = argparse.ArgumentParser(description="Grade System V message queue labs.")
    p.add_argument("--lab", help="one lab: 01 or 01-two-children, or several: 01,05 (default: "
                   "all)")
    p.add_argument("--submission", default=os.path.join(ROOT, "labs"),
                   help="folder laid out like labs/ (default: labs/)")
    p.add_argument("--test", help="run only this test, or these (a,b), of the lab (with --lab)")
    p.add_argument("--results-json", help="also write a Gradescope results.json here")
    p.add_argument("--results-dir", default="results", help="transcripts go here")
    p.add_argument("--csv", help="put this submission's scores in a gradebook (CSV, one row per "
                   "student: other rows and labs not graded now are kept)")
    p.add_argument("--student", help="the student's name in the gradebook (default: the "
                   "submission folder's name)")
    p.add_argument("--junit", help="also write JUnit XML here (for CI systems)")
    p.add_argument("--classroom", help="also write GitHub Classroom's runner result here "
                   "(base64 JSON, for autograding-grading-reporter)")
    p.add_argument("--autolab", action="store_true",
                   help="end with Autolab's line: {\"scores\": {lab: score}}")
    p.add_argument("--summary-json", help="write the full result as JSON (for the self-tests)")
    p.add_argument("--lab-jobs", type=int, help="labs graded at once (default: twice the "
                   "cores; a class run, which grades students at once, asks for 1)")
    p.add_argument("--seed", help="seed for randomised tests, to replay a run")
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="the built grader")
    p.add_argument("--quiet", action="store_true", help="print only the total")
    p.add_argument("--no-expected", action="store_true",
                   help="draw a failed run alone, without replaying the reference solution "
                   "beside it (class grading and Gradescope: nobody reads those transcripts "
                   "there, and each replay costs a run)")
    args = p.parse_args()
    if args.test and (not args.lab or "," in args.lab):
        p.error("--test needs --lab, one lab")
    args.submission = os.path.abspath(args.submission)
    args.build = os.path.abspath(args.build)
    # One seed for the whole run, shown in the report, so any randomised failure can be replayed.
    args.seed = args.seed or str(random.SystemRandom().randint(1, 999999))
    args.results_dir = os.path.abspath(args.results_dir)
    style = Style(sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    start = time.monotonic()
    try:
        labs = find_labs(args.lab)
        if not os.path.isdir(args.submission):
            raise GraderError("no submission folder %s" % args.submission)
        args.submission = layout.labs_root(args.submission, find_labs(None))
        with Session(args.build) as session:
            env = session.env
            env["MSGLAB_SEED"] = args.seed
            if session.fallback:
                unsandboxed(args, session, style)
            # Labs spend much of their time waiting on the programs, not computing. Without
            # namespaces or a uid per run, parallel runs would take each other's leaks for theirs.
            workers = min(len(labs), args.lab_jobs or 2 * (os.cpu_count() or 1))
            if session.fallback and os.geteuid() != 0:
                workers = 1
            partial = PartialResults(args.results_json, labs, start, args.seed) \
                if args.results_json else None
            with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(grade_lab, lab, args, env, session, partial): lab
                           for lab in labs}
                done = {}
                for future in concurrent.futures.as_completed(futures):
                    done[futures[future]] = future.result()
                    if partial and len(done) < len(labs):
                        partial.lab_done(futures[future], done[futures[future]])
            results = [done[lab] for lab in labs]
    except GraderError as e:
        print("grader error: %s" % e, file=sys.stderr)
        return 2
    elapsed = time.monotonic() - start
    out = open(os.devnull, "w") if args.quiet else sys.stdout
    total, possible = print_report(results, args, style, out)
    if args.quiet:
        print("Total: %d/%d" % (total, possible))
    try:
        if args.results_json:
            write_atomic(args.results_json, json.dumps(
                gradescope(results, elapsed, args.seed, version.describe()), indent=1) + "\n")
        if args.csv:
            gradebook.update(args.csv, args.student or student_name(args.submission), results,
                             args.seed, version.describe(), lab_points())
        if args.junit:
            write_atomic(args.junit, junit.junit_xml(results, elapsed))
        if args.classroom:
            write_atomic(args.classroom, classroom.encoded(results) + "\n")
        if args.summary_json:
            write_atomic(args.summary_json, json.dumps(results, indent=1) + "\n")
    except (OSError, ValueError) as e:
        print("grader error: cannot write the results: %s" % printable(str(e)), file=sys.stderr)
        return 2
    if args.autolab:  # last: Autolab reads the last line of the output
        print(autolab.autolab_line(results))
    return 0 if total == possible else 1


if __name__ == "__main__":
    sys.exit(main())
