#!/usr/bin/env python3
"""The suite's self-tests (make test): prove the grader right.

Each check prints one line; the run fails if any check fails. What is checked:
  - labs/ is what solutions/ generate; handouts' rubric tables, C blocks and kernel claims;
  - solutions compile with -Werror, skeletons without a single warning;
  - the kernel behaviour the handouts teach, and lab 02's selection model, on this kernel;
  - the call record (strace's output on real programs) and safe output of any bytes;
  - the harness and sandbox (timeouts, leaks, output cap, trace, fork bombs, fallback mode);
  - reference solutions score full marks (grader built with ASan and UBSan), also in the
    container mode (namespaces refused as Docker does); without namespaces or root, grading
    another's code refuses; skeletons score 0 without a grader error; each buggy variant in
    tests/buggy/ fails exactly the tests it lists, and each correct variant in tests/correct/
    (written differently, from the handouts) none; the report names a blocking bug first and
    fits 80 columns; every contract clause has a test and a variant that proves it
    (handout.py --check, through contract.py);
  - the hostile battery (tests/hostile): attack submissions get no marks they did not earn and
    touch nothing outside their sandbox, as root, as an ordinary user and in the container mode;
  - afterwards no queue and no sandboxed process is left on the host.
"""
import base64
import concurrent.futures
import csv
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from xml.etree import ElementTree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import grade  # noqa: E402

# A student release (grader/release.py) has no solutions/ and none of the instructors' tests:
# make test there runs the checks that need neither.
RELEASE = not os.path.isdir(os.path.join(ROOT, "solutions"))
if not RELEASE:
    import bad_submissions  # noqa: E402
    import variants  # noqa: E402

BUILD = os.path.join(ROOT, "build")
ASAN_BUILD = os.path.join(BUILD, "asan")
STUDENT_CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-c", "-o", os.devnull]
SANDBOX_UID = 4000000  # msglab-run's programs run as this uid and above when we are root


class Failed(Exception):
    pass


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


ONLY_LAB = None  # --lab: the checks that go lab by lab look at this one only
FULL = False  # --full: every buggy variant runs every test of its lab
NO_MEMORY_PASS = dict(os.environ, MSGLAB_MEMORY_PASS="0")  # checks that are not about it


def labs():
    return grade.find_labs(ONLY_LAB)


def program_of(lab):
    return next(iter(grade.programs_of(grade.load_rubric(lab))))


def check_generated():
    for script in ("skeleton.py", "handout.py"):
        p = run([sys.executable, os.path.join(ROOT, "grader", script), "--check"])
        if p.returncode:
            raise Failed(p.stderr.strip())
    return "labs/ matches solutions/; handouts' tables, C blocks and kernel claims hold"


def check_style():
    if not (shutil.which("clang-format") and shutil.which("cppcheck")):
        return "skipped: clang-format or cppcheck not installed"
    p = run(["make", "--no-print-directory", "check-style"], cwd=ROOT)
    if p.returncode:
        raise Failed((p.stdout + p.stderr).strip()[-3000:])
    return "clang-format clean, cppcheck quiet"


def check_skeleton_keeps_edits():
    """make skeletons must never overwrite a student's edited lab unless forced."""
    script = os.path.join(ROOT, "grader", "skeleton.py")
    with tempfile.TemporaryDirectory() as tmp:
        labs_copy = os.path.join(tmp, "labs")
        shutil.copytree(os.path.join(ROOT, "labs"), labs_copy)
        lab = labs()[0]
        edited = os.path.join(labs_copy, lab, program_of(lab) + ".c")
        with open(edited, "a") as f:
            f.write("/* the student's work */\n")
        untouched = os.path.join(labs_copy, lab, "Makefile")
        os.remove(untouched)
        p = run([sys.executable, script, "--write", "--labs", labs_copy])
        with open(edited) as f:
            kept = f.read().endswith("/* the student's work */\n")
        if p.returncode or not kept or "left alone" not in p.stderr or not os.path.exists(untouched):
            raise Failed("make skeletons overwrote an edited file or did not restore a missing one:"
                         "\n" + p.stdout + p.stderr)
        p = run([sys.executable, script, "--write", "--force", "--labs", labs_copy])
        with open(edited) as f:
            if "the student's work" in f.read():
                raise Failed("make skeletons FORCE=1 did not overwrite the edited file")
    return "make skeletons leaves edited files alone unless FORCE=1"


def check_compiles():
    for lab in labs():
        for tree, what in ((("labs", "skeleton"),) if RELEASE else
                           (("solutions", "solution"), ("labs", "skeleton"))):
            folder = os.path.join(ROOT, tree, lab)
            for source in sorted(f for f in os.listdir(folder) if f.endswith(".c")):
                p = run(["cc"] + STUDENT_CFLAGS + [source], cwd=folder)
                if p.returncode:
                    raise Failed("the %s %s/%s/%s gives warnings:\n%s"
                                 % (what, tree, lab, source, p.stderr))
    return "%s compile without a warning" % ("skeletons" if RELEASE else "solutions and skeletons")


def criterion(binary, env=None, name=None):
    """Run a Criterion binary; fail with its failures' text unless everything passed."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        p = run([binary, "-j1"], env=dict(env or os.environ, MSGLAB_REPORT=report),
                stdin=subprocess.DEVNULL, timeout=300)
        tail = "\n".join(p.stderr.strip().splitlines()[-30:])
        if p.returncode or "Synthesis" not in p.stderr:
            raise Failed("%s failed:\n%s" % (os.path.relpath(binary, ROOT), tail))
        count = p.stderr.split("Tested: ")[1].split()[0]
        if int(count) == 0:
            raise Failed("%s ran no test" % binary)
        return "%s: %s tests pass" % (name or os.path.relpath(binary, ROOT), count)


def check_kernel():
    """Every suite in tests/kernel: the kernel behaviour the handouts teach, and lab 02's model."""
    folder = os.path.join(ASAN_BUILD, "tests", "kernel")
    names = sorted(f[:-2] for f in os.listdir(os.path.join(ROOT, "tests", "kernel"))
                   if f.endswith(".c"))
    return "; ".join(criterion(os.path.join(folder, name), name=name) for name in names)


def check_trace():
    """The call record: strace's output on real programs, parsed into what the tests query."""
    return criterion(os.path.join(ASAN_BUILD, "tests", "strace_record"),
                     name="call record from strace (ASan)")


def check_output_safety():
    """Any bytes a program prints are shown escaped; output files never follow a link."""
    p = run([sys.executable, os.path.join(ROOT, "tests", "output_safety.py")], timeout=300)
    last = (p.stdout.strip().splitlines() or [""])[-1]
    if p.returncode or " 0 failed" not in last:
        raise Failed((p.stdout + p.stderr).strip()[-3000:])
    return last


def check_harness():
    with grade.Session(ASAN_BUILD) as session:
        # A folder of its own: the sandbox shows the program's folder to it, and only that.
        program = os.path.join(session.tmp, "bin", "misbehave")
        os.mkdir(os.path.dirname(program), 0o755)
        os.chmod(session.tmp, 0o755)  # the fallback tests run it on the host as another user
        shutil.copy(os.path.join(BUILD, "tests", "misbehave"), program)
        results = os.path.join(session.tmp, "results")
        # Runs that must finish get 8 s whatever the load (no reference to calibrate against
        # here); the tests of the timeout itself set their own.
        env = dict(session.env, MSGLAB_PROGRAM=program, MSGLAB_RESULTS=results,
                   MSGLAB_TIMEOUT_FLOOR_MS="8000")
        return criterion(os.path.join(ASAN_BUILD, "tests", "harness"), env=env,
                         name="harness and sandbox (ASan)")


