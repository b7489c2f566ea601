"""JUnit XML (JUNIT=file), the format CI systems read (Jenkins, GitLab, GitHub actions that
publish test results): one testsuite per lab, one testcase per test.

PASS is a plain testcase; FAIL, BLOCKED, TIMEOUT and CRASH a <failure> (type = the status,
message = the first message, text = every message, the diff and the hint); a grader error an
<error>; a test that cannot run here <skipped>. Each testcase carries its points and score as
properties. All text through printable() (XML 1.0 allows no control characters) and escaped by
ElementTree."""
import xml.etree.ElementTree as ET

from safe_text import printable


def junit_xml(results, elapsed):
    suites = ET.Element("testsuites", name="msglab")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in results:
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.SubElement(suites, "testsuite", name=printable(r["lab"]))
        for t in r["tests"]:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=printable(r["lab"]),
                                 name=printable(t["name"]), time="0")
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="points", value=str(t["points"]))
            ET.SubElement(props, "property", name="score", value=str(t["score"]))
            if t["status"] == "PASS":
                continue
            first = t["messages"][0] if t["messages"] else t["status"]
            if t["status"] == "SKIP":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=printable(first))
                continue
            kind = "error" if t["status"] == "ERROR" else "failure"
            counts["errors" if kind == "error" else "failures"] += 1
            body = list(t["messages"])
            if r["build_error"]:
                body.append(r["build_error"])
            if t["diff"]:
                body.append(t["diff"])
            if t["hint"]:
                body.append("hint: " + t["hint"])
            node = ET.SubElement(case, kind, type=t["status"], message=printable(first[:300]))
            node.text = printable("\n".join(body))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    suites.set("time", "%.3f" % elapsed)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
