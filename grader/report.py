"""The report a student reads in the terminal."""
import os
import shutil
import textwrap

from safe_text import indented, printable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Style:
    def __init__(self, enabled):
        self.enabled = enabled

    def __call__(self, text, code):
        return "\033[%sm%s\033[0m" % (code, text) if self.enabled else text


STATUS_COLOURS = {"PASS": "32", "FAIL": "31", "TIMEOUT": "33", "CRASH": "35", "SKIP": "36",
                  "BLOCKED": "90", "ERROR": "41;97"}


def relative(path):
    rel = os.path.relpath(path)
    return rel if not rel.startswith("../..") else path


def report_width(out):
    """The terminal's width, or 80 columns when the report does not go to a terminal."""
    if out.isatty():
        return max(60, shutil.get_terminal_size((80, 24)).columns)
    return 80


def wrapped(text, indent, width, first=""):
    """printable(text) as lines of at most width columns: the first starts with indent + first,
    the others with indent + as many spaces (so that no line of it can pass for one of the
    grader's own, which start at most 2 spaces in). Words longer than a line are cut."""
    lead = indent + first
    lines = []
    for paragraph in printable(text).split("\n"):
        own = paragraph[:len(paragraph) - len(paragraph.lstrip(" "))]  # kept: it nests lines
        lines += textwrap.wrap(paragraph.lstrip(" "), width=width, initial_indent=lead + own,
                               subsequent_indent=indent + " " * len(first) + own + own[:2],
                               break_on_hyphens=False) or [lead.rstrip()]
        lead = indent + " " * len(first)
    return "\n".join(lines)


def clipped(line, width):
    return line if len(line) <= width else line[:width - 3] + "..."


def print_report(results, args, style, out):
    """The report for the terminal. Every piece of text a submission may have influenced goes
    through printable(), and each of its lines is indented: nothing the program prints can move
    the cursor, change colours or make a line that starts like one of the grader's own. Lines
    fit the terminal (80 columns in a pipe)."""
    width = report_width(out)
    pad = " " * 11
    total = sum(t["score"] for r in results for t in r["tests"])
    possible = sum(t["points"] for r in results for t in r["tests"])
    for r in results:
        lab_total = sum(t["score"] for t in r["tests"])
        lab_possible = sum(t["points"] for t in r["tests"])
        heading = printable("%s: %s (%s)" % (r["lab"], r["title"], r["program"]))
        hidden = "" if not r.get("hidden_tests") else " (+%d hidden)" % r["hidden_tests"]
        if r.get("not_started"):
            print(style(clipped("%s  not started: %d/%d%s" % (heading, lab_total, lab_possible,
                                                                hidden), width), "1"), file=out)
            continue
        print(style(clipped(heading, width), "1"), file=out)
        if r.get("missing"):
            print(wrapped(r["missing"], "  ", width, "MISSING: "), file=out)
            print("  %s %d/%d: every test of this lab scores 0\n"
                  % (style("subtotal", "1"), lab_total, lab_possible), file=out)
            continue
        elif r["build_error"]:
            print("  " + style("DOES NOT COMPILE", "31") + ": every test of this lab scores 0.",
                  file=out)
            for line in printable(r["build_error"]).splitlines()[:30]:
                print(clipped("    " + line, width), file=out)
        elif r["warnings"]:
            print("  compiler warnings (no points lost, but read them):", file=out)
            for line in printable(r["warnings"]).splitlines()[1:16]:
                print(clipped("    " + line, width), file=out)
        roots = {}
        for t in r["tests"]:
            if t["status"] == "BLOCKED" and t["blocked_by"]:
                roots.setdefault(t["blocked_by"], []).append(t["name"])
        for cause, names in sorted(roots.items()):
            print(wrapped("fix %s first: %d test%s below depend%s on it and %s not checked"
                          % (cause, len(names), "" if len(names) == 1 else "s",
                             "s" if len(names) == 1 else "", "is" if len(names) == 1 else "are"),
                          "  ", width), file=out)
        name_width = max(len(printable(t["name"])) for t in r["tests"])
        for t in r["tests"]:
            status = style("%-7s" % t["status"], STATUS_COLOURS[t["status"]])
            line = "  %s %2d/%-2d  %-*s  %s" % ("%-7s" % t["status"], t["score"], t["points"],
                                                name_width, printable(t["name"]),
                                                printable(t["title"]))
            print("  " + status + clipped(line, width)[9:], file=out)
            if t["status"] == "PASS" or r["build_error"]:
                continue
            if t["status"] == "SKIP":
                print(wrapped(t["messages"][0], pad, width, "skipped: "), file=out)
                continue
            for m in t["messages"][:3]:
                print(wrapped(m, pad, width), file=out)
            if t["status"] == "BLOCKED":
                continue
            if t["diff"]:
                for line in printable(t["diff"]).splitlines():
                    colour = "32" if line.startswith("+") else "31" if line.startswith("-") else "0"
                    print("             " + style(clipped(line, width - 13), colour), file=out)
            if t["hint"]:
                print(wrapped(t["hint"], pad, width, "hint: "), file=out)
            lab_dir = os.path.join(args.submission, r["lab"])
            if t["command"]:
                command = t["command"]
                shown = "cd %s && make && %s" % (relative(lab_dir), command)
                if len(shown) + len(pad) + 6 > width:
                    command = "sh " + os.path.relpath(t["command_file"], lab_dir)
                    shown = "cd %s && make && %s" % (relative(lab_dir), command)
                if len(pad) + 6 + len(shown) > width:  # continued lines, still one command
                    shown = shown.replace(" && ", " && \\\n" + " " * 6, shown.count(" && "))
                print(pad + "try:  " + indented(shown, pad), file=out)
            rerun = "make grade LAB=%s TEST=%s%s" % (
                r["lab"][:2], t["name"],
                "" if os.path.abspath(args.submission) == os.path.join(ROOT, "labs")
                else " SUBMISSION=" + relative(args.submission))
            print(pad + "rerun: " + indented(rerun, pad), file=out)
            print(pad + "transcript: " + indented(relative(t["transcript"]) + "/", pad), file=out)
            if t.get("diagram"):
                print(pad + "diagram: " + indented(relative(t["diagram"]), pad), file=out)
                if t.get("diagram_beside"):
                    print(pad + "         (yours beside the reference solution's)", file=out)
        if r.get("hidden_tests"):
            print(wrapped("+ %d hidden test%s (%d point%s), not here: your instructor's grading "
                          "runs %s" % (r["hidden_tests"], "" if r["hidden_tests"] == 1 else "s",
                                       r["hidden_points"], "" if r["hidden_points"] == 1 else "s",
                                       "it" if r["hidden_tests"] == 1 else "them"), "  ", width),
                  file=out)
        print("  %s %d/%d\n" % (style("subtotal", "1"), lab_total, lab_possible), file=out)
    print(printable("Randomised cases used seed %s (replay: make grade SEED=%s)."
                    % (args.seed, args.seed)), file=out)
    hidden = sum(r.get("hidden_tests", 0) for r in results)
    verdict = "full marks" if total == possible else "%d point%s to find" % (
        possible - total, "" if possible - total == 1 else "s")
    if hidden and total == possible:  # never "full marks" while tests exist that did not run
        points = sum(r.get("hidden_points", 0) for r in results)
        verdict = "every test here passes; %d hidden test%s (%d point%s) not run here" % (
            hidden, "" if hidden == 1 else "s", points, "" if points == 1 else "s")
    print(style("Total: %d/%d (%s)" % (total, possible, verdict), "1"), file=out)
    return total, possible