def grade_run(submission, lab=None, build=BUILD, env=None, wrapper=(), notices=None, test=None,
              timeout=1800):
    """Grade (through the wrapper command, if any; only one test of lab, if given); return (exit
    status, summary list), and the grader's stderr in notices (a list) if given. Raises on a
    grader error."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = os.path.join(tmp, "summary.json")
        cmd = list(wrapper) + [sys.executable, os.path.join(ROOT, "grader", "grade.py"),
                               "--submission",
               submission, "--build", build, "--results-dir", os.path.join(tmp, "results"),
               "--summary-json", summary, "--quiet", "--no-expected"]
        if lab or ONLY_LAB:
            cmd += ["--lab", lab or ONLY_LAB]
        if test:
            cmd += ["--test", test]
        p = run(cmd, env=env, timeout=timeout)
        if notices is not None:
            notices.append(p.stderr)
        if p.returncode not in (0, 1) or not os.path.exists(summary):
            raise Failed("grading %s gave a grader error (status %d):\n%s%s"
                         % (submission, p.returncode, p.stdout, p.stderr))
        with open(summary) as f:
            return p.returncode, json.load(f)


def failures(summary):
    """Tests that lost points (a SKIP, which cannot run here, counts neither way)."""
    return {(r["lab"], t["name"]): t for r in summary for t in r["tests"]
            if t["status"] not in ("PASS", "SKIP")}


def expect_full_marks(status, summary, where=""):
    """The reference solutions lost no point (a SKIP counts neither way)."""
    bad = failures(summary)
    if status or bad:
        raise Failed("%sthe reference solutions lose points:\n" % where + "\n".join(
            "%s/%s %s: %s" % (lab, name, t["status"], "; ".join(t["messages"]))
            for (lab, name), t in bad.items()))


def check_reference():
    """Full marks, memory_safety included; and again with the grader's own C code built with
    ASan+UBSan (without the memory pass there: a sanitized grader running sanitized programs
    costs more than all the rest, and the harness test sanitizer_exit_is_noted covers that
    path of the grader's code under ASan)."""
    status, summary = grade_run(os.path.join(ROOT, "solutions"))
    expect_full_marks(status, summary)
    total = sum(t["points"] for r in summary for t in r["tests"])
    status, summary = grade_run(os.path.join(ROOT, "solutions"), build=ASAN_BUILD,
                                env=NO_MEMORY_PASS)
    expect_full_marks(status, summary, "with the grader under ASan+UBSan ")
    return "reference solutions: full marks (%d/%d), again with the grader under ASan+UBSan" % (
        total, total)


def check_reference_container():
    """As in a Docker container (Gradescope's): namespaces refused, so bubblewrap cannot start;
    as root the grader says so and still gives the reference solutions full marks."""
    notices = []
    status, summary = grade_run(os.path.join(ROOT, "solutions"), notices=notices,
                                wrapper=[os.path.join(BUILD, "tests", "no-namespaces")])
    if os.geteuid() == 0 and "CONTAINER MODE" not in notices[0]:
        raise Failed("no CONTAINER MODE notice with namespaces refused:\n" + notices[0])
    expect_full_marks(status, summary, "in a container ")
    skipped = sum(t["status"] == "SKIP" for r in summary for t in r["tests"])
    return "container mode (namespaces refused as by Docker's seccomp profile): full marks, " \
        "%d namespace-only tests skipped" % skipped


def check_unsandboxed_refuses():
    """Without namespaces and without root, grading anyone else's code refuses to run."""
    if os.geteuid() != 0:
        user = []
    elif shutil.which("setpriv"):
        user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    else:
        return "skipped: no setpriv to become an ordinary user"
    with tempfile.TemporaryDirectory() as tmp:
        # What the grader needs, where an ordinary user can read it (a clone may sit in a
        # folder of root's).
        os.chmod(tmp, 0o777)
        repo = os.path.join(tmp, "repo")
        shutil.copytree(os.path.join(ROOT, "grader"), os.path.join(repo, "grader"))
        os.makedirs(os.path.join(repo, "build", "bin"))
        shutil.copy(os.path.join(BUILD, "bin", "msglab-run"), os.path.join(repo, "build", "bin"))
        other = os.path.join(tmp, "student")
        shutil.copytree(os.path.join(ROOT, "solutions"), other)
        for base, dirs, files in os.walk(tmp):
            for name in dirs + files:
                os.chmod(os.path.join(base, name), 0o755)
        p = run(user + [sys.executable, os.path.join(repo, "grader", "grade.py"), "--submission",
                        other, "--build", os.path.join(repo, "build"), "--results-dir",
                        os.path.join(tmp, "results"), "--quiet"],
                env=dict(os.environ, MSGLAB_NO_NAMESPACES="1", MSGLAB_TMPDIR=tmp), timeout=120)
    if p.returncode != 2 or "needs a sandbox" not in p.stderr or "bubblewrap" not in p.stderr:
        raise Failed("grading another's code without a sandbox did not refuse clearly "
                     "(status %d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return "without namespaces or root, grading someone else's code refuses, saying what to install"




def check_stale_cgroups():
    """A run's memory cgroup is removed when the run ends; one left by a msglab-run that was
    killed (a grader's timeout) is removed by the next run once it has been empty a minute."""
    if os.geteuid() != 0:
        return "skipped: only root makes cgroups"
    run = os.path.join(BUILD, "bin", "msglab-run")
    proc = subprocess.Popen([run, "-U", "-r", "/dev/null", "--", "/bin/sleep", "0.5"])
    try:
        mine = []
        for _ in range(100):
            mine = glob.glob("/sys/fs/cgroup/**/msglab-%d" % proc.pid, recursive=True)
            if mine:
                break
            time.sleep(0.01)
    finally:
        proc.wait()
    if not mine:
        return "skipped: no memory cgroup can be made here"
    if os.path.exists(mine[0]):
        raise Failed("the run's cgroup %s is still there after the run" % mine[0])
    parent = os.path.dirname(mine[0])
    stale, fresh = os.path.join(parent, "msglab-stale-test"), os.path.join(parent, "msglab-fresh")
    os.mkdir(stale)
    os.mkdir(fresh)
    try:
        old = time.time() - 3600
        os.utime(stale, (old, old))
        subprocess.run([run, "-U", "-r", "/dev/null", "--", "/bin/true"], check=True)
        if os.path.exists(stale):
            raise Failed("a cgroup left an hour ago by a killed run was not removed")
        if not os.path.exists(fresh):
            raise Failed("a cgroup made a moment ago (its run may be starting) was removed")
    finally:
        for d in (stale, fresh):
            if os.path.exists(d):
                os.rmdir(d)
    return "a run's cgroup removed after it; one left an hour ago by a killed run removed " \
        "by the next, a fresh one kept"


def check_bench_floor():
    """build/bin/bare-run, make bench's floor: a graded run again, bare. Its setup first, in
    the same new folder; a private IPC namespace with the run's kernel limits; the environment,
    standard input and file of the run; every process's processor time counted, what the run
    leaves behind included (then killed); the main process's exit code said."""
    if os.geteuid() != 0:
        return "skipped: bare runs need root (a private IPC namespace)"
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = os.path.join(tmp, "bin")
        os.mkdir(bin_dir)
        burn = "dd if=/dev/zero of=/dev/null bs=64k count=20000 2>/dev/null"
        with open(os.path.join(bin_dir, "prog"), "w") as f:
            f.write("#!/bin/sh\n"
                    "test -f made-by-setup || exit 3\n"
                    "test -f keyfile || exit 4\n"
                    "[ \"$(cat /proc/sys/kernel/msgmnb)\" = 4321 ] || exit 5\n"
                    "[ \"$MSGLAB_TIMEOUT_MS,$WHO,$HOME\" = 5000,bench,/nonexistent ] || exit 6\n"
                    "[ \"$(cat)\" = from-stdin ] || exit 7\n"
                    # Left behind once it has burnt its processor time: counted, then killed.
                    "mkfifo burnt\n"
                    "(%s; echo > burnt; exec sleep 987) &\n"
                    "read done < burnt\n"
                    "exit 9\n" % burn)
        os.chmod(os.path.join(bin_dir, "prog"), 0o755)
        with open(os.path.join(tmp, "run1.stdin"), "w") as f:
            f.write("from-stdin")
        fields = ["program={bin}/prog", "timeout=5000", "env=WHO=bench", "sysctl=msgmnb=4321",
                  "stdin=run1.stdin", "setup=touch made-by-setup", "file=keyfile"]
        replay = os.path.join(tmp, "run1.replay")
        with open(replay, "wb") as f:
            f.write(b"".join(x.encode() + b"\0" for x in fields))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run(["sh", "-c", burn])
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        burnt = 1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        p = run([os.path.join(BUILD, "bin", "bare-run"), "-b", bin_dir, "-t", "/nonexistent",
                 replay], timeout=60)
        got = dict(line.split(" ", 1) for line in p.stdout.splitlines() if " " in line)
        left = processes_running(b"sleep\0" + b"987\0")
        for pid in left:
            os.kill(int(pid), signal.SIGKILL)
    if p.returncode or got.get("exit_code") != "9":
        raise Failed("bare-run: status %d, exit code %s (3: no setup, 4: no file, 5: no "
                     "sysctl, 6: environment, 7: stdin):\n%s%s"
                     % (p.returncode, got.get("exit_code"), p.stdout, p.stderr))
    if float(got["cpu_ms"]) < 0.8 * burnt:
        raise Failed("bare-run counted %s ms of processor time; the process it left behind "
                     "alone burnt about %.0f ms" % (got["cpu_ms"], burnt))
    if left:
        raise Failed("bare-run left the run's process behind: %s" % left)
    return "bare-run: setup, namespace, sysctl, environment, stdin and file as in the run; " \
        "%s ms of processor time counted (a leftover burnt %.0f), leftover killed" \
        % (got["cpu_ms"].split(".")[0], burnt)


def tmux_screen(sock, until, timeout=90, escapes=False):
    """The tmux pane's text once `until` shows in it (Failed if it never does)."""
    deadline = time.monotonic() + timeout
    while True:
        screen = run(["tmux", "-S", sock, "capture-pane", "-p", "-J"] + (["-e"] if escapes else
                                                                      [])).stdout
        if until in screen:
            return screen
        if time.monotonic() > deadline:
            raise Failed("the terminal never showed %r; it shows:\n%s" % (until, screen))
        time.sleep(0.2)


def check_demo():
    """make demo LAB=01 on a terminal (tmux, 80 columns): the lanes (parent, two children), the
    queue's column, each message's arrow into the queue and out of it with its mtype and text,
    the queue removed; no line wider than the terminal; NO_COLOR honoured; step mode shows one
    event per key press."""
    if not shutil.which("tmux"):
        return "skipped: tmux not installed (apt-get install tmux)"
    words = ["hello", "big world", "a third message"]
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "tmux")
        make = "make -s --no-print-directory -C %s demo LAB=01" % ROOT

        def start(command):
            # -u and LANG: a UTF-8 terminal whatever the caller's locale (CI sets none).
            p = run(["tmux", "-u", "-S", sock, "new-session", "-d", "-x", "80", "-y", "60",
                     "sh -c 'LANG=C.UTF-8 %s; echo DEMO-END; sleep 120'" % command])
            if p.returncode:
                raise Failed("tmux: %s" % p.stderr)

        try:
            svg_path = os.path.join(tmp, "pair.svg")
            start("NO_COLOR=1 " + make + " SPEED=0 SVG=" + svg_path)
            screen = tmux_screen(sock, "DEMO-END", escapes=True)
            lines = screen.splitlines()
            header = next((line for line in lines if line.startswith("time ms")), "")
            sends = [line for line in lines if "►" in line]
            receives = [line for line in lines if "◄" in line]
            problems = []
            for lane in ("msgpair", "child 1", "child 2", "queue 0"):
                if lane not in header:
                    problems.append("no lane or column %r in the header %r" % (lane, header))
            if len(sends) != 4 or len(receives) != 4:
                problems.append("%d arrows into the queue and %d out, expected 4 and 4 (3 words "
                                "and the end marker)" % (len(sends), len(receives)))
            for word in words:
                if not any('[1] "%s"' % word in line for line in sends):
                    problems.append("no arrow with [1] \"%s\"" % word)
            if not any('[2] ""' in line for line in sends):
                problems.append("no arrow for the end marker [2]")
            if "msgctl IPC_RMID" not in screen or "removed" not in screen:
                problems.append("the queue's removal is not shown")
            if "\x1b[3" in screen:
                problems.append("colour although NO_COLOR is set")
            wide = [line for line in lines if len(line) > 80]
            if wide:
                problems.append("%d lines wider than 80 columns" % len(wide))
            if problems:
                raise Failed("; ".join(problems) + ":\n" + screen)

            def events_shown():
                screen = tmux_screen(sock, "msgget: queue 0")
                return sum(bool(re.match(r" +\d+\.\d ", line)) for line in screen.splitlines())

            run(["tmux", "-S", sock, "kill-server"])
            sock = os.path.join(tmp, "tmux-step")
            start(make + " STEP=1")
            screen = tmux_screen(sock, "msgget: queue 0", escapes=True)
            if "\x1b[3" not in screen:
                raise Failed("no colour on a terminal without NO_COLOR:\n" + screen)
            time.sleep(1)
            shown = [events_shown()]
            for _ in range(2):
                run(["tmux", "-S", sock, "send-keys", "Space"])
                time.sleep(1)
                shown.append(events_shown())
            if shown != [1, 2, 3]:
                raise Failed("step mode showed %s events before and after each of two key "
                             "presses, expected 1, 2, 3" % shown)
            run(["tmux", "-S", sock, "send-keys", "q"])
            tmux_screen(sock, "DEMO-END")
            # The same run as SVG: well-formed, its lanes, queue, arrows and labels.
            try:
                root = ElementTree.parse(svg_path).getroot()
            except (OSError, ElementTree.ParseError) as e:
                raise Failed("make demo SVG=...: no well-formed SVG (%s)" % e)
        finally:
            run(["tmux", "-S", sock, "kill-server"])
    # The other labs' scenarios, each showing what it is there for.
    wanted = {("02", "priority"): ['◄─ [1] "alpha"', '◄─ [1] "again"', '◄─ [2] "beta"',
                                   "msgrcv: ENOMSG"],
              ("03", "fill"): ["4000 B ─►"] * 4 + ["msgsnd: EAGAIN"],
              ("03", "drain"): ["◄─ [9]"] * 4 + ["msgrcv: ENOMSG"],
              ("06", "removed"): ["limits", "msgrcv: waiting…", "msgctl IPC_RMID",
                                  "msgrcv: EIDRM"],
              ("05", "ten"): ["lanes:", "L bank-client 10", "msgrcv: waiting…",
                              "── [1] {deposit ", "◄─ [1] {deposit ", "── [", "] {ok #",
                              "◄─ ["],
              ("04", "control"): ["msgq 4", "msgctl IPC_STAT", "msgctl IPC_SET",
                                  "msgctl IPC_RMID", "msgctl MSG_INFO", "msgctl MSG_STAT_ANY"]}
    for (lab, scenario), marks in wanted.items():
        p = run([sys.executable, os.path.join(ROOT, "demo", "demo.py"), "--lab", lab,
                 "--scenario", scenario, "--speed", "0", "--width", "80"],
                env=dict(os.environ, NO_COLOR="1", LANG="C.UTF-8"), timeout=120)
        lines, at = p.stdout.splitlines(), 0
        for mark in marks:  # in this order, each on a later line
            at = next((i + 1 for i in range(at, len(lines)) if mark in lines[i]), None)
            if at is None:
                raise Failed("make demo LAB=%s SCENARIO=%s: no %r (in order) in:\n%s%s"
                             % (lab, scenario, mark, p.stdout, p.stderr))
    # A child killed by a signal: its parent's wait says so, and so does the child's own lane.
    import flow
    events = [{"t_us": 10, "dur_us": 0, "pid": 5, "ppid": 1, "call": "fork", "ret": 6},
              {"t_us": 20, "dur_us": 0, "pid": 5, "ppid": 1, "call": "fork", "ret": 7},
              {"t_us": 30, "dur_us": 0, "pid": 7, "ppid": 5, "call": "exit", "ret": 3},
              {"t_us": 40, "dur_us": 0, "pid": 5, "ppid": 1, "call": "wait", "ret": 6,
               "status": -1, "signal": 15},
              {"t_us": 50, "dur_us": 0, "pid": 5, "ppid": 1, "call": "wait", "ret": 7,
               "status": 3, "signal": 0}]
    notes = [(r["who"], r["text"]) for r in flow.rows(events, programs={5: "prog"})[2]]
    if ("child 1", "killed by SIGTERM") not in notes or \
            ("prog", "wait: child 1 killed by SIGTERM") not in notes or \
            ("prog", "wait: child 2 ended, exit 3") not in notes:
        raise Failed("a child killed by SIGTERM and one that exited 3 are drawn as: %s" % notes)
    # Lab 02's four modes side by side: each column what that mode took, in order.
    p = run([sys.executable, os.path.join(ROOT, "demo", "demo.py"), "--lab", "02", "--speed",
             "0", "--width", "80"], env=dict(os.environ, NO_COLOR="1", LANG="C.UTF-8"),
            timeout=120)
    table = {line.split()[0]: re.findall(r"\[\d\] \w+|ENOMSG|\d+ messages?", line)
             for line in p.stdout.splitlines() if re.match(r"(\d\.|left) ", line)}
    want = {"1.": ["[3] gamma", "[1] alpha", "[1] alpha", "[3] gamma"],
            "2.": ["[1] alpha", "[1] again", "[1] again", "[2] beta"],
            "3.": ["[2] beta", "ENOMSG", "[2] beta", "[5] last"],
            "4.": ["[1] again", "ENOMSG", "ENOMSG"], "5.": ["[5] last"], "6.": ["ENOMSG"],
            "left": ["0 messages", "3 messages", "2 messages", "2 messages"]}
    if table != want:
        raise Failed("make demo LAB=02 (the modes side by side) shows:\n%s%s" % (p.stdout,
                                                                                p.stderr))
    ns = "{http://www.w3.org/2000/svg}"
    count = {k: sum(1 for e in root.iter(ns + tag) if e.get("class") == k)
             for tag, k in (("line", "lane"), ("line", "send"), ("line", "receive"),
                            ("rect", "queue"))}
    texts = [e.text or "" for e in root.iter(ns + "text")]
    if count != {"lane": 3, "send": 4, "receive": 4, "queue": 1} or \
            '[1] "hello" 5 B' not in texts or "child 2" not in texts:
        raise Failed("make demo SVG=...: %s, texts %s" % (count, texts))
    return "make demo LAB=01 under tmux (80 columns): 3 lanes and the queue, 4 messages in " \
        "and out with mtype and text, the removal; NO_COLOR honoured; one event per key in " \
        "step mode; a child killed by a signal shown in both lanes; lab 02's four modes side by " \
        "side; labs 02 (priority), 03 (fill to EAGAIN, drain to ENOMSG), 04 (msgctl), 05 " \
        "(10 clients, requests and replies decoded), 06 (EIDRM) show; " \
        "the SVG has its lanes, queue and 8 arrows"


def check_msgtop():
    """msgtop under tmux, in a private IPC namespace with one queue: three messages sent with its
    s key show the queue filling (count, bytes, the types waiting, peeked with MSG_COPY), three
    taken with r show it draining, in the order sent; its batch mode prints the same table."""
    if os.geteuid() != 0:
        return "skipped: needs root for a private IPC namespace"
    if not shutil.which("tmux"):
        return "skipped: tmux not installed (apt-get install tmux)"
    if not os.path.exists("/usr/include/curses.h"):
        return "skipped: no ncurses to build msgtop (apt-get install libncurses-dev)"
    p = run(["make", "-s", "--no-print-directory", "build/bin/msgtop"], cwd=ROOT)
    if p.returncode:
        raise Failed("make build/bin/msgtop:\n" + p.stdout + p.stderr)
    msgtop = os.path.join(BUILD, "bin", "msgtop")
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "tmux")
        tmux = ["tmux", "-u", "-S", sock]

        def queue_line():
            screen = tmux_screen(sock, "queues: 1")
            return next((line for line in screen.splitlines() if line.startswith("0x")), "")

        def expect(count, used, types):
            deadline = time.monotonic() + 30
            while True:
                fields = queue_line().split()
                # KEY ID OWNER MODE MSGS [BAR] USED/QBYTES ... TYPES
                if (len(fields) >= 7 and fields[4] == str(count) and
                        fields[6] == "%d/16384" % used and
                        queue_line().rstrip().endswith(types)):
                    return
                if time.monotonic() > deadline:
                    raise Failed("msgtop: expected %d messages, %d bytes, types %r; it shows:"
                                 "\n%s" % (count, used, types, queue_line()))
                time.sleep(0.2)

        def keys(*typed):
            for text in typed:
                run(tmux + ["send-keys", text] + ([] if text in "sr" else ["Enter"]))
                time.sleep(0.3)

        try:
            p = run(tmux + ["new-session", "-d", "-x", "150", "-y", "30",
                            "unshare --ipc sh -c 'ipcmk -Q >/dev/null && %s -b > %s/batch && "
                            "exec %s -d 100'" % (msgtop, tmp, msgtop)])
            if p.returncode:
                raise Failed("tmux: %s" % p.stderr)
            expect(0, 0, "-")
            sent = [("7", "hello"), ("3", "queue"), ("7", "world!")]
            used = 0
            for n, (mtype, text) in enumerate(sent, 1):
                keys("s", "0", mtype, text)
                used += len(text)
                expect(n, used, " ".join(dict.fromkeys(t for t, _ in sent[:n])))
            for n, (mtype, text) in enumerate(sent):
                keys("r", "0")
                used -= len(text)
                left = sent[n + 1:]
                expect(len(left), used, " ".join(dict.fromkeys(t for t, _ in left)) or "-")
                if "received %d bytes of type %s: %s" % (len(text), mtype, text) not in \
                        tmux_screen(sock, "queues: 1"):
                    raise Failed("msgtop's r did not say it received %r" % text)
            run(tmux + ["send-keys", "q"])
            with open(os.path.join(tmp, "batch")) as f:
                batch = f.read()
        finally:
            run(tmux + ["kill-server"])
    if "queues: 1" not in batch or "KEY" not in batch:
        raise Failed("msgtop -b printed:\n" + batch)
    return "msgtop in tmux: a queue filled by its s key (3 messages, types 7 3 peeked) and " \
        "drained by its r key in the order sent; msgtop -b prints the table"


