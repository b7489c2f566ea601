"""The gradebook: a CSV file with one row per student.

Columns: student, one per lab (its score), total, max (of every lab), seed, grader_version,
graded_at, note (why a student could not be graded: an archive refused, a grader error). Grading a student again replaces the cells of the labs graded this time and keeps the
others; every other student's row is kept. The file is rewritten atomically, under a lock, so
that gradings at once (a class graded in parallel) never lose a row. Names are the student's
(or their folder's): shown through printable(), and a leading = + - @ (which a spreadsheet would
run as a formula) gets a ' before it."""
import csv
import fcntl
import io
import os
import time

from safe_files import read_own_file, write_atomic
from safe_text import printable

FIXED = ["student"]
TRAILER = ["total", "max", "seed", "grader_version", "graded_at", "note"]


def cell(text):
    text = printable(str(text))
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def read(path):
    """[{column: value}] of the gradebook at path (a regular file of its own), or []."""
    text = read_own_file(path)
    if not text:
        return []
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or rows[0][:1] != FIXED:
        raise ValueError("%s is not a gradebook of this grader (its first column is not "
                         "\"student\"): not overwritten" % path)
    return [dict(zip(rows[0], r)) for r in rows[1:] if r]


def merged_seed(old, seed, labs, every_lab):
    """The row's seed: this grading's, or, when it re-graded only some labs with another
    seed, both ("S1; 05-bank-server: S2")."""
    if not old or every_lab or old == seed:
        return seed
    return "%s; %s: %s" % (old, ",".join(labs), seed)


def update(path, student, results, seed, version, lab_max, note=""):
    """Put this grading of student into the gradebook at path. lab_max: {lab: its points}, for
    every lab of the course (the columns, in order). note: why no lab could be graded (then
    results is empty and the row still appears)."""
    student = cell(student)
    labs = sorted(lab_max)
    header = FIXED + labs + TRAILER
    # The lock file stays: removing it would let two gradings lock two different files.
    lock = os.open(path + ".lock", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(lock, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = read(path)
        row = next((r for r in rows if r.get("student") == student), None)
        if row is None:
            row = {"student": student}
            rows.append(row)
        graded = [r["lab"] for r in results]
        for r in results:
            row[r["lab"]] = str(sum(t["score"] for t in r["tests"]))
        if graded:
            row["seed"] = cell(merged_seed(row.get("seed", ""), str(seed), graded,
                                           set(graded) >= set(labs)))
        row["grader_version"] = cell(version)
        row["graded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        row["note"] = cell(note)
        for r in rows:
            r["total"] = str(sum(int(r[lab]) for lab in labs if r.get(lab, "").isdigit()))
            r["max"] = str(sum(lab_max.values()))
        extra = [c for r in rows for c in r if c not in header]  # columns of older graders
        header += sorted(set(extra))
        rows.sort(key=lambda r: r["student"])
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows([[r.get(c, "") for c in header] for r in rows])
        write_atomic(path, buffer.getvalue().encode("utf-8", errors="surrogateescape"))
