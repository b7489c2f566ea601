"""Gradescope's results.json."""
from safe_text import printable


def gradescope(results, elapsed):
    """Gradescope's results.json as a dict; all its text through printable()."""
    tests = []
    for r in results:
        for t in r["tests"]:
            lines = ["%s: %s" % (t["status"], t["title"])] + t["messages"]
            if r["build_error"]:
                lines.append(r["build_error"])
            if t["diff"]:
                lines.append(t["diff"])
            if t["status"] != "PASS" and t["hint"]:
                lines.append("hint: " + t["hint"])
            tests.append({"name": printable("%s: %s" % (r["lab"], t["name"])),
                          "score": t["score"], "max_score": t["points"],
                          "status": "passed" if t["status"] == "PASS" else "failed",
                          "output": printable("\n".join(lines))})
    return {"score": sum(t["score"] for t in tests),
            "max_score": sum(t["max_score"] for t in tests),
            "execution_time": round(elapsed, 3), "tests": tests}
