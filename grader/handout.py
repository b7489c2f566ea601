#!/usr/bin/env python3
"""Keep the handouts honest.

  handout.py --write   regenerate each handout's rubric table from grader/LAB/rubric.json, and
                       its contract clauses and clause-to-test table from grader/LAB/contract.json
  handout.py --check   fail if a generated block is stale, a ```c block does not compile, a
                       kernel claim cites a test that does not exist, or the contract has a
                       clause no test checks or no buggy variant proves (contract.py) (make test);
                       handouts/ipc-bench.md (no lab's) for its snippets and kernel claims

Conventions in handouts/NN-name.md:
  - the rubric table sits between <!-- rubric:begin --> and <!-- rubric:end -->, the contract's
    clauses between <!-- contract:begin --> and <!-- contract:end -->, the clause-to-test table
    between <!-- clauses:begin --> and <!-- clauses:end -->;
  - every ```c block is a whole translation unit (its own #includes) and compiles with
    cc -std=c11 -Wall -Wextra -Werror -c;
  - in the section whose heading starts with "Kernel behaviour", every table row cites the
    test that checks it on the kernel as `facts/NAME` or `model/NAME` (tests/kernel/*.c).
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import contract

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OTHER_PAGES = ("ipc-bench.md",)  # the site's pages that belong to no lab


def load_rubric(lab):
    with open(os.path.join(ROOT, "grader", lab, "rubric.json")) as f:
        return json.load(f)


def rubric_table(lab):
    rubric = load_rubric(lab)
    rows = ["| test | points | what it checks |", "|---|---:|---|"]
    for t in rubric["tests"]:
        title = t["title"]
        if t.get("depends_on"):
            title += " (not checked while %s fails)" % " or ".join("`%s`" % d for d in t["depends_on"])
        rows.append("| `%s` | %d | %s |" % (t["name"], t["points"], title.replace("|", "\\|")))
    rows.append("| **total** | **%d** | |" % sum(t["points"] for t in rubric["tests"]))
    return "\n".join(rows)


def blocks(lab):
    """{marker name: generated text} of the lab's handout."""
    found = {"rubric": rubric_table(lab)}
    clauses = contract.load(lab)
    if clauses is not None:
        found["contract"] = contract.clauses_block(clauses)
        found["clauses"] = contract.table(clauses)
    return found


def with_table(text, lab):
    for name, body in blocks(lab).items():
        begin, end = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
        start, stop = text.find(begin), text.find(end)
        if start < 0 or stop < start:
            raise ValueError("no %s ... %s markers" % (begin, end))
        text = text[:start + len(begin)] + "\n" + body + "\n" + text[stop:]
    return text


def contract_problems(lab):
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import variants
    found = []
    folder = os.path.join(ROOT, "tests", "buggy", lab)
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith(".variant"):
            with open(os.path.join(folder, name)) as f:
                text = f.read()
            found.append((name[:-len(".variant")],
                          variants.header_field(text, "fails") or set(),
                          variants.header_field(text, "breaks")))
    return contract.problems(lab, load_rubric(lab), found)


def c_blocks(text):
    return re.findall(r"^```c\n(.*?)^```", text, re.S | re.M)


def compile_errors(block):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "snippet.c")
        with open(src, "w") as f:
            f.write(block)
        proc = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-c", "-o",
                               os.path.join(tmp, "snippet.o"), src],
                              capture_output=True, text=True)
        return proc.stderr if proc.returncode else None


def kernel_tests():
    names = set()
    for path in glob.glob(os.path.join(ROOT, "tests", "kernel", "*.c")):
        with open(path) as f:
            names |= {"%s/%s" % m for m in re.findall(r"^Test\((\w+),\s*(\w+)", f.read(), re.M)}
    return names


def kernel_rows(text):
    """Table rows of the 'Kernel behaviour' section."""
    m = re.search(r"^#+ Kernel behaviour.*?$(.*?)(?=^#+ |\Z)", text, re.S | re.M)
    if not m:
        return None
    return [line for line in m.group(1).splitlines()
            if line.startswith("|") and not re.match(r"^\|[-:| ]+\|$", line)][1:]


def check(path, lab, known_tests):
    """A lab's handout (lab), or a page of the site of no lab (ipc-bench.md: lab None): its
    snippets and kernel claims alike; a lab's also its generated blocks and its contract."""
    problems = []
    with open(path) as f:
        text = f.read()
    if lab:
        try:
            if with_table(text, lab) != text:
                problems.append("a generated table or the contract's clauses are stale: run "
                                "make handouts")
        except ValueError as e:
            problems.append(str(e))
    for i, block in enumerate(c_blocks(text), 1):
        errors = compile_errors(block)
        if errors:
            problems.append("C block %d does not compile:\n%s" % (i, errors))
    if lab:
        problems += contract_problems(lab)
    rows = kernel_rows(text)
    if rows is None:
        problems.append("no 'Kernel behaviour' section")
    for row in rows or []:
        cited = re.findall(r"`((?:facts|model)/\w+)`", row)
        if not cited:
            problems.append("kernel claim without a test: %s" % row)
        for name in cited:
            if name not in known_tests:
                problems.append("cites %s, which is not a test in tests/kernel" % name)
    return problems


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    args = p.parse_args()
    labs = sorted(d for d in os.listdir(os.path.join(ROOT, "grader"))
                  if os.path.isfile(os.path.join(ROOT, "grader", d, "rubric.json")))
    known = kernel_tests()
    failed = False
    for lab in labs:
        path = os.path.join(ROOT, "handouts", lab + ".md")
        if not os.path.exists(path):
            print("handout: handouts/%s.md is missing" % lab, file=sys.stderr)
            failed = True
            continue
        if args.write:
            with open(path) as f:
                text = f.read()
            new = with_table(text, lab)
            if new != text:
                with open(path, "w") as f:
                    f.write(new)
                print("handout: updated the generated blocks of handouts/%s.md" % lab)
            continue
        for problem in check(path, lab, known):
            print("handout: handouts/%s.md: %s" % (lab, problem), file=sys.stderr)
            failed = True
    for name in [] if args.write else OTHER_PAGES:
        for problem in check(os.path.join(ROOT, "handouts", name), None, known):
            print("handout: handouts/%s: %s" % (name, problem), file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
