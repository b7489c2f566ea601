#!/usr/bin/env python3
"""Soak test (make soak): no verdict may depend on the machine's load.

Phase 1 grades correct submissions (the reference solutions in solutions/ and the correct
variants in tests/correct/, which are written differently from the reference but follow the
handouts' contract) N times (-n, default 100) under the load of a deadline: P gradings at once
(--parallel, default 3) while H CPU hogs (--hogs, default 2 per core: plain busy loops) keep
every core busy. Any test of a correct submission that is not PASS or SKIP is a changed verdict:
its lab, test, status, messages, seed and transcript are printed.

Phase 2 starts B gradings at once (--burst, default 32; 0 skips it; the hogs too with
--burst-hogs): the reference solutions, the correct variants and a few buggy variants
(tests/buggy), each of which is first graded alone. No cross-talk and no changed verdict: each
correct submission gets full marks, each buggy one fails exactly what it fails alone. A buggy
variant that fails, alone, other tests than its 'fails:' line lists is reported apart (STALE:
its list is out of date, which is no matter of load) and also makes the exit status 1.

Last, each changed verdict (up to 16) is graded again, alone, with the same seed, and the summary
says which: "fine alone" (the load changed it) or "again alone" (it does not depend on the load:
a bug of the grader or the submission, or a grader being edited while the soak ran).

A grading is one lab of one submission (grade.py --lab), with its own temporary submission,
results folder and summary JSON, all removed at the end. The hogs are always killed, also on
Ctrl-C (and they die with this script even if it is killed: PR_SET_PDEATHSIG).
Exit status: 0 when no verdict changed, 1 otherwise, 2 on bad usage.

    python3 tests/soak.py [-n N] [--parallel P] [--hogs H] [--burst B] [--burst-hogs]
                          [--labs 01,03] [--quick]
    make soak [N=100] [PARALLEL=3] [HOGS=4] [BURST=32] [LAB=01,03] [QUICK=1]
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import grade  # noqa: E402
import variants  # noqa: E402

GRADE = os.path.join(ROOT, "grader", "grade.py")
GRADING_TIMEOUT = 900  # seconds: far above any lab's grading, even under load
RECHECK_MAX = 16  # changed verdicts graded again, alone, with the same seed
TRANSCRIPT_MAX = 2500  # characters of each transcript file shown for a changed verdict

# A busy loop that dies with its parent (PR_SET_PDEATHSIG = 1, SIGKILL = 9).
HOG = ("import ctypes, os, signal\n"
       "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
       "ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)\n"
       "if os.getppid() == 1: raise SystemExit\n"
       "while True: pass\n")


class Unit:
    """One lab of one submission: what a grading grades, and what it must give."""

    def __init__(self, kind, lab, name, folder, expected=frozenset(), root_only=frozenset()):
        self.kind, self.lab, self.name, self.folder = kind, lab, name, folder
        self.expected, self.root_only = set(expected), set(root_only)
        self.alone = None  # a buggy variant's failed tests when graded alone

    def __str__(self):
        return "%s/%s (%s)" % (self.lab, self.name, self.kind)


def program_of(lab):
    return next(iter(grade.programs_of(grade.load_rubric(lab))))


def write_submission(tmp, lab, files, name):
    """A submission folder holding one lab: tmp/NAME/LAB/..."""
    folder = os.path.join(tmp, name)
    os.makedirs(os.path.join(folder, lab))
    for file_name, text in files.items():
        with open(os.path.join(folder, lab, file_name), "w") as f:
            f.write(text)
    return folder


def make_units(labs, tmp, buggy_count):
    """(correct units: the reference and the correct variants; buggy units for the burst)."""
    correct, buggy = [], []
    for lab in labs:
        correct.append(Unit("reference", lab, "reference", os.path.join(ROOT, "solutions")))
        program = program_of(lab)
        for name, files, fails, _, _ in variants.variants(lab, program, "correct"):
            if fails:
                raise SystemExit("soak: tests/correct/%s/%s.variant lists failures: %s"
                                 % (lab, name, " ".join(sorted(fails))))
            folder = write_submission(tmp, lab, files, "correct-%s-%s" % (lab[:2], name))
            correct.append(Unit("correct variant", lab, name, folder))
        for name, files, fails, root_only, _ in variants.variants(lab, program):
            folder = write_submission(tmp, lab, files, "buggy-%s-%s" % (lab[:2], name))
            buggy.append(Unit("buggy variant", lab, name, folder, fails, root_only))
    # A few buggy variants, spread over the labs, picked with a fixed seed.
    picked, by_lab = [], {}
    for unit in buggy:
        by_lab.setdefault(unit.lab, []).append(unit)
    rng = random.Random(8)
    while len(picked) < buggy_count and any(by_lab.values()):
        for lab in sorted(by_lab):
            if by_lab[lab] and len(picked) < buggy_count:
                picked.append(by_lab[lab].pop(rng.randrange(len(by_lab[lab]))))
    return correct, picked


class Runner:
    """Runs gradings; tracks the grade.py processes so that Ctrl-C can stop them."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.lock = threading.Lock()
        self.procs = set()
        self.stopping = False
        self.count = 0

    def grade(self, unit, baseline=False, seed=None):
        """Grade the unit once; returns a dict: unit, seed, seconds, status, problems (and
        failed: the tests that lost points; stale: see verdict_problems). A baseline grading
        only records what the unit gets."""
        seed = seed or str(random.SystemRandom().randint(1, 999999))
        with self.lock:
            self.count += 1
            work = os.path.join(self.tmp, "grading-%d" % self.count)
        os.mkdir(work)
        summary = os.path.join(work, "summary.json")
        results = os.path.join(work, "results")
        cmd = [sys.executable, GRADE, "--submission", unit.folder, "--lab", unit.lab,
               "--results-dir", results, "--summary-json", summary, "--seed", seed, "--quiet"]
        out = {"unit": unit, "seed": seed, "problems": [], "status": None,
               "baseline": baseline}
        start = time.monotonic()
        try:
            with self.lock:
                if self.stopping:
                    raise KeyboardInterrupt
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, errors="replace",
                                        start_new_session=True)
                self.procs.add(proc)
            try:
                stdout, stderr = proc.communicate(timeout=GRADING_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                stdout, stderr = proc.communicate()
                stderr += "\n(soak: the grading took more than %d s and was killed)" \
                    % GRADING_TIMEOUT
            finally:
                with self.lock:
                    self.procs.discard(proc)
            out["seconds"] = time.monotonic() - start
            out["status"] = proc.returncode
            if self.stopping:
                raise KeyboardInterrupt  # stopped by us: no verdict
            if proc.returncode not in (0, 1) or not os.path.exists(summary):
                logs = ""
                for base, _, files in os.walk(results):
                    for name in files:
                        if name == "criterion.log":  # why the tests gave no report
                            with open(os.path.join(base, name), errors="replace") as f:
                                logs += "\n  %s:\n%s" % (name, shorten(f.read(), 3000))
                out["problems"].append("GRADER ERROR (status %s):\n%s%s%s" % (
                    proc.returncode, stdout, stderr, logs))
            else:
                with open(summary) as f:
                    out["problems"] += verdict_problems(unit, json.load(f), proc.returncode,
                                                        out)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return out

    def stop(self):
        """Interrupt every running grading (SIGINT lets grade.py clean up), then kill."""
        with self.lock:
            self.stopping = True
            procs = list(self.procs)
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()


def shorten(text, limit, line_limit=300):
    """text, its middle cut out if longer than limit; each line at most line_limit characters."""
    lines = [line if len(line) <= line_limit else line[:line_limit - 40] +
             " [... %d characters]" % (len(line) - line_limit + 40) for line in text.splitlines()]
    text = "\n".join(lines)
    if len(text) > limit:
        text = text[:limit // 3] + "\n[... %d characters ...]\n" % (len(text) - limit) + \
            text[-(limit - limit // 3):]
    return text


def transcript(path):
    """The files a test saw (runN.command, .stdout, .stderr, .trace, .sandbox), shortened."""
    if not path or not os.path.isdir(path):
        return "    (no transcript)"
    parts = []
    for name in sorted(os.listdir(path)):
        try:
            with open(os.path.join(path, name), errors="replace") as f:
                text = f.read()
        except OSError as e:
            text = "(unreadable: %s)" % e
        parts.append("    --- %s\n%s" % (name, "\n".join(
            "      " + line for line in shorten(text, TRANSCRIPT_MAX).splitlines())))
    return "\n".join(parts)


def verdict_problems(unit, summary, status, out):
    """The tests whose verdict differs from what the unit must give (full marks for a correct
    submission; for a buggy variant, what it gets graded alone): one text each. Sets
    out["failed"], and out["stale"] when a buggy variant fails, alone and here alike, other
    tests than its 'fails:' line lists (the list is out of date: not a matter of load)."""
    if len(summary) != 1 or summary[0]["lab"] != unit.lab:
        return ["the summary holds %s, not lab %s alone" % ([r["lab"] for r in summary],
                                                            unit.lab)]
    result = summary[0]
    if result["build_error"]:
        return ["build error: %s" % result["build_error"]]
    skipped = {t["name"] for t in result["tests"] if t["status"] == "SKIP"}
    expected = unit.expected - skipped
    if os.geteuid() != 0:
        expected -= unit.root_only
    failed = {t["name"] for t in result["tests"] if t["status"] not in ("PASS", "SKIP")}
    out["failed"] = failed
    if out.get("baseline"):
        if failed != expected:
            out["stale"] = "%s/%s: its 'fails:' line says %s; graded alone it fails %s" % (
                unit.lab, unit.name, " ".join(sorted(expected)) or "nothing",
                " ".join(sorted(failed)) or "nothing")
        return []
    must = expected if unit.alone is None else unit.alone - skipped
    problems = []
    for t in result["tests"]:
        if t["name"] in failed - must:
            out.setdefault("changed", []).append((unit.lab, t["name"], t["status"]))
            problems.append("%s %s %s: %s\n  hint: %s\n  command: %s\n  transcript:\n%s" % (
                unit.lab, t["name"], t["status"],
                shorten("\n".join(t["messages"]), 3000, 3000).replace("\n", "\n    ") or "(none)",
                t.get("hint", ""), shorten(t.get("command", ""), 400),
                transcript(t.get("transcript"))))
    for name in sorted(must - failed):
        out.setdefault("changed", []).append((unit.lab, name, "PASS"))
        problems.append("%s %s passed, but the buggy variant %s fails it %s" % (
            unit.lab, name, unit.name, "alone" if unit.alone is not None else
            "by its 'fails:' line"))
    if not problems and (status == 0) != (not failed):
        problems.append("grade.py exit status %d with %s failed" % (status, sorted(failed)))
    if not problems and failed != expected:
        out["stale"] = "%s/%s: its 'fails:' line says %s; graded alone and here it fails %s" % (
            unit.lab, unit.name, " ".join(sorted(expected)) or "nothing",
            " ".join(sorted(failed)) or "nothing")
    return problems


class LoadWatch:
    """Samples the 1-minute load average every 2 s while running."""

    def __init__(self):
        self.samples = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.done.is_set():
            self.samples.append(os.getloadavg()[0])
            self.done.wait(2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def text(self):
        s = self.samples or [os.getloadavg()[0]]
        return "load average %.1f to %.1f (mean %.1f)" % (min(s), max(s), sum(s) / len(s))


class Hogs:
    """Busy-loop processes keeping the cores busy; always killed on leaving."""

    def __init__(self, count):
        self.count = count
        self.procs = []

    def __enter__(self):
        for _ in range(self.count):
            self.procs.append(subprocess.Popen([sys.executable, "-c", HOG],
                                               stdin=subprocess.DEVNULL,
                                               start_new_session=True))
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        for proc in self.procs:
            proc.wait()
        self.procs = []


def report(out):
    """Print a grading's changed verdicts."""
    unit = out["unit"]
    print("\nCHANGED VERDICT: %s, %.1f s, seed %s (replay: python3 grader/grade.py "
          "--submission SUBMISSION --lab %s --seed %s)" % (unit, out.get("seconds", 0),
                                                           out["seed"], unit.lab, out["seed"]))
    for problem in out["problems"]:
        print("  " + problem)
    sys.stdout.flush()


class Progress:
    def __init__(self, phase, total, show=True):
        self.phase, self.total, self.done, self.changed = phase, total, 0, 0
        self.show = show  # print each changed verdict in full
        self.start = time.monotonic()
        self.tty = sys.stdout.isatty()
        self.every = max(1, total // 20)

    def step(self, out):
        self.done += 1
        self.changed += bool(out["problems"])
        if out["problems"] and self.show:
            if self.tty:
                print()
            report(out)
        if self.tty or self.done % self.every == 0 or self.done == self.total:
            line = "%s: %d/%d gradings, %d changed, %.0f s, load %.1f" % (
                self.phase, self.done, self.total, self.changed, time.monotonic() - self.start,
                os.getloadavg()[0])
            if self.tty:
                print("\r" + line + "   ", end="" if self.done < self.total else "\n")
            else:
                print(line)
            sys.stdout.flush()


def run_pool(runner, units, parallel, progress, baseline=False):
    """Grade the units (or (unit, seed) pairs), parallel at a time; returns the outcomes."""
    outcomes, queue, lock = [], list(units), threading.Lock()

    def worker():
        while True:
            with lock:
                if not queue or runner.stopping:
                    return
                unit = queue.pop(0)
            try:
                if isinstance(unit, tuple):
                    out = runner.grade(unit[0], baseline, seed=unit[1])
                else:
                    out = runner.grade(unit, baseline)
            except KeyboardInterrupt:
                return
            with lock:
                outcomes.append(out)
                progress.step(out)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)
    return outcomes


def times(outcomes):
    s = [o["seconds"] for o in outcomes if "seconds" in o]
    if not s:
        return "no grading finished"
    return "a grading took %.1f s to %.1f s (mean %.1f)" % (min(s), max(s), sum(s) / len(s))


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=None, help="gradings in phase 1 (default 100)")
    p.add_argument("--parallel", type=int, default=3, help="gradings at once in phase 1 (3)")
    p.add_argument("--hogs", type=int, default=None, help="CPU hogs (default 2 per core)")
    p.add_argument("--burst", type=int, default=None,
                   help="gradings at once in phase 2 (default 32; 0: no phase 2)")
    p.add_argument("--burst-hogs", action="store_true",
                   help="keep the hogs running during the burst too (default: the burst's own "
                   "gradings are its load)")
    p.add_argument("--labs", help="only these labs, e.g. 01,03")
    p.add_argument("--quick", action="store_true",
                   help="a short run: -n 12, a burst of 12 (unless given)")
    args = p.parse_args()
    n = args.n if args.n is not None else (12 if args.quick else 100)
    burst = args.burst if args.burst is not None else (12 if args.quick else 32)
    cores = os.cpu_count() or 1
    hogs = args.hogs if args.hogs is not None else 2 * cores
    if n < 0 or burst < 0 or hogs < 0 or args.parallel < 1:
        p.error("counts must not be negative, and --parallel at least 1")
    try:
        labs = sorted({lab for part in args.labs.split(",") if part.strip()
                       for lab in grade.find_labs(part.strip())}) if args.labs \
            else grade.find_labs(None)
    except grade.GraderError as e:  # an unknown lab
        p.error(str(e))
    if not labs:
        p.error("no lab selected")
    for tool in ("msglab-run",):
        if not os.path.exists(os.path.join(ROOT, "build", "bin", tool)):
            p.error("build/bin/%s is missing: run make tools" % tool)

    tmp = tempfile.mkdtemp(prefix="msglab-soak-")
    os.chmod(tmp, 0o755)  # the sandboxed build reads the submissions as another user
    runner = Runner(tmp)
    started = time.monotonic()
    changed = 0
    interrupted = False
    # SIGTERM and SIGHUP end the run as Ctrl-C does: gradings stopped, hogs killed, files gone.
    # (SIGINT too, in case it was ignored, as in a background job: the gradings then get the
    # default back, and stop cleanly when stop() interrupts them.)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    done, stale, every = 0, [], []
    try:
        correct, buggy = make_units(labs, tmp, min(8, max(1, burst // 4)) if burst else 0)
        buggy = buggy[:burst // 2]
        rng = random.Random()
        plan = []
        while len(plan) < n:
            cycle = list(correct)
            rng.shuffle(cycle)
            plan += cycle
        plan = plan[:n]
        print("soak: %d correct submissions (%d reference labs, %d correct variants) in %s; "
              "phase 1: %d gradings, %d at once, %d hogs on %d cores" % (
                  len(correct), len(labs), len(correct) - len(labs), ", ".join(labs), n,
                  args.parallel, hogs, cores))
        sys.stdout.flush()
        if buggy:
            # What each buggy variant of the burst gets alone: one grading at a time, no hogs.
            progress = Progress("phase 2, buggy variants alone", len(buggy))
            for out in run_pool(runner, buggy, 1, progress, baseline=True):
                every.append(out)
                if "failed" in out:
                    out["unit"].alone = out["failed"]
                if out.get("stale"):
                    stale.append(out["stale"])
                changed += bool(out["problems"])
            for line in stale:
                print("STALE VARIANT (not a matter of load): " + line)
        if n:
            with Hogs(hogs), LoadWatch() as load:
                progress = Progress("phase 1", n)
                t0 = time.monotonic()
                outcomes = run_pool(runner, plan, args.parallel, progress)
                seconds1 = time.monotonic() - t0
            every += outcomes
            done += len(outcomes)
            changed1 = sum(bool(o["problems"]) for o in outcomes)
            changed += changed1
            print("phase 1: %d gradings, %d at once, %d hogs, in %.0f s; %s; %s; %d changed "
                  "verdicts" % (len(outcomes), args.parallel, hogs, seconds1, times(outcomes),
                                load.text(), changed1))
        if burst:
            units = []
            while len(units) < burst - len(buggy):
                units += correct
            units = units[:burst - len(buggy)] + buggy
            rng.shuffle(units)
            burst_hogs = hogs if args.burst_hogs else 0
            print("phase 2: %d gradings at once (%d correct, %d buggy variants: %s), %d hogs"
                  % (len(units), len(units) - len(buggy), len(buggy),
                     ", ".join("%s/%s" % (u.lab[:2], u.name) for u in buggy), burst_hogs))
            sys.stdout.flush()
            with Hogs(burst_hogs), LoadWatch() as load:
                progress = Progress("phase 2", len(units))
                t0 = time.monotonic()
                outcomes2 = run_pool(runner, units, len(units), progress)
                seconds2 = time.monotonic() - t0
            every += outcomes2
            changed2 = sum(bool(o["problems"]) for o in outcomes2)
            changed += changed2
            print("phase 2: %d gradings at once, %d hogs, in %.0f s; %s; %s; %d changed verdicts"
                  " (cross-talk or load)" % (len(outcomes2), burst_hogs, seconds2,
                                             times(outcomes2), load.text(), changed2))
        # Each changed verdict again, alone and with the same seed: a verdict that changes again
        # does not depend on the load (a bug of the grader or of the submission, or a change
        # being made to the grader); one that does not is the load's doing.
        again = [o for o in every if o["problems"] and not o["baseline"] and not any(
            p.startswith("GRADER ERROR") for p in o["problems"])][:RECHECK_MAX]
        if again:
            progress = Progress("recheck alone", len(again), show=False)
            rechecked = run_pool(runner, [(o["unit"], o["seed"]) for o in again], 1, progress)
            for first, second in zip(again, rechecked):
                first["alone_again"] = second
    except KeyboardInterrupt:
        interrupted = True
        print("\nsoak: interrupted; stopping the gradings and the hogs", file=sys.stderr)
    finally:
        runner.stop()
        for _ in range(30):  # what a killed grading's last processes were still writing
            shutil.rmtree(tmp, ignore_errors=True)
            if not os.path.exists(tmp):
                break
            time.sleep(1)
    total = time.monotonic() - started
    tally = {}
    for out in every:
        second = out.get("alone_again")
        for key in out.get("changed", []):
            if second is None:
                how = "not rechecked"
            elif key in second.get("changed", []):
                how = "again alone"
            elif second["problems"]:
                how = "alone: other problems"
            else:
                how = "fine alone"
            tally.setdefault(key, []).append("%s [%s]" % (out["unit"].name, how))
    if tally:
        print("soak: changed verdicts by test (lab test status: times: submission [graded "
              "again alone, same seed: fine alone = the load's doing; again alone = not load])")
        for (lab, test, status), names in sorted(tally.items()):
            print("  %s %s %s: %d: %s" % (lab, test, status, len(names), ", ".join(names)))
    errors = sum(any(p.startswith("GRADER ERROR") for p in o["problems"]) for o in every)
    if errors:
        print("soak: %d gradings ended in a grader error (shown above)" % errors)
    if stale:
        print("soak: %d buggy variants fail, also alone, other tests than their 'fails:' line "
              "lists:\n  %s" % (len(stale), "\n  ".join(stale)))
    print("soak: %d gradings under load (%d at once, %d hogs on %d cores)%s: %d changed verdicts"
          "%s (%.0f s in all)" % (done, args.parallel, hogs, cores,
                                  ", then a burst of %d at once" % burst if burst else "",
                                  changed, ", INTERRUPTED" if interrupted else "", total))
    return 1 if changed or stale or interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
