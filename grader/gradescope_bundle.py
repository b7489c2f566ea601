#!/usr/bin/env python3
"""Build the Gradescope autograder zip (make gradescope).

    gradescope_bundle.py OUT.zip [--labs 01,05]

The zip holds, at its root, setup.sh and run_autograder (gradescope/), and the student release's
files with every test kept, hidden ones included (graders alone see an autograder's source):
the grader, the lab tests, the calibration figures, no solution. Gradescope unpacks it in
/autograder/source, runs setup.sh once (packages, then make tools), and run_autograder for each
submission (grader/autograder.py). ASSIGNMENT lists the labs this assignment grades."""
import argparse
import os
import tempfile
import zipfile

import release

ROOT = release.ROOT


def main():
    p = argparse.ArgumentParser(description="Build the Gradescope autograder zip.")
    p.add_argument("out", help="the zip to write")
    p.add_argument("--labs", help="the assignment's labs (01,05; default: all)")
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="the built grader")
    args = p.parse_args()
    labs, _ = release.parse_labs(args.labs, "")
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "source")
        release.build_tree(tree, labs, {}, os.path.abspath(args.build), keep_hidden=True)
        with open(os.path.join(tree, "ASSIGNMENT"), "w") as f:
            f.write("\n".join(labs) + "\n")
        extra = {"setup.sh": os.path.join(ROOT, "gradescope", "setup.sh"),
                 "run_autograder": os.path.join(ROOT, "gradescope", "run_autograder"),
                 "grader/autograder.py": os.path.join(ROOT, "grader", "autograder.py")}
        work = args.out + ".tmp"
        with zipfile.ZipFile(work, "w", zipfile.ZIP_DEFLATED) as z:
            for base, dirs, files in sorted(os.walk(tree)):
                dirs.sort()
                for name in sorted(files):
                    path = os.path.join(base, name)
                    z.write(path, os.path.relpath(path, tree))
            for arcname, path in extra.items():
                z.write(path, arcname)  # keeps the mode: setup.sh and run_autograder run
        os.replace(work, args.out)
    print("gradescope: %s (labs %s): upload it as the assignment's autograder"
          % (args.out, ", ".join(labs)))


if __name__ == "__main__":
    main()