def check_ipc_bench():
    """make ipc-bench (quick): the table has every transport at every size, its own overhead is
    measured and shown, and the plot is well-formed SVG with one line per transport. (How fast,
    and the overhead's size, depend on the machine and its load: shown, not judged.)"""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ipc.svg")
        p = run([sys.executable, os.path.join(ROOT, "demo", "ipc_plot.py"), "--quick", "--svg",
                 path], timeout=300)
        if p.returncode:
            raise Failed("ipc-bench: status %d:\n%s%s" % (p.returncode, p.stdout, p.stderr))
        rows = [line.split() for line in p.stdout.splitlines()[1:]
                if line.split() and line.split()[0] in ("sysv-msgq", "pipe", "posix-mq",
                                                         "unix-socket")]
        seen = {(r[0], r[1]) for r in rows if len(r) == 5}
        want = {(t, s) for t in ("sysv-msgq", "pipe", "posix-mq", "unix-socket")
                for s in ("16", "1024", "8192")}
        overhead = re.search(r"own overhead: .* ([+-][\d.]+)%", p.stdout)
        try:
            root = ElementTree.parse(path).getroot()
        except (OSError, ElementTree.ParseError) as e:
            raise Failed("ipc-bench: no well-formed plot (%s)" % e)
    series = [e for e in root.iter("{http://www.w3.org/2000/svg}polyline")
              if e.get("class") == "series"]
    if seen != want or not overhead or len(series) != 8 or \
            any(len(e.get("points").split()) != 3 for e in series):
        raise Failed("ipc-bench: rows %s, overhead %s, %d series in the plot:\n%s"
                     % (sorted(seen), bool(overhead), len(series), p.stdout))
    return "make ipc-bench: 4 transports x 3 sizes, its own overhead shown (%s%% here), two " \
        "plots of 4 lines" % overhead.group(1)


