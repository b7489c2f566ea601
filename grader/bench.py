#!/usr/bin/env python3
"""make bench: how long grading the reference solutions takes, and the grader's overhead.

cold:  rebuild the grader from scratch, then grade every lab of solutions/
warm:  grade again, everything built (median of 3)
bare:  the same program invocations the tests made (from their transcripts), run directly
       without sandbox, trace, calibration or Criterion; overhead = warm / bare
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import grade  # noqa: E402


def timed(cmd, **kw):
    start = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.monotonic() - start


def bare_runs(results, programs):
    """Time the transcripts' commands run directly; returns (seconds, count)."""
    total, count = 0.0, 0
    for lab in sorted(os.listdir(results)):
        if lab not in programs:
            continue
        for test in sorted(os.listdir(os.path.join(results, lab))):
            folder = os.path.join(results, lab, test)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                if not name.endswith(".command"):
                    continue
                with open(os.path.join(folder, name)) as f:
                    command = f.read().strip()
                if "# with kernel." in command:
                    continue  # needs a namespace to run at all
                start = time.monotonic()
                subprocess.run(["sh", "-c", command], cwd=programs[lab], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
                total += time.monotonic() - start
                count += 1
    return total, count


def main():
    grade_cmd = [sys.executable, os.path.join(ROOT, "grader", "grade.py"), "--submission",
                 os.path.join(ROOT, "solutions"), "--quiet"]
    build = timed(["make", "-B", "--no-print-directory", "tools"], cwd=ROOT)
    cold = timed(grade_cmd, cwd=ROOT)
    warm = statistics.median(timed(grade_cmd, cwd=ROOT) for _ in range(3))
    programs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lab in grade.find_labs(None):
            programs = grade.programs_of(grade.load_rubric(lab))
            ok, message = grade.build(os.path.join(ROOT, "solutions", lab), programs,
                                      os.path.join(tmp, lab))
            if not ok:
                sys.exit("bench: %s" % message)
            programs[lab] = os.path.join(tmp, lab)
        bare, count = bare_runs(os.path.join(ROOT, "results"), programs)
    cpus = os.cpu_count()
    print("grading all labs of solutions/ on %d CPU%s:" % (cpus, "" if cpus == 1 else "s"))
    print("  cold: %.2f s to build the grader + %.2f s to grade" % (build, cold))
    print("  warm: %.2f s (median of 3)" % warm)
    print("  bare: %.3f s for the same %d program runs without the grader" % (bare, count))
    print("  overhead: %.1fx the bare runs" % (warm / bare if bare else float("nan")))
    shutil.rmtree(os.path.join(ROOT, "results"), ignore_errors=True)


if __name__ == "__main__":
    main()
