#!/usr/bin/env python3
"""Make a class of mixed submissions to try make grade-class on, as an instructor would find one.

    python3 tests/class_fixture.py CLASS [-n 40]

CLASS (new) gets N entries (default 40), named student01...: copies of the reference solutions
(as folders, zips, tar.gz and whole clones), correct variants written differently (tests/correct),
buggy variants (tests/buggy), and the ways a submission goes wrong: a lab that does not compile,
one that hangs (alternately), a lab missing, lab folders named lab01/..., an archive that climbs out with ../,
a stray file. Each entry's kind is listed in CLASS-manifest.txt (outside CLASS), for checking
the gradebook against it."""
import argparse
import io
import os
import sys
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import grade  # noqa: E402
import variants  # noqa: E402


def labs_of_reference():
    return {lab: variants.solution_files(lab) for lab in grade.find_labs(None)}


def write_tree(folder, labs, rename=None):
    for lab, files in labs.items():
        target = os.path.join(folder, rename(lab) if rename else lab)
        os.makedirs(target, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(target, name), "w") as f:
                f.write(text)


def as_zip(path, labs, prefix=""):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for lab, files in labs.items():
            for name, text in files.items():
                z.writestr(prefix + lab + "/" + name, text)


def as_tar(path, labs, prefix=""):
    with tarfile.open(path, "w:gz") as t:
        for lab, files in labs.items():
            for name, text in files.items():
                data = text.encode()
                info = tarfile.TarInfo(prefix + lab + "/" + name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("class_dir")
    p.add_argument("-n", type=int, default=40)
    args = p.parse_args()
    out = os.path.abspath(args.class_dir)
    if os.path.exists(out):
        p.error("%s exists" % out)
    os.makedirs(out)
    reference = labs_of_reference()
    program = {lab: next(iter(grade.programs_of(grade.load_rubric(lab)))) for lab in reference}
    buggy = [(lab, name, files) for lab in reference
             for name, files, _, _, _ in variants.variants(lab, program[lab])]
    correct = [(lab, name, files) for lab in reference
               for name, files, _, _, _ in variants.variants(lab, program[lab], "correct")]
    manifest = []
    for i in range(args.n):
        student = "student%02d" % (i + 1)
        kind = i % 10
        labs = {lab: dict(files) for lab, files in reference.items()}
        if kind == 0:
            write_tree(os.path.join(out, student), labs)
            what = "reference, folder"
        elif kind == 1:
            as_zip(os.path.join(out, student + ".zip"), labs, "labs/")
            what = "reference, zip of labs/"
        elif kind == 2:
            as_tar(os.path.join(out, student + ".tar.gz"), labs, student + "-clone/labs/")
            what = "reference, tar.gz of a whole clone"
        elif kind == 3:
            lab, name, files = correct[i % len(correct)]
            labs[lab] = files
            write_tree(os.path.join(out, student), labs)
            what = "correct variant %s/%s" % (lab, name)
        elif kind in (4, 5):
            lab, name, files = buggy[(i * 7) % len(buggy)]
            labs[lab] = files
            write_tree(os.path.join(out, student), labs)
            what = "buggy variant %s/%s" % (lab, name)
        elif kind == 6:
            lab = "01-two-children"
            hang = (i // 10) % 2 == 1
            old, new = (("\t\tif (msg.mtype == MSG_END)", "\t\tif (0)") if hang else
                        ("int msqid = -1;", "int msqid = -1"))
            labs[lab] = dict(labs[lab], **{"msgpair.c": labs[lab]["msgpair.c"].replace(
                old, new, 1)})
            write_tree(os.path.join(out, student), labs)
            what = "lab 01 hangs (its receiver never stops)" if hang else "lab 01 does not compile"
        elif kind == 7:
            del labs["04-msgctl"]
            as_zip(os.path.join(out, student + ".zip"), labs)
            what = "lab 04 missing"
        elif kind == 8:
            write_tree(os.path.join(out, student), labs,
                       rename=lambda lab: "lab" + lab[:2])
            what = "folders named lab01..lab06"
        else:
            with zipfile.ZipFile(os.path.join(out, student + ".zip"), "w") as z:
                z.writestr("../../escaped-%s.txt" % student, "outside\n")
            what = "hostile archive (../)"
        manifest.append("%s: %s" % (student, what))
    with open(os.path.join(out, "notes.txt"), "w") as f:
        f.write("not a submission\n")
    manifest.append("notes.txt: a stray file")
    with open(out.rstrip("/") + "-manifest.txt", "w") as f:
        f.write("\n".join(manifest) + "\n")
    print("class: %s (%d entries; manifest %s-manifest.txt)" % (out, len(manifest), out))


if __name__ == "__main__":
    main()