def check_handouts_site():
    """make handouts' site, built (a quick ipc-bench) and read in headless Chromium: every page
    loads cleanly, every image loads, every link stays in the site and lands; each lab's page
    has its rubric, its diagrams and links to manual pages."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import browser
    import site_check
    missing = [package for tool, package in (("pandoc", "pandoc"), ("groff", "groff-base"))
               if not shutil.which(tool)]
    if not browser.find_chromium():
        missing.append("chromium-headless-shell")
    if missing or not os.path.exists("/usr/share/man/man2/msgsnd.2.gz"):
        return "skipped: install %s to build and check the site" % " ".join(
            missing + ["manpages-dev"])
    with tempfile.TemporaryDirectory() as tmp:
        site = os.path.join(tmp, "site")
        p = run([sys.executable, os.path.join(ROOT, "grader", "handout_site.py"), "--out", site,
                 "--quick"], timeout=600)
        if p.returncode:
            raise Failed("handout_site.py: status %d:\n%s%s" % (p.returncode, p.stdout,
                                                                 p.stderr))
        labs = grade.find_labs(None)
        problems, counts = site_check.check(site, [lab + ".html" for lab in labs])
    if problems:
        raise Failed("the site: %d problem(s):\n%s" % (len(problems), "\n".join(problems[:30])))
    return "make handouts: %d pages read in Chromium, %d images, %d links, all loaded; diagrams " \
        "per lab %s" % (counts["pages"], counts["images"], counts["links"],
                        " ".join(str(counts["figures"].get(lab + ".html", 0)) for lab in labs))


def check_skeletons():
    status, summary = grade_run(os.path.join(ROOT, "labs"))
    scored = [(r["lab"], t["name"]) for r in summary for t in r["tests"] if t["score"]]
    errors = [(r["lab"], t["name"]) for r in summary for t in r["tests"] if t["status"] == "ERROR"]
    # A program that does nothing has no memory error to find: memory_safety waits (BLOCKED)
    # for half the other points, and its sanitized pass does not even run.
    unblocked = [(r["lab"], t["status"]) for r in summary for t in r["tests"]
                 if t["name"] == "memory_safety" and t["status"] != "BLOCKED"]
    if scored or errors or unblocked or status != 1:
        raise Failed("skeletons: scored on %s; grader errors on %s; memory_safety not BLOCKED "
                     "in %s" % (scored, errors, unblocked))
    return "skeletons: 0 points on every lab, memory_safety BLOCKED, no grader error"


def check_student_release():
    """make student-release (lab 01, one test hidden): nothing of the solutions (no file, no
    line of an answer, no binary) and no hidden test's code; inside it, GitHub Classroom's step
    builds the grader and grades on its own: the reference solution gets every point there,
    and the report counts the hidden test instead of claiming full marks."""
    lab = "01-two-children"
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "release")
        p = run(["make", "--no-print-directory", "student-release", "OUT=" + out, "LAB=01",
                 "HIDE=01:ftok_key"], cwd=ROOT, timeout=900)
        if p.returncode:
            raise Failed("make student-release failed:\n%s%s" % (p.stdout, p.stderr[-3000:]))
        for path in ("solutions", "tests/buggy", "tests/correct", "tests/hostile",
                     "grader/release.py", "grader/skeleton.py", "build"):
            if os.path.exists(os.path.join(out, path)):
                raise Failed("the student release holds %s" % path)
        answers = set()
        for name in os.listdir(os.path.join(ROOT, "solutions", lab)):
            with open(os.path.join(ROOT, "solutions", lab, name)) as f:
                solution = {line.strip() for line in f}
            with open(os.path.join(ROOT, "labs", lab, name)) as f:
                given = {line.strip() for line in f}
            answers |= {line for line in solution - given if len(line) > 24}
        # A line the grader's own code has as well (strlen of a buffer) gives nothing away.
        for folder in ("grader", "tests"):
            for base, _, files in os.walk(os.path.join(ROOT, folder)):
                for name in files:
                    if name.endswith((".c", ".h", ".py")):
                        with open(os.path.join(base, name), errors="replace") as f:
                            answers -= {line.strip() for line in f}
        for base, _, files in os.walk(out):
            for name in files:
                with open(os.path.join(base, name), "rb") as f:
                    data = f.read()
                where = os.path.relpath(os.path.join(base, name), out)
                if data.startswith(b"\x7fELF"):
                    raise Failed("the student release holds a binary: %s" % where)
                leaked = [a for a in answers if a.encode() in data]
                if leaked:
                    raise Failed("%s holds a line of the solution: %s" % (where, leaked[0]))
        with open(os.path.join(out, "grader", lab, "tests.c")) as f:
            if "Test(lab, ftok_key" in f.read():
                raise Failed("the hidden test's code is in the release")
        for name in os.listdir(os.path.join(ROOT, "solutions", lab)):
            shutil.copy(os.path.join(ROOT, "solutions", lab, name), os.path.join(out, "labs", lab))
        # Graded as GitHub Classroom grades a push: the workflow's step, its output decoded as
        # autograding-grading-reporter decodes it.
        workflow = os.path.join(out, ".github", "workflows", "classroom.yml")
        step = "sh grader/classroom-step.sh"
        with open(workflow) as f:
            text = f.read()
        if step not in text or "runners: msglab" not in text or "MSGLAB_RESULTS" not in text:
            raise Failed("the Classroom workflow does not run %s and report it" % step)
        parsed = run(["/usr/bin/python3", "-c", "import sys, yaml; yaml.safe_load(open("
                      "sys.argv[1]))", workflow]) if os.path.exists("/usr/bin/python3") else None
        if parsed is not None and parsed.returncode and "No module named" not in parsed.stderr:
            raise Failed("the Classroom workflow is not valid YAML:\n" + parsed.stderr)
        output = os.path.join(tmp, "github_output")
        p = run(["sh", "grader/classroom-step.sh"], cwd=out, timeout=900,
                env=dict(NO_MEMORY_PASS, MSGLAB_LAB="01", GITHUB_OUTPUT=output))
        try:
            with open(output) as f:
                line = f.read().strip()
            scored = json.loads(base64.b64decode(line.split("=", 1)[1]))
        except (OSError, ValueError, IndexError) as e:
            raise Failed("the Classroom step gave no result (%s):\n%s%s"
                         % (e, p.stdout[-3000:], p.stderr[-3000:]))
        total = sum(t["score"] for t in scored["tests"])
        lost = [t["name"] for t in scored["tests"] if t["status"] != "pass"]
        if lost or total != scored["max_score"] or "1 hidden test" not in p.stdout or \
                "full marks" in p.stdout:
            raise Failed("grading the reference in the release: lost %s, %s/%s; report:\n%s"
                         % (lost, total, scored["max_score"], p.stdout[-2000:]))
    return ("student release: no solution (file, answer line or binary), hidden test cut out; "
            "its Classroom step gives the reference %d/%d points and the report counts 1 hidden "
            "test" % (total, scored["max_score"]))


def gradescope_container(autograder, command, env=()):
    """Run command as Gradescope does: in a container whose /autograder is the folder given,
    as root, with namespaces refused as by Docker's default seccomp profile (a bubblewrap of
    our own makes the mount namespace, then no-namespaces refuses any more)."""
    cmd = ["bwrap", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
           "--proc", "/proc", "--dev", "/dev", "--ro-bind", "/sys", "/sys", "--tmpfs", "/tmp",
           "--bind", autograder, "/autograder",
           "--ro-bind", os.path.join(BUILD, "tests", "no-namespaces"), "/opt/no-namespaces",
           "--cap-add", "ALL", "--chdir", "/autograder"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            cmd += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            cmd += ["--ro-bind", name, name]
    for item in env:
        cmd += ["--setenv"] + item.split("=", 1)
    return run(cmd + ["--", "/opt/no-namespaces"] + command, timeout=900)


def check_gradescope():
    """make gradescope (lab 01), unpacked in Gradescope's /autograder layout, in a container
    that refuses namespaces: setup.sh builds the grader (its apt-get skipped: the packages are
    here), run_autograder grades a submission of loose files (msgpair.c and its Makefile, as a
    student uploads one lab) and writes results.json as the specification has it, full marks."""
    if os.geteuid() != 0 or not shutil.which("bwrap"):
        return "skipped: needs root and bubblewrap to make Gradescope's container"
    lab = "01-two-children"
    with tempfile.TemporaryDirectory() as tmp:
        bundle = os.path.join(tmp, "autograder.zip")
        p = run(["make", "--no-print-directory", "gradescope", "OUT=" + bundle, "LAB=01"],
                cwd=ROOT, timeout=900)
        if p.returncode:
            raise Failed("make gradescope failed:\n%s%s" % (p.stdout, p.stderr[-3000:]))
        ag = os.path.join(tmp, "autograder")
        source = os.path.join(ag, "source")
        with zipfile.ZipFile(bundle) as z:
            names = z.namelist()
            if "setup.sh" not in names or "run_autograder" not in names:
                raise Failed("the zip has no setup.sh or run_autograder at its root")
            if any(n.startswith(("solutions/", "tests/buggy", "tests/hostile")) for n in names):
                raise Failed("the zip holds solutions or instructors' tests")
            for info in z.infolist():
                z.extract(info, source)
                mode = info.external_attr >> 16
                if mode:
                    os.chmod(os.path.join(source, info.filename), mode & 0o777)
        shutil.copy(os.path.join(source, "run_autograder"), ag)
        os.makedirs(os.path.join(ag, "submission"))
        os.makedirs(os.path.join(ag, "results"))
        for name in os.listdir(os.path.join(ROOT, "solutions", lab)):
            shutil.copy(os.path.join(ROOT, "solutions", lab, name), os.path.join(ag, "submission"))
        p = gradescope_container(ag, ["bash", "/autograder/source/setup.sh"],
                                 env=["MSGLAB_SETUP_NO_APT=1"])
        if p.returncode:
            raise Failed("setup.sh failed:\n%s" % (p.stdout + p.stderr)[-3000:])
        p = gradescope_container(ag, ["/autograder/run_autograder"],
                                 env=["MSGLAB_MEMORY_PASS=0"])  # not what this is about
        path = os.path.join(ag, "results", "results.json")
        if p.returncode or not os.path.exists(path):
            raise Failed("run_autograder failed (status %d):\n%s"
                         % (p.returncode, (p.stdout + p.stderr)[-3000:]))
        with open(path) as f:
            results = json.load(f)
    for key, kind in {"score": (int, float), "execution_time": int, "output": str,
                      "visibility": str, "stdout_visibility": str, "tests": list}.items():
        if not isinstance(results.get(key), kind):
            raise Failed("results.json: %s missing or not %s" % (key, kind.__name__
                                                                  if isinstance(kind, type)
                                                                  else "a number"))
    lost = [t["name"] for t in results["tests"] if t["score"] != t["max_score"]]
    possible = sum(t["max_score"] for t in results["tests"])
    if lost or results["score"] != possible or not all(
            {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)
            for t in results["tests"] if t["max_score"]):
        raise Failed("run_autograder on the reference: lost %s, score %s of %s:\n%s"
                     % (lost, results["score"], possible, results["output"]))
    return ("Gradescope bundle in /autograder, namespaces refused: setup.sh builds, "
            "run_autograder gives the reference %s/%s with every field of the specification"
            % (results["score"], possible))


def check_class_grading():
    """make grade-class on a class of five: a folder, a zipped clone, a .tar.gz with the lab
    folder misnamed, a zip that climbs out with ../ and holds a link, a stray file. Every
    student gets a gradebook row (the last three a note, nothing written outside OUT), the two
    correct ones full marks, the misnamed lab is named; the summary (text, HTML with SVG) and
    the similarity check (alice and bob handed in the same code) are written; a second run
    resumes everything, and one student re-graded keeps every row."""
    lab = "01-two-children"
    solution = os.path.join(ROOT, "solutions", lab)
    with tempfile.TemporaryDirectory() as tmp:
        klass, out = os.path.join(tmp, "class"), os.path.join(tmp, "graded")
        shutil.copytree(solution, os.path.join(klass, "alice", lab))
        with zipfile.ZipFile(os.path.join(klass, "bob.zip"), "w") as z:
            for name in os.listdir(solution):
                z.write(os.path.join(solution, name), "bob-clone/labs/%s/%s" % (lab, name))
        stage = os.path.join(tmp, "stage", "lab01")
        shutil.copytree(solution, stage)
        run(["tar", "-czf", os.path.join(klass, "carol.tar.gz"), "-C", os.path.dirname(stage),
             "lab01"], check=True)
        with zipfile.ZipFile(os.path.join(klass, "eve.zip"), "w") as z:
            z.writestr(lab + "/msgpair.c", "int main(void) { return 0; }\n")
            z.writestr("../escaped.txt", "outside\n")
            link = zipfile.ZipInfo(lab + "/link.c")
            link.external_attr = 0o120777 << 16
            z.writestr(link, "/etc/shadow")
        with open(os.path.join(klass, "frank.txt"), "w") as f:
            f.write("my labs are on my laptop\n")

        def grade_class():
            p = run([sys.executable, os.path.join(ROOT, "grader", "classgrade.py"), klass,
                     "--out", out, "--lab", "01", "--jobs", "2"], timeout=900, env=NO_MEMORY_PASS)
            if p.returncode:
                raise Failed("grade-class failed:\n%s%s" % (p.stdout, p.stderr[-3000:]))
            with open(os.path.join(out, "gradebook.csv")) as f:
                return p.stdout, {r["student"]: r for r in csv.DictReader(f)}

        # Full marks without the memory pass (off here: not what this check is about).
        full = str(sum(t["points"] for t in grade.load_rubric(lab)["tests"]
                       if t["name"] != "memory_safety"))
        first, rows = grade_class()
        if sorted(rows) != ["alice", "bob", "carol", "eve", "frank.txt"]:
            raise Failed("gradebook rows: %s" % sorted(rows))
        if rows["alice"][lab] != full or rows["bob"][lab] != full or rows["carol"][lab] != "0":
            raise Failed("scores: %s" % {k: r[lab] for k, r in rows.items()})
        if not all(rows[s]["note"] for s in ("eve", "frank.txt")) or rows["alice"]["note"]:
            raise Failed("notes: %s" % {k: r["note"] for k, r in rows.items()})
        with open(os.path.join(out, "students", "carol", "report.txt")) as f:
            if "found lab01/, expected 01-two-children/" not in f.read():
                raise Failed("the misnamed lab folder is not named in carol's report")
        if os.path.exists(os.path.join(tmp, "escaped.txt")) or os.path.exists(
                os.path.join(out, "escaped.txt")):
            raise Failed("eve's ../escaped.txt was written")
        with open(os.path.join(out, "summary.txt")) as f:
            summary = f.read()
        with open(os.path.join(out, "summary.html")) as f:
            page = f.read()
        if "<svg" not in page or "missing: 1" not in summary:
            raise Failed("the class summary lacks its plots or the missing lab:\n" + summary)
        similar = shutil.which("sim_c") is not None
        if similar and "alice and bob" not in summary:
            raise Failed("sim_c did not find alice and bob alike:\n" + summary)
        again, _ = grade_class()
        if "5 resumed" not in again:
            raise Failed("a second run did not resume: " + again)
        os.unlink(os.path.join(out, "students", "frank.txt", "done.json"))
        again, rows = grade_class()
        if "4 resumed" not in again or len(rows) != 5 or rows["alice"][lab] != full:
            raise Failed("re-grading frank: %s %s" % (again, sorted(rows)))
    return ("class of 5: every student a row (3 with a note), archives kept inside OUT, a "
            "misnamed lab named, summary with SVG%s; resumed, one student re-graded"
            % (", alice and bob found alike by sim_c" if similar else
               " (sim_c not installed: similarity not checked)"))


def check_variant(lab, name, files, expected, root_only, may_fail=frozenset()):
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, lab)
        os.makedirs(folder)
        for file_name, text in files.items():
            with open(os.path.join(folder, file_name), "w") as f:
                f.write(text)
        # Without --full, a buggy variant runs only the tests it must fail (a fifth of the
        # time): that it loses them is checked, not that it loses nothing else. The sanitized
        # pass only where the variant's bug is a memory error (then without the half-points
        # gate, which needs every test's result), or with --full where it must find none.
        named = bool(expected) and not FULL
        memory = "memory_safety" in expected or (not expected and FULL)
        env = dict(os.environ, MSGLAB_MEMORY_PASS=(
            "0" if not memory else "always" if named else "1"))
        _, summary = grade_run(tmp, lab=lab, env=env,
                               test=",".join(sorted(expected)) if named else None)
    failed = {t["name"] for t in summary[0]["tests"] if t["status"] not in ("PASS", "SKIP")}
    # A test that cannot run here (SKIP) cannot fail; some bugs only show as root.
    expected = expected - {t["name"] for t in summary[0]["tests"] if t["status"] == "SKIP"}
    if os.geteuid() != 0:
        expected -= root_only
    if not expected <= failed <= expected | may_fail:
        return "%s/%s: expected to fail %s, failed %s" % (
            lab, name, " ".join(sorted(expected)) or "nothing", " ".join(sorted(failed)) or "nothing")
    return None


def graded_variants(folder):
    """Grade every variant in tests/FOLDER/ (4 at once: more only crowds the cores); the
    problems, and how many there were."""
    jobs = [(lab,) + v for lab in labs() for v in variants.variants(lab, program_of(lab), folder)]
    if not jobs:
        raise Failed("no variants found in tests/%s" % folder)
    # The longest first (a memory error's, then lab 05's scenarios), so that none is left to
    # run alone at the end.
    jobs.sort(key=lambda job: ("memory_safety" not in job[3], not job[0].startswith("05")))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        problems = [p for p in pool.map(lambda job: check_variant(*job), jobs) if p]
    if problems:
        raise Failed("\n".join(problems))
    return len(jobs)


def check_variants():
    n = graded_variants("buggy")
    return ("%d buggy variants each fail exactly their tests" if FULL else
            "%d buggy variants each fail their tests (FULL=1: and no other)") % n


def check_correct_variants():
    """Correct solutions written differently from the references (tests/correct/), as students
    reading only the handouts would: full marks, every one."""
    return "%d correct variants written differently: full marks%s" % (
        graded_variants("correct"), "" if FULL else " (FULL=1: with the memory pass)")


def check_bad_submissions():
    lab = labs()[0]
    program = program_of(lab)
    with open(os.path.join(ROOT, "solutions", lab, program + ".c")) as f:
        solution = f.read()
    for name, edits, test, expected in bad_submissions.BAD_SUBMISSIONS:
        with tempfile.TemporaryDirectory() as tmp:
            for other in labs():  # the other labs are correct, and must still be graded
                shutil.copytree(os.path.join(ROOT, "solutions", other), os.path.join(tmp, other))
            with open(os.path.join(tmp, lab, program + ".c"), "w") as f:
                f.write(variants.apply_edits(solution, edits, name))
            status, summary = grade_run(tmp, lab=lab if test else None, test=test, timeout=900,
                                        env=NO_MEMORY_PASS)
            if status != 1:
                raise Failed("a submission that %s: grader status %d" % (name, status))
        for r in summary:
            statuses = {t["status"] for t in r["tests"]}
            compiled = not r["build_error"]
            if r["lab"] == lab and (statuses != {expected} or (test is None) == compiled):
                raise Failed("a submission that %s: expected %s, got %s" % (name, expected, statuses))
            if r["lab"] != lab and not statuses <= {"PASS", "SKIP"}:
                raise Failed("a submission that %s: lab %s was not graded: %s" % (
                    name, r["lab"], "; ".join("%s %s: %s" % (t["name"], t["status"],
                                                             " ".join(t["messages"])[:300])
                                              for t in r["tests"] if t["status"] != "PASS")))
    return "submissions that hang, crash, fork without end, flood or do not compile cost " \
        "their test only"


def report_of(submission, lab, cwd):
    """The terminal report of grading submission's lab (stdout a pipe), from cwd."""
    p = run([sys.executable, os.path.join(ROOT, "grader", "grade.py"), "--submission", submission,
             "--lab", lab, "--results-dir", os.path.join(cwd, "results")], cwd=cwd, timeout=900,
            env=NO_MEMORY_PASS)
    if p.returncode != 1:
        raise Failed("grading %s: status %d, expected 1\n%s%s" % (submission, p.returncode,
                                                                  p.stdout, p.stderr))
    return p.stdout


