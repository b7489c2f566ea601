"""Where a submission's labs are, and what a student named wrongly.

A submission is a folder laid out like labs/ (01-two-children/, 02-typed-selection/, ...), or a
whole clone of this repository (then its labs/ is graded). A lab folder named nearly right
(lab01/, 01/, Lab1, two-children/, 01_two_children) is not graded, but named: "found lab01/,
expected 01-two-children/"."""
import os
import re


def labs_root(folder, labs):
    """The folder whose lab folders are graded: folder itself, or its labs/ when folder holds
    none of the labs and has a labs/ folder (a whole clone)."""
    inner = os.path.join(folder, "labs")
    if not any(os.path.isdir(os.path.join(folder, lab)) for lab in labs) and \
            os.path.isdir(inner) and not os.path.islink(inner):
        return inner
    return folder


def _key(name):
    """A folder name reduced to what a near miss keeps: its lab number, or its words."""
    words = re.sub(r"[^a-z0-9]+", " ", name.lower()).split()
    if words and words[0] == "lab":
        words = words[1:]
    if words and re.fullmatch(r"lab\d+", words[0]):
        words = [words[0][3:]] + words[1:]
    return words


def near_misses(folder, lab):
    """Folder names in folder that look like lab (its number, its name, another spelling) but
    are not exactly it."""
    number, _, name = lab.partition("-")
    try:
        entries = sorted(e for e in os.listdir(folder) if e != lab)
    except OSError:
        return []
    found = []
    for entry in entries:
        if not os.path.isdir(os.path.join(folder, entry)):
            continue
        words = _key(entry)
        if not words:
            continue
        same_number = words[0].isdigit() and int(words[0]) == int(number)
        same_name = " ".join(w for w in words if not w.isdigit()) == name.replace("-", " ")
        if same_number or same_name:
            found.append(entry)
    return found


def missing_message(folder, lab):
    """Why lab is not graded, for the student: the near misses found, or that it is absent."""
    found = near_misses(folder, lab)
    if found:
        return "no folder %s/: found %s, expected %s/ (rename it: the grader looks for the exact " \
            "name)" % (lab, ", ".join(f + "/" for f in found), lab)
    return "no folder %s/: this lab is missing from the submission (a submission holds one " \
        "folder per lab, named like labs/)" % lab
