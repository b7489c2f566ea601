"""Buggy variants of the reference solutions, for testing the grader.

tests/buggy/LAB/NAME.variant describes a bug as edits to solutions/LAB/PROGRAM.c (without its
//@ markers and skeleton stand-ins, as a student would have finished it):

    /* What the bug is.
     * fails: test_a test_b */
    //@@ replace
    exact lines of the solution (must occur exactly once)
    //@@ with
    the buggy lines
    //@@ end

(more replace/with pairs may follow before //@@ end). A line "root only: test_c" names listed
tests that fail only when the grader runs as root (the bug needs a second user to show); a line
"may fail: test_d" names tests the same bug may or may not fail, run by run (output another
process inherited unflushed lands in the middle of a line, or not).
A line "file: NAME.c" in the header edits
that file of the solution instead of PROGRAM.c (for labs of several files). The variant's
submission is the whole solution folder with that one file changed. A variant must fail exactly
the tests it lists.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
from contract import header_field  # noqa: E402
from skeleton import without_markers  # noqa: E402


class VariantError(Exception):
    pass


def expected_failures(text, where):
    tests = header_field(text, "fails")
    if tests is None:
        raise VariantError("%s: no 'fails:' line" % where)
    return tests


def apply_edits(solution, text, where):
    body = text[text.find("//@@ replace"):]
    pairs = re.findall(r"^//@@ replace\n(.*?)^//@@ with\n(.*?)(?=^//@@ (?:replace|end))",
                       body, re.S | re.M)
    if not pairs or not body.rstrip().endswith("//@@ end"):
        raise VariantError("%s: expected //@@ replace ... //@@ with ... //@@ end" % where)
    for old, new in pairs:
        count = solution.count(old)
        if count != 1:
            raise VariantError("%s: the text to replace occurs %d times in the solution:\n%s"
                               % (where, count, old))
        solution = solution.replace(old, new)
    return solution


def solution_files(lab):
    """{file name: content} of the lab's solution, as a student would have finished it."""
    folder = os.path.join(ROOT, "solutions", lab)
    files = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            text = f.read()
        files[name] = without_markers(text) if name.endswith((".c", ".h")) else text
    return files


def variants(lab, program, folder="buggy"):
    """[(name, {file: content} of the buggy submission, set of tests it must fail, the subset
    that fails only as root, the tests it may fail as well)]. folder="correct": tests/correct,
    whose variants fail nothing."""
    folder = os.path.join(ROOT, "tests", folder, lab)
    if not os.path.isdir(folder):
        return []
    found = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not name.endswith(".variant"):
            continue
        with open(path) as f:
            text = f.read()
        where = os.path.relpath(path, ROOT)
        files = solution_files(lab)
        m = re.search(r"^\s*(?:/\*|\*|//)?\s*file:\s*(\S+)", text[:text.find("//@@")], re.M)
        target = m.group(1) if m else program + ".c"
        if target not in files:
            raise VariantError("%s: the solution has no %s" % (where, target))
        files[target] = apply_edits(files[target], text, where)
        found.append((os.path.splitext(name)[0], files, expected_failures(text, where),
                      header_field(text, "root only") or set(),
                      header_field(text, "may fail") or set()))
    return found