def check_report():
    """The report reads well: an untouched skeleton is one line; a bug that blocks later tests
    is named first and the tests that depend on it are marked, not a cascade; in a pipe no line
    is wider than 80 columns."""
    lab = labs()[0]
    blocker = "mtype_positive"
    with tempfile.TemporaryDirectory() as tmp:
        skeleton = report_of(os.path.join(ROOT, "labs"), lab, tmp)
        name, files = next((name, files) for name, files, _, _, _ in
                           variants.variants(lab, program_of(lab)) if name == "mtype_unset")
        os.makedirs(os.path.join(tmp, "sub", lab))
        for file_name, text in files.items():
            with open(os.path.join(tmp, "sub", lab, file_name), "w") as f:
                f.write(text)
        buggy = report_of("sub", lab, tmp)
        # A failed test's report points at its run drawn as SVG: here, every msgsnd failing.
        drawn = re.findall(r"diagram: (\S+\.svg)", buggy)
        try:
            root = ElementTree.parse(os.path.join(tmp, drawn[0])).getroot()
        except (IndexError, OSError, ElementTree.ParseError) as e:
            raise Failed("%s/%s: no diagram of the failed run (%s):\n%s" % (lab, name, e, buggy))
        # Beside it, the reference solution's run of the same case: its messages go through.
        panels = root.findall("{http://www.w3.org/2000/svg}svg")
        texts = [[e.text or "" for e in p.iter("{http://www.w3.org/2000/svg}text")]
                 for p in panels]
        sent = [len([e for e in p.iter("{http://www.w3.org/2000/svg}line")
                     if e.get("class") == "send"]) for p in panels]
        if len(panels) != 2 or "msgsnd: EINVAL" not in texts[0] or \
                not any(s.startswith("the reference solution") for s in texts[1]) or \
                "msgsnd: EINVAL" in texts[1] or sent[1] < 2 or \
                "(yours beside the reference solution's)" not in buggy:
            raise Failed("%s/%s: the diagram %s does not show msgsnd failing with EINVAL beside "
                         "the reference's messages (%d panels, %s arrows sent): %s"
                         % (lab, name, drawn[0], len(panels), sent, texts))
    lines = skeleton.splitlines()
    if not (lines and lines[0].startswith(lab) and "not started" in lines[0]
            and not any(line.startswith("  ") for line in lines)):
        raise Failed("an untouched skeleton is not reported as one 'not started' line:\n"
                     + skeleton)
    first = "  fix %s first:" % blocker
    blocked = [line for line in buggy.splitlines() if line.startswith("  BLOCKED")]
    if not buggy.splitlines()[1].startswith(first) or not blocked or \
            "not checked: depends on %s" % blocker not in buggy:
        raise Failed("%s/%s: the blocking bug is not named first, or no test is marked "
                     "BLOCKED:\n%s" % (lab, name, buggy))
    wide = [line for line in (skeleton + buggy).splitlines() if len(line) > 80]
    if wide:
        raise Failed("report lines wider than 80 columns in a pipe:\n" + "\n".join(wide))
    return "skeleton: 'not started'; %s names %s first and marks %d tests BLOCKED; lines fit " \
        "80 columns; a failed run drawn as SVG beside the reference's (%d diagrams)" % (
            name, blocker, len(blocked), len(drawn))


