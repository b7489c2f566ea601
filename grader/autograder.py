#!/usr/bin/env python3
"""Gradescope's side: grade one submission and write results.json (run_autograder calls this).

    autograder.py [--submission /autograder/submission] [--results /autograder/results/results.json]

The submission is what the student uploaded: lab folders laid out like labs/, a whole clone of
the repository, or, for an assignment of one lab, that lab's files alone. The assignment's labs
are listed in ASSIGNMENT (written by grader/gradescope_bundle.py). results.json is written lab
by lab while grading (a platform's time limit keeps what was graded); whatever goes wrong, it
says why with a score of 0 rather than leave Gradescope without results. The transcripts go
next to it, in transcripts/."""
import argparse
import json
import os
import stat
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import grade  # noqa: E402
from safe_files import write_atomic  # noqa: E402
from safe_text import printable  # noqa: E402

LOOSE_FILE_BYTES = 1 << 20


def assignment_labs():
    try:
        with open(os.path.join(ROOT, "ASSIGNMENT")) as f:
            wanted = f.read().split()
    except OSError:
        wanted = []
    return [lab for sel in wanted or [None] for lab in grade.find_labs(sel)]


def loose_files(submission, lab, tmp):
    """For an assignment of one lab: its .c, .h and Makefile uploaded alone, without their
    folder, put in a folder of that lab's name (regular files only; submission.py checks them
    again). None when the submission has lab folders."""
    entries = list(os.scandir(submission))
    if not any(e.name.endswith(".c") and e.is_file(follow_symlinks=False) for e in entries):
        return None
    folder = os.path.join(tmp, lab)
    os.makedirs(folder)
    for e in entries:
        st = e.stat(follow_symlinks=False)
        if e.name.endswith((".c", ".h")) or e.name == "Makefile":
            if stat.S_ISREG(st.st_mode) and st.st_size <= LOOSE_FILE_BYTES:
                fd = os.open(e.path, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, "rb") as src, open(os.path.join(folder, e.name), "wb") as dst:
                    dst.write(src.read(LOOSE_FILE_BYTES + 1))
    return tmp


def failed_results(why, elapsed):
    return {"score": 0, "execution_time": int(round(elapsed)), "output": printable(why),
            "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
            "tests": []}


def main():
    p = argparse.ArgumentParser(description="Grade one Gradescope submission.")
    p.add_argument("--submission", default="/autograder/submission")
    p.add_argument("--results", default="/autograder/results/results.json")
    args = p.parse_args()
    start = time.monotonic()
    results_dir = os.path.dirname(os.path.abspath(args.results))
    os.makedirs(results_dir, exist_ok=True)
    try:
        labs = assignment_labs()
    except grade.GraderError as e:
        write_atomic(args.results, json.dumps(failed_results(
            "autograder error: %s" % e, time.monotonic() - start)))
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        folder = args.submission
        if len(labs) == 1:
            folder = loose_files(args.submission, labs[0], tmp) or folder
        cmd = [sys.executable, os.path.join(ROOT, "grader", "grade.py"), "--submission", folder,
               "--results-json", args.results, "--results-dir",
               os.path.join(results_dir, "transcripts"), "--lab", ",".join(labs),
               "--no-expected"]
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="backslashreplace")
        print(p.stdout, end="")  # Gradescope keeps it for the instructor
        print(p.stderr, end="", file=sys.stderr)
        if p.returncode not in (0, 1) or not os.path.exists(args.results):
            why = ("The autograder could not finish grading this submission (please tell your "
                   "instructor):\n" + (p.stderr.strip() or "status %d" % p.returncode))
            try:  # the labs graded before it stopped are kept
                with open(args.results) as f:
                    partial = json.load(f)
                partial["output"] = partial.get("output", "") + "\n" + printable(why)
            except (OSError, ValueError):
                partial = failed_results(why, time.monotonic() - start)
            write_atomic(args.results, json.dumps(partial, indent=1) + "\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
