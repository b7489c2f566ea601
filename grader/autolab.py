"""Autolab's line: the last line of the autograder's output is JSON, {"scores": {...}}, one
score per problem; here a problem is a lab (name its problems after the labs:
01-two-children, ...). Autolab reads only that line, so it is printed last (AUTOLAB=1)."""
import json


def autolab_line(results):
    return json.dumps({"scores": {r["lab"]: sum(t["score"] for t in r["tests"])
                                  for r in results}}, sort_keys=True)
