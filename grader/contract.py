"""A lab's contract as numbered clauses (grader/LAB/contract.json), each naming the tests that
fail when it is broken, and the buggy variants (tests/buggy/LAB/*.variant, header line
"breaks: C3 C4") that prove it.

    {"clauses": [{"id": "C1", "group": "The parent", "title": "short, for the table",
                  "text": "Markdown: the clause as the student reads it",
                  "tests": ["rubric test", ...]},
                 {..., "tests": [...], "no_variant": "why no variant can break only this"},
                 {..., "not_graded": "why it cannot be checked from outside"}]}

The handout shows the clauses between <!-- contract:begin --> and <!-- contract:end --> and the
clause-to-test table between <!-- clauses:begin --> and <!-- clauses:end --> (handout.py writes
both); problems() is what make test enforces.
"""
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(lab):
    """The lab's clauses, or None when it has no contract.json yet."""
    path = os.path.join(ROOT, "grader", lab, "contract.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["clauses"]


def anchor(clause):
    return clause["id"].lower()


def clauses_block(clauses):
    """The numbered clauses, grouped under their headings, for the handout's contract."""
    out, group = [], None
    for c in clauses:
        if c.get("group") != group:
            group = c.get("group")
            if group:
                out += ["", "**%s**" % group, ""]
        text = c["text"].strip().replace("\n", "\n  ")
        if "not_graded" in c:
            text += " *(Not graded: %s)*" % c["not_graded"].strip()
        out.append('- <a id="%s"></a>**%s.** %s' % (anchor(c), c["id"], text))
    return "\n".join(out).strip("\n")


def table(clauses):
    """Clause to tests, for the handout's rubric section."""
    rows = ["| clause | what | tests that check it |", "|---|---|---|"]
    for c in clauses:
        tests = ", ".join("`%s`" % t for t in c.get("tests", [])) or \
            "not graded (%s)" % c.get("not_graded", "").strip()
        rows.append("| [%s](#%s) | %s | %s |" % (c["id"], anchor(c), c["title"].replace("|", "\\|"),
                                                 tests.replace("|", "\\|")))
    return "\n".join(rows)


def problems(lab, rubric, variants):
    """What breaks the rule "every clause has a test that fails when it is broken".
    variants: [(name, set of tests it fails, set of clauses it breaks or None)]."""
    clauses = load(lab)
    if clauses is None:
        return ["no grader/%s/contract.json: the contract as numbered clauses" % lab]
    found = []
    tests = {t["name"] for t in rubric["tests"]}
    ids = [c.get("id") for c in clauses]
    expected = ["C%d" % i for i in range(1, len(clauses) + 1)]
    if ids != expected:
        found.append("clauses must be numbered C1..C%d in order, found %s" % (len(ids), ids))
    named = set()
    for c in clauses:
        where = "clause %s" % c.get("id")
        for field in ("title", "text"):
            if not str(c.get(field, "")).strip():
                found.append("%s has no %s" % (where, field))
        if not c.get("tests") and not c.get("not_graded"):
            found.append("%s has no test that checks it (and no not_graded reason)" % where)
        unknown = [t for t in c.get("tests", []) if t not in tests]
        if unknown:
            found.append("%s names tests that are not in the rubric: %s" % (where, ", ".join(unknown)))
        named |= set(c.get("tests", []))
    untested = sorted(tests - named)
    if untested:
        found.append("rubric tests no clause names: %s" % ", ".join(untested))
    proven = {}
    for name, fails, breaks in variants:
        if breaks is None:
            found.append("variant %s has no 'breaks:' line naming the clauses it breaks" % name)
            continue
        for cid in breaks:
            clause = next((c for c in clauses if c.get("id") == cid), None)
            if clause is None:
                found.append("variant %s breaks %s, which is not a clause" % (name, cid))
            elif clause.get("tests") and not fails & set(clause["tests"]):
                found.append("variant %s breaks %s but fails none of its tests (%s): breaking the "
                             "clause loses no points" % (name, cid, ", ".join(clause["tests"])))
            else:
                proven.setdefault(cid, []).append(name)
    for c in clauses:
        if c.get("tests") and not c.get("no_variant") and c.get("id") not in proven:
            found.append("clause %s (%s) has no buggy variant that breaks it (a 'breaks: %s' "
                         "line in tests/buggy/%s/, or a no_variant reason)"
                         % (c.get("id"), c.get("title"), c.get("id"), lab))
    return found


def header_field(text, name):
    """The words of a variant file's header line "NAME: a b c" (tests/variants.py), or None."""
    m = re.search(r"^\s*(?:/\*|\*|//)?\s*%s:([^\n*]*)" % name, text[:text.find("//@@")], re.M)
    return set(m.group(1).split()) if m else None
