"""Gradescope's results.json, as its autograder specification describes it
(https://gradescope-autograders.readthedocs.io/en/latest/specs/).

Per test: name, number (labs and tests in order), score, max_score, status (passed or failed;
none for a test that cannot run here, which counts 0 of 0), output, visibility (the rubric's:
visible, hidden or after_due_date). At the top: score, execution_time (whole seconds), output
(the totals per lab, compiler errors once per lab, the seed), visibility, stdout_visibility
(hidden: run_autograder's own output is for the instructor) and extra_data. Every text through
printable()."""
from safe_text import printable

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def test_output(r, t):
    """What a student reads under one test."""
    if r.get("missing"):
        return "%s: not graded: the lab's folder is missing (see the top)" % t["status"]
    if r["build_error"]:
        return "%s: the program did not compile (the compiler's messages are at the top)" % (
            t["status"])
    lines = ["%s: %s" % (t["status"], t["title"])] + t["messages"]
    if t["status"] in ("PASS", "SKIP", "BLOCKED"):
        return "\n".join(lines)
    if t["diff"]:
        lines.append(t["diff"])
    if t["hint"]:
        lines.append("hint: " + t["hint"])
    return "\n".join(lines)


def overall_output(results, seed, pending=(), provisional=None):
    lines = []
    for r in results:
        total = sum(t["score"] for t in r["tests"])
        possible = sum(t["points"] for t in r["tests"])
        state = " (not started)" if r.get("not_started") else ""
        if r["build_error"]:
            state = ": DOES NOT COMPILE, every test of this lab scores 0"
        if r.get("missing"):
            state = ": MISSING, every test of this lab scores 0"
        lines.append("%s: %d/%d%s" % (r["lab"], total, possible, state))
        if r["build_error"]:
            lines += ["    " + line for line in r["build_error"].splitlines()[:30]]
    for lab in pending:
        ended = len((provisional or {}).get(lab, []))
        lines.append("%s: not graded yet (the grading stopped %s)" % (
            lab, "after %d of its tests: their results below are provisional" % ended
            if ended else "before this lab"))
    if seed:
        lines.append("Randomised cases used seed %s." % seed)
    return "\n".join(lines)


def gradescope(results, elapsed, seed=None, version=None, pending=(), provisional=None):
    """Gradescope's results.json as a dict. pending: labs not graded (yet), named in the output
    so that a platform's time limit shows for what it is; provisional: {lab: [{name, status,
    points}]} of the tests that had ended in a lab being graded."""
    tests = []
    for i, r in enumerate(results, 1):
        for j, t in enumerate(r["tests"], 1):
            test = {"name": printable("%s: %s" % (r["lab"], t["name"])),
                    "number": "%d.%d" % (i, j),
                    "score": t["score"], "max_score": t["points"],
                    "output": printable(test_output(r, t)),
                    "visibility": t.get("visibility", "visible")}
            if t["status"] != "SKIP":  # a test that cannot run here: 0 of 0, neither way
                test["status"] = "passed" if t["status"] == "PASS" else "failed"
            tests.append(test)
    for lab in pending:
        for t in (provisional or {}).get(lab, []):
            passed = t["status"] == "PASS"
            test = {"name": printable("%s: %s" % (lab, t["name"])), "score":
                    t["points"] if passed else 0, "max_score": t["points"],
                    "output": printable("%s (provisional: the lab was still being graded)"
                                        % t["status"]), "visibility": t["visibility"]}
            if t["status"] != "SKIP":
                test["status"] = "passed" if passed else "failed"
            tests.append(test)
    extra = {"seed": seed, "grader_version": version,
             "labs": {r["lab"]: {"score": sum(t["score"] for t in r["tests"]),
                                 "max_score": sum(t["points"] for t in r["tests"])}
                      for r in results}}
    return {"score": sum(t["score"] for t in tests),
            "execution_time": int(round(elapsed)),
            "output": printable(overall_output(results, seed, pending, provisional)),
            "output_format": "text",
            "test_output_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "extra_data": extra,
            "tests": tests}
