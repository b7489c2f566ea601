"""Submissions whose code is suspiciously alike, by Debian's similarity tester (sim_c).

For each lab, each student's .c files, less every line the skeleton gives (the code all of them
start from), go to sim_c, which compares token runs (renamed variables and moved functions do
not hide a copy); pairs above THRESHOLD percent are listed. A hint for a human to read both, not
a verdict."""
import os
import re
import shutil
import subprocess

THRESHOLD = 60  # percent of one file's tokens found in the other
MIN_TOKENS_RUN = 20  # sim_c's run length (its default is 24)
LINE = re.compile(r"^(.*) consists for (\d+) % of (.*) material$")


def skeleton_lines(lab):
    import grade
    folder = os.path.join(grade.ROOT, "grader", lab, "skeleton")  # a release's copy
    if not os.path.isdir(folder):
        folder = os.path.join(grade.ROOT, "labs", lab)
    lines = set()
    for name in os.listdir(folder):
        if name.endswith((".c", ".h")):
            with open(os.path.join(folder, name), errors="replace") as f:
                lines |= {line.strip() for line in f if line.strip()}
    return lines


def similar_pairs(sources, labs, work):
    """sources: {student: folder holding LAB/ copies of their files}. Returns
    {"available": bool, "pairs": [(lab, student a, student b, percent)]}, highest first."""
    if not shutil.which("sim_c"):
        return {"available": False, "pairs": []}
    pairs = []
    for lab in labs:
        given = skeleton_lines(lab)
        folder = os.path.join(work, "similarity", lab)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        files = {}
        for i, (student, root) in enumerate(sorted(sources.items())):
            lab_dir = os.path.join(root, lab)
            if not os.path.isdir(lab_dir):
                continue
            own = []
            for name in sorted(os.listdir(lab_dir)):
                if name.endswith(".c"):
                    with open(os.path.join(lab_dir, name), errors="replace") as f:
                        own += [line for line in f if line.strip() not in given]
            if sum(len(line.split()) for line in own) < 20:
                continue  # nothing of their own to compare
            path = os.path.join(folder, "s%04d.c" % i)
            with open(path, "w") as f:
                f.writelines(own)
            files[path] = student
        if len(files) < 2:
            continue
        p = subprocess.run(["sim_c", "-p", "-e", "-s", "-t", str(THRESHOLD),
                            "-r", str(MIN_TOKENS_RUN)] + sorted(files),
                           capture_output=True, text=True, errors="replace", timeout=600)
        seen = {}
        for line in p.stdout.splitlines():
            m = LINE.match(line.strip())
            if m and m.group(1) in files and m.group(3) in files:
                a, b = sorted((files[m.group(1)], files[m.group(3)]))
                seen[(a, b)] = max(seen.get((a, b), 0), int(m.group(2)))
        pairs += [(lab, a, b, pct) for (a, b), pct in seen.items()]
    pairs.sort(key=lambda x: (-x[3], x[0], x[1], x[2]))
    return {"available": True, "pairs": pairs}
