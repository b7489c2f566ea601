"""The gradebook: a CSV file of scores, one row per submission."""
import csv
import io


from safe_files import read_own_file, write_atomic
from safe_text import printable

def write_csv(path, submission, results):
    """One row for this submission, under a header; rows of other submissions are kept (from
    path if it is a regular file of its own, not a symlink). The submission's name (chosen by
    whoever submitted) through printable(). Written with write_atomic()."""
    header = ["submission", "total", "max"] + [printable("%s:%s" % (r["lab"], t["name"]))
                                               for r in results for t in r["tests"]]
    submission = printable(submission)
    row = [submission, str(sum(t["score"] for r in results for t in r["tests"])),
           str(sum(t["points"] for r in results for t in r["tests"]))] + \
        [str(t["score"]) for r in results for t in r["tests"]]
    rows = []
    text = read_own_file(path)
    if text is not None:
        old = list(csv.reader(io.StringIO(text, newline="")))
        if old and old[0] == header:
            rows = [r for r in old[1:] if r and r[0] != submission]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows + [row])
    write_atomic(path, buffer.getvalue().encode("utf-8", errors="surrogateescape"))
