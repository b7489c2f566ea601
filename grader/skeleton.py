#!/usr/bin/env python3
"""Generate the student skeletons in labs/ from the reference solutions in solutions/.

In a solution, the parts students write are marked:

    //@ student: what to do (becomes a TODO comment)
    ...reference code, dropped from the skeleton...
    //@ skeleton:
    //@ code that stands in for it, so the skeleton compiles
    //@ end

(`//@ skeleton:` is optional.) Other files are copied as they are.

  skeleton.py --check   exit 1 if labs/ is not what solutions/ generate (make test)
  skeleton.py --write   regenerate labs/; a file a student has edited is left alone
                        unless --force (labs/.generated records what was generated)
"""
import argparse
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOLUTIONS = os.path.join(ROOT, "solutions")


class MarkerError(Exception):
    pass


def strip_solution(text, where):
    out, mode = [], "code"
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        marker = line.strip()
        indent = line[:len(line) - len(line.lstrip())]
        if marker.startswith("//@ student:"):
            if mode != "code":
                raise MarkerError("%s:%d: student block inside another" % (where, number))
            out.append("%s/* TODO: %s */\n" % (indent, marker[len("//@ student:"):].strip()))
            mode = "solution"
        elif marker == "//@ skeleton:":
            if mode != "solution":
                raise MarkerError("%s:%d: skeleton: outside a student block" % (where, number))
            mode = "skeleton"
        elif marker == "//@ end":
            if mode == "code":
                raise MarkerError("%s:%d: end without a student block" % (where, number))
            mode = "code"
        elif mode == "skeleton":
            if not marker.startswith("//@ "):
                raise MarkerError("%s:%d: skeleton lines start with //@" % (where, number))
            out.append(indent + marker[len("//@ "):] + "\n")
        elif mode == "code":
            out.append(line)
    if mode != "code":
        raise MarkerError("%s: a student block is not closed with //@ end" % where)
    return "".join(out)


def without_markers(text):
    """The solution as a student would finish it: markers and skeleton stand-ins dropped."""
    out, in_skeleton = [], False
    for line in text.splitlines(keepends=True):
        marker = line.strip()
        if marker == "//@ skeleton:":
            in_skeleton = True
        elif marker == "//@ end":
            in_skeleton = False
        elif not in_skeleton and not marker.startswith("//@ student:"):
            out.append(line)
    return "".join(out)


def generated():
    """{path relative to labs/: content} for every file the solutions generate."""
    files = {}
    for lab in sorted(os.listdir(SOLUTIONS)):
        lab_dir = os.path.join(SOLUTIONS, lab)
        if not os.path.isdir(lab_dir):
            continue
        for name in sorted(os.listdir(lab_dir)):
            path = os.path.join(lab_dir, name)
            if not os.path.isfile(path):
                continue
            with open(path) as f:
                text = f.read()
            if name.endswith((".c", ".h")):
                text = strip_solution(text, os.path.relpath(path, ROOT))
            files[os.path.join(lab, name)] = text
    return files


def digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    p.add_argument("--force", action="store_true", help="overwrite edited files too")
    p.add_argument("--labs", default=os.path.join(ROOT, "labs"), help="where skeletons go")
    args = p.parse_args()
    labs_dir = args.labs
    record_path = os.path.join(labs_dir, ".generated")
    try:
        files = generated()
    except MarkerError as e:
        print("skeleton: %s" % e, file=sys.stderr)
        return 1
    record = {}
    if os.path.exists(record_path):
        with open(record_path) as f:
            record = json.load(f)
    stale = []
    for rel, text in files.items():
        path = os.path.join(labs_dir, rel)
        current = open(path).read() if os.path.exists(path) else None
        if current == text:
            continue
        if args.check:
            stale.append(rel)
            continue
        if current is not None and record.get(rel) != digest(current) and not args.force:
            print("skeleton: %s has been edited since it was generated; left alone "
                  "(make skeletons FORCE=1 overwrites it)" % path, file=sys.stderr)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        print("skeleton: wrote %s" % path)
    if args.check:
        if stale or record != {rel: digest(t) for rel, t in files.items()}:
            print("skeleton: labs/ is out of date with solutions/ (%s): run make skeletons"
                  % (", ".join(stale) or "labs/.generated"), file=sys.stderr)
            return 1
        return 0
    # Record what labs/ holds now where it matches generation, so later edits are recognised.
    new_record = {}
    for rel, text in files.items():
        path = os.path.join(labs_dir, rel)
        if os.path.exists(path) and open(path).read() == text:
            new_record[rel] = digest(text)
        elif rel in record:
            new_record[rel] = record[rel]
    os.makedirs(labs_dir, exist_ok=True)
    with open(record_path, "w") as f:
        json.dump(new_record, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
