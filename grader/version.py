"""The grader's version, for gradebooks and results: the VERSION file of a release, or what git
says of this clone, or "unknown"."""
import functools
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=None)  # a git process once, not per test or per student
def describe():
    try:
        with open(os.path.join(ROOT, "VERSION")) as f:
            return f.read().strip() or "unknown"
    except OSError:
        pass
    try:
        p = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else "unknown"
