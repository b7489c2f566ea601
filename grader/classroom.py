"""GitHub Classroom's autograding: the result one runner step hands to
classroom-resources/autograding-grading-reporter (its src/main.js reads the environment variable
RUNNER_RESULTS, base64 of this JSON; src/notify-classroom.js adds up the tests' scores against
max_score and writes "Points S/M" on the check run that Classroom reads).

One test per rubric test: name "LAB: test", status pass/fail/error, score, message."""
import base64
import json

from safe_text import printable


def classroom_result(results):
    tests = []
    for r in results:
        for t in r["tests"]:
            if t["status"] == "SKIP":
                continue
            status = {"PASS": "pass", "ERROR": "error"}.get(t["status"], "fail")
            message = "; ".join(t["messages"][:2]) if status != "pass" else ""
            tests.append({"name": printable("%s: %s" % (r["lab"], t["name"])),
                          "status": status, "score": t["score"], "max_score": t["points"],
                          "message": printable(message[:1000]), "line_no": 0,
                          "execution_time": "0s"})
    status = "pass" if all(t["status"] == "pass" for t in tests) else \
        "error" if any(t["status"] == "error" for t in tests) else "fail"
    return {"version": 1, "status": status, "max_score": sum(t["max_score"] for t in tests),
            "tests": tests}


def encoded(results):
    """The runner's output value: base64 of the JSON, one line."""
    return base64.b64encode(json.dumps(classroom_result(results)).encode()).decode()
