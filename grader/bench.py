#!/usr/bin/env python3
"""make bench: how long grading the reference solutions takes, and the grader's overhead.

cold:  rebuild the grader from scratch and forget the reference's calibrated times, then
       grade every lab of solutions/
warm:  grade again, everything built (median of 3)
bare:  the time the graded programs themselves ran (each run's wall time, measured by the
       sandbox from the program's start to its exit), without the sandbox's set-up, the
       trace's reading, calibration, compiling or Criterion; overhead = warm / bare
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, **kw):
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.monotonic() - start


def bare_runs(results):
    """The programs' own run time in every transcript: (seconds, number of runs)."""
    total, count = 0.0, 0
    for base, _, files in os.walk(results):
        for name in files:
            if name.startswith("run") and name.endswith(".sandbox"):
                with open(os.path.join(base, name)) as f:
                    for line in f:
                        if line.startswith("wall_ms "):
                            total += float(line.split()[1]) / 1000
                            count += 1
    return total, count


def main():
    grade_cmd = [sys.executable, os.path.join(ROOT, "grader", "grade.py"), "--submission",
                 os.path.join(ROOT, "solutions"), "--quiet"]
    shutil.rmtree(os.path.join(ROOT, "build", "calibration"), ignore_errors=True)
    build = timed(["make", "-B", "--no-print-directory", "tools"], cwd=ROOT)
    cold = timed(grade_cmd, cwd=ROOT)
    warm = statistics.median(timed(grade_cmd, cwd=ROOT) for _ in range(3))
    bare, count = bare_runs(os.path.join(ROOT, "results"))
    cpus = os.cpu_count()
    print("grading all labs of solutions/ on %d CPU%s:" % (cpus, "" if cpus == 1 else "s"))
    print("  cold: %.2f s to build the grader + %.2f s to grade" % (build, cold))
    print("  warm: %.2f s (median of 3)" % warm)
    print("  bare: %.3f s: the %d program runs themselves" % (bare, count))
    print("  overhead: %.1fx the bare runs" % (warm / bare if bare else float("nan")))
    shutil.rmtree(os.path.join(ROOT, "results"), ignore_errors=True)


if __name__ == "__main__":
    main()