def check_layout():
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "lab1"))
        status, summary = grade_run(tmp)
    missing = [r["lab"] for r in summary if not (r["build_error"] or "").startswith("no folder")]
    if status != 1 or missing:
        raise Failed("a submission with the wrong layout was not told so: %s" % missing)
    return "a submission with the wrong layout gets 0 and 'no folder ...', no grader error"


def hostile(*options, memory_pass=True):
    """The hostile battery (tests/hostile/run.py): attack submissions graded by the real grader,
    each with its expectation, and nothing outside touched."""
    if os.geteuid() != 0:
        return "skipped: the battery needs root (to make its own namespaces)"
    p = run([sys.executable, os.path.join(ROOT, "tests", "hostile", "run.py")] + list(options),
            timeout=1800, env=dict(os.environ, MSGLAB_MEMORY_PASS="1" if memory_pass else "0"))
    lines = p.stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    if p.returncode or " 0 failed" not in last:
        bad = [line for line in lines if not line.startswith(("ok ", "skip "))]
        raise Failed("\n".join(bad[-40:]) + p.stderr[-2000:])
    return last


def check_hostile():
    return "as root: " + hostile()


def check_hostile_user():
    if not FULL:  # CI's 15 minutes; its sandbox is the root battery's bubblewrap
        return "as an ordinary user: not run (make test FULL=1 runs it)"
    return "as an ordinary user: " + hostile("--user", memory_pass=False)


def check_hostile_container():
    return "in the container mode: " + hostile("--wrap", os.path.join(BUILD, "tests",
                                                                      "no-namespaces"),
                                               memory_pass=False)


def host_queues():
    with open("/proc/sysvipc/msg") as f:
        return set(f.read().splitlines()[1:])


def processes_running(cmdline):
    """The pids whose command line (NUL-separated, as in /proc) is cmdline."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if f.read() == cmdline:
                    found.append(pid)
        except OSError:
            continue
    return found


def sandboxed_processes():
    """Host processes running as a sandbox uid (only meaningful when we run as root)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/status" % pid) as f:
                uid = int(next(line for line in f if line.startswith("Uid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        if os.geteuid() == 0 and uid >= SANDBOX_UID:
            found.append(pid)
    return found


def main():
    global ONLY_LAB, FULL
    import argparse
    parser = argparse.ArgumentParser(description="The suite's self-tests (make test).")
    parser.add_argument("--lab", help="only this lab, where a check goes lab by lab")
    parser.add_argument("--full", action="store_true",
                        help="each buggy variant runs every test of its lab, so that losing "
                        "more than its own tests shows (make test FULL=1)")
    parser.add_argument("checks", nargs="*", help="only these checks (default: all)")
    options = parser.parse_args()
    ONLY_LAB = options.lab
    FULL = options.full
    checks = [check_generated, check_skeleton_keeps_edits, check_style, check_compiles,
              check_kernel, check_trace, check_output_safety, check_harness, check_reference,
              check_reference_container, check_unsandboxed_refuses, check_stale_cgroups,
              check_bench_floor, check_demo, check_handouts_site, check_msgtop, check_ipc_bench,
              check_skeletons, check_student_release, check_gradescope, check_class_grading,
              check_variants, check_correct_variants, check_report, check_bad_submissions,
              check_layout, check_hostile, check_hostile_user, check_hostile_container]
    if RELEASE:
        checks = [check_compiles, check_kernel, check_trace, check_output_safety, check_harness,
                  check_skeletons]
    if options.checks:
        known = {c.__name__: c for c in checks}
        unknown = [name for name in options.checks if name not in known]
        if unknown:
            parser.error("no check %s; the checks are: %s" % (", ".join(unknown), " ".join(known)))
        checks = [known[name] for name in options.checks]
    queues_before = host_queues()
    failed = 0
    start = time.monotonic()
    for check in checks:
        t0 = time.monotonic()
        try:
            message = check()
            print("ok    %-28s %s (%.1f s)" % (check.__name__, message, time.monotonic() - t0))
        except (Failed, grade.GraderError, subprocess.TimeoutExpired) + (
                () if RELEASE else (variants.VariantError,)) as e:
            failed += 1
            print("FAIL  %-28s %s" % (check.__name__, str(e).replace("\n", "\n      ")))
        sys.stdout.flush()
    left = host_queues() - queues_before
    strays = sandboxed_processes()
    if left or strays:
        failed += 1
        print("FAIL  nothing left on the host: queues %s, sandboxed processes %s"
              % (sorted(left), strays))
    else:
        print("ok    nothing left on the host: no new queue, no sandboxed process")
    print("%s in %.1f s" % ("all checks pass" if not failed else "%d check(s) failed" % failed,
                            time.monotonic() - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
