#!/usr/bin/env python3
"""Grade a submission: build each lab, run its Criterion tests in the sandbox, report.

Run through make:  make grade [LAB=01] [SUBMISSION=dir] [TEST=name] [RESULTS=file.json] [SEED=n]

A submission is a folder laid out like labs/: one folder per lab (01-two-children/...) holding
the lab's C files. The exit status is 0 only on full marks (2 on a grader error).
"""
import argparse
import csv
import concurrent.futures
import difflib
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDENT_CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-O1", "-g"]
LAB_TIMEOUT_S = 600  # the whole Criterion run of one lab; each test has its own, much shorter


class GraderError(Exception):
    """Something wrong with the grader or its set-up, never the student's fault."""


class Session:
    """A grading session: a temporary folder the sandboxed program can reach (it runs as
    another user, so every directory up to it must be 0755) and the environment the Criterion
    tests read (see grader/lib/harness.h). Also finds out once whether namespaces work here."""

    def __init__(self, build):
        self.build = build

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="msglab-", dir=os.environ.get("MSGLAB_TMPDIR", "/tmp"))
        os.chmod(self.tmp, 0o755)
        shutil.copy(os.path.join(self.build, "lib", "libmsgtrace.so"), self.tmp)
        run = os.path.join(self.build, "bin", "msglab-run")
        self.env = dict(os.environ, MSGLAB_BUILD=self.build, MSGLAB_RUN=run,
                        MSGLAB_TRACELIB=os.path.join(self.tmp, "libmsgtrace.so"),
                        MSGLAB_TMP=self.tmp)
        probe = subprocess.run([run, "-t", "5000", "--", "true"], capture_output=True, text=True,
                               cwd=self.tmp, env=self.env)
        report = dict(line.split(" ", 1) for line in probe.stderr.splitlines() if " " in line)
        if "mode" not in report:
            raise GraderError("the sandbox does not work here:\n%s" % probe.stderr.strip())
        self.env["MSGLAB_MODE"] = report["mode"]
        self.fallback_reason = report.get("fallback_reason", "")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)


def find_labs(selected):
    labs = sorted(d for d in os.listdir(os.path.join(ROOT, "grader"))
                  if os.path.isfile(os.path.join(ROOT, "grader", d, "rubric.json")))
    if not selected:
        return labs
    chosen = [lab for lab in labs if lab == selected or lab.split("-")[0] == selected.zfill(2)]
    if not chosen:
        raise GraderError("no lab %r; the labs are: %s" % (selected, ", ".join(labs)))
    return chosen


def load_rubric(lab):
    with open(os.path.join(ROOT, "grader", lab, "rubric.json")) as f:
        rubric = json.load(f)
    names = [t["name"] for t in rubric["tests"]]
    if rubric.get("lab") != lab or len(set(names)) != len(names):
        raise GraderError("grader/%s/rubric.json: wrong lab name or duplicate tests" % lab)
    return rubric


def programs_of(rubric):
    """{program: its sources, or None for every .c file of the lab}, the main program first."""
    if "programs" in rubric:
        return rubric["programs"]
    return {rubric["program"]: None}


def build(lab_dir, programs, out_dir):
    """Compile each program of the lab into out_dir. Returns (ok, compiler output)."""
    if not os.path.isdir(lab_dir):
        return False, "no folder %s: a submission holds one folder per lab, named like labs/" % lab_dir
    every_c = sorted(f for f in os.listdir(lab_dir) if f.endswith(".c"))
    os.makedirs(out_dir, exist_ok=True)
    messages = []
    for program, sources in programs.items():
        sources = sources or every_c
        missing = [f for f in sources if not os.path.isfile(os.path.join(lab_dir, f))]
        if missing or not sources:
            return False, "%s: missing %s" % (lab_dir, ", ".join(missing) or "any .c file")
        cmd = ["cc"] + STUDENT_CFLAGS + ["-o", os.path.join(out_dir, program)] + sources
        try:
            proc = subprocess.run(cmd, cwd=lab_dir, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return False, "the compiler took more than 120 s"
        messages.append((" ".join(shlex.quote(c) for c in cmd) + "\n" + proc.stdout +
                         proc.stderr).strip())
        if proc.returncode:
            return False, "\n".join(messages)
    return True, "\n".join(messages)


def run_tests(lab, env, results_dir, test_filter):
    """Run the lab's Criterion binary; return {test name: report entry}."""
    binary = os.path.join(env["MSGLAB_BUILD"], "grader", lab, "tests")
    if not os.access(binary, os.X_OK):
        raise GraderError("%s is missing: run make tools" % binary)
    report = os.path.join(results_dir, "criterion.json")
    # Not --full-stats: it evaluates the messages of assertions that pass as well.
    cmd = [binary, "-j1"]
    if test_filter:
        cmd.append("--filter=lab/%s" % test_filter)
    run_env = dict(env, MSGLAB_RESULTS=results_dir, MSGLAB_REPORT=report)
    with open(os.path.join(results_dir, "criterion.log"), "w") as log:
        # Its own session, so that a timeout kills the whole tree; stdin never the terminal.
        proc = subprocess.Popen(cmd, env=run_env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=LAB_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise GraderError("the tests of %s did not finish in %d s" % (lab, LAB_TIMEOUT_S))
    try:
        with open(report) as f:
            entries = json.load(f)["tests"]
    except (OSError, ValueError, KeyError) as e:
        raise GraderError("no usable report from %s (%s); see %s/criterion.log"
                          % (binary, e, results_dir))
    return {e["name"]: e for e in entries}


def outcome_of(entry, test_dir):
    """(status, why): PASS, FAIL, TIMEOUT (the program hung), CRASH (it died of a signal),
    SKIP (cannot run here) or ERROR (the grader's fault)."""
    if entry is None:
        return "ERROR", ""
    marker = os.path.join(test_dir, "outcome")
    if os.path.exists(marker):
        with open(marker) as f:
            status, _, why = f.read().partition("\n")
        return status.strip() or "FAIL", why.strip()
    return {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}.get(entry["status"], "ERROR"), ""


def diff_of(test_dir):
    """The unified diff of expected and actual stdout kept by the test, if any."""
    if not os.path.isdir(test_dir):
        return ""
    parts = []
    for name in sorted(os.listdir(test_dir)):
        if name.endswith(".expected"):
            label = name[:-len(".expected")]
            with open(os.path.join(test_dir, name), errors="replace") as f:
                expected = f.read().splitlines(keepends=True)
            actual_path = os.path.join(test_dir, label + ".actual")
            with open(actual_path, errors="replace") as f:
                actual = f.read().splitlines(keepends=True)
            diff = list(difflib.unified_diff(expected, actual, "expected stdout",
                                             "your stdout", n=2))
            if len(diff) > 40:
                diff = diff[:40] + ["... (%d more lines of diff)\n" % (len(diff) - 40)]
            parts.append("".join(d if d.endswith("\n") else d + "\n" for d in diff))
    return "".join(parts)


def first_command(test_dir):
    """(command, file) of the test's first run of the program, to try it by hand."""
    if os.path.isdir(test_dir):
        for name in sorted(os.listdir(test_dir)):
            if name.endswith(".command") and name.startswith("run"):
                path = os.path.join(test_dir, name)
                with open(path) as f:
                    return f.read().strip(), path
    return None, None


def calibration_dir(lab, build, mode):
    """Where the reference's times on this lab's cases are remembered: a folder named after
    everything they depend on (the machine, the sandbox mode, the solution, the tests)."""
    digest = hashlib.sha256()
    digest.update(("%s %s %s" % (platform.node(), os.cpu_count(), mode)).encode())
    for folder in (os.path.join(ROOT, "solutions", lab), os.path.join(ROOT, "grader", lab)):
        for base, dirs, files in sorted(os.walk(folder)):
            dirs.sort()
            for name in sorted(files):
                with open(os.path.join(base, name), "rb") as f:
                    digest.update(name.encode() + f.read())
    path = os.path.join(build, "calibration", "%s-%s" % (lab, digest.hexdigest()[:16]))
    os.makedirs(path, exist_ok=True)
    return path


def grade_lab(lab, args, env, tmp):
    """Build and test one lab; returns its result as a dict (never raises for student faults)."""
    rubric = load_rubric(lab)
    programs = programs_of(rubric)
    program = next(iter(programs))
    results_dir = os.path.join(args.results_dir, lab)
    shutil.rmtree(results_dir, ignore_errors=True)
    os.makedirs(results_dir)
    tests = [t for t in rubric["tests"] if not args.test or t["name"] == args.test]
    if args.test and not tests:
        raise GraderError("lab %s has no test %r; its tests are: %s"
                          % (lab, args.test, ", ".join(t["name"] for t in rubric["tests"])))
    result = {"lab": lab, "title": rubric["title"], "program": ", ".join(programs), "tests": [],
              "build_error": None, "warnings": ""}
    sub_dir = os.path.join(args.submission, lab)
    ok, message = build(sub_dir, programs, os.path.join(tmp, "submission", lab))
    if not ok:
        result["build_error"] = message
    elif "warning:" in message:
        result["warnings"] = message
    ref_ok, ref_message = build(os.path.join(ROOT, "solutions", lab), programs,
                                os.path.join(tmp, "reference", lab))
    if not ref_ok:
        raise GraderError("the reference solution of %s does not build:\n%s" % (lab, ref_message))
    entries = {}
    if ok:
        lab_env = dict(env,
                       MSGLAB_LAB=lab,
                       MSGLAB_PROGRAM=os.path.join(tmp, "submission", lab, program),
                       MSGLAB_REFERENCE=os.path.join(tmp, "reference", lab, program),
                       MSGLAB_CALIBRATION=calibration_dir(lab, env["MSGLAB_BUILD"],
                                                          env["MSGLAB_MODE"]))
        tools = os.path.join(env["MSGLAB_BUILD"], "grader", lab, "tools")
        if os.path.isdir(tools):
            # Run inside the sandbox as another user: copied where it can reach them.
            lab_env["MSGLAB_TOOLS"] = os.path.join(tmp, "tools", lab)
            lab_env["MSGLAB_TOOLS_SHOWN"] = tools  # where they stay, for commands to try
            shutil.copytree(tools, lab_env["MSGLAB_TOOLS"], dirs_exist_ok=True)
        entries = run_tests(lab, lab_env, results_dir, args.test)
        unknown = set(entries) - {t["name"] for t in rubric["tests"]}
        if unknown:
            raise GraderError("tests of %s missing from its rubric: %s" % (lab, ", ".join(unknown)))
    for t in tests:
        test_dir = os.path.join(results_dir, t["name"])
        entry = entries.get(t["name"])
        status, why = ("FAIL", "") if not ok else outcome_of(entry, test_dir)
        # Criterion 2.4.1 lists a test's assertions newest first.
        messages = list(reversed(entry["messages"])) if entry else []
        if not ok:
            messages = ["the program did not compile"]
        elif entry is None:
            messages = ["grader error: this test did not run (see %s/criterion.log)" % results_dir]
        elif status == "SKIP":
            messages = [why or "this test cannot run on this machine"]
        elif status == "ERROR":
            messages = ["grader error: the test itself %s (signal %d); please report it"
                        % (entry["status"], entry["signal"])] + messages
        command, command_file = first_command(test_dir)
        result["tests"].append({
            "name": t["name"], "title": t["title"], "hint": t.get("hint", ""),
            # A test that cannot run here (SKIP) counts for nothing either way.
            "points": 0 if status == "SKIP" else t["points"],
            "score": t["points"] if status == "PASS" else 0,
            "status": status, "messages": messages,
            "diff": diff_of(test_dir) if status != "PASS" else "",
            "command": command, "command_file": command_file, "transcript": test_dir})
    return result


class Style:
    def __init__(self, enabled):
        self.enabled = enabled

    def __call__(self, text, code):
        return "\033[%sm%s\033[0m" % (code, text) if self.enabled else text


STATUS_COLOURS = {"PASS": "32", "FAIL": "31", "TIMEOUT": "33", "CRASH": "35", "SKIP": "36",
                  "ERROR": "41;97"}


def relative(path):
    rel = os.path.relpath(path)
    return rel if not rel.startswith("../..") else path


def print_report(results, args, style, out):
    total = sum(t["score"] for r in results for t in r["tests"])
    possible = sum(t["points"] for r in results for t in r["tests"])
    for r in results:
        lab_total = sum(t["score"] for t in r["tests"])
        lab_possible = sum(t["points"] for t in r["tests"])
        print(style("%s: %s (%s)" % (r["lab"], r["title"], r["program"]), "1"), file=out)
        if r["build_error"]:
            print("  " + style("DOES NOT COMPILE", "31") + ": every test of this lab scores 0.",
                  file=out)
            for line in r["build_error"].splitlines()[:30]:
                print("    " + line, file=out)
        elif r["warnings"]:
            print("  compiler warnings (no points lost, but read them):", file=out)
            for line in r["warnings"].splitlines()[1:16]:
                print("    " + line, file=out)
        width = max(len(t["name"]) for t in r["tests"])
        for t in r["tests"]:
            status = style("%-7s" % t["status"], STATUS_COLOURS[t["status"]])
            print("  %s %2d/%-2d  %-*s  %s" % (status, t["score"], t["points"], width,
                                                t["name"], t["title"]), file=out)
            if t["status"] == "PASS" or r["build_error"]:
                continue
            if t["status"] == "SKIP":
                print("           skipped: %s" % t["messages"][0], file=out)
                continue
            for m in t["messages"][:3]:
                print("           " + m.replace("\n", "\n           "), file=out)
            if t["diff"]:
                for line in t["diff"].splitlines():
                    colour = "32" if line.startswith("+") else "31" if line.startswith("-") else "0"
                    print("             " + style(line, colour), file=out)
            if t["hint"]:
                print("           hint: " + t["hint"], file=out)
            lab_dir = os.path.join(args.submission, r["lab"])
            if t["command"]:
                command = t["command"]
                if len(command) > 160:
                    command = "sh " + os.path.relpath(t["command_file"], lab_dir)
                print("           try:  cd %s && make && %s"
                      % (relative(lab_dir), command), file=out)
            print("           rerun: make grade LAB=%s TEST=%s%s   transcript: %s/"
                  % (r["lab"][:2], t["name"],
                     "" if os.path.abspath(args.submission) == os.path.join(ROOT, "labs")
                     else " SUBMISSION=" + relative(args.submission),
                     relative(t["transcript"])), file=out)
        print("  %s %d/%d\n" % (style("subtotal", "1"), lab_total, lab_possible), file=out)
    print("Randomised cases used seed %s (replay: make grade SEED=%s)." % (args.seed, args.seed),
          file=out)
    verdict = "full marks" if total == possible else "%d point%s to find" % (
        possible - total, "" if possible - total == 1 else "s")
    print(style("Total: %d/%d (%s)" % (total, possible, verdict), "1"), file=out)
    return total, possible


def gradescope(results, elapsed):
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
            tests.append({"name": "%s: %s" % (r["lab"], t["name"]), "score": t["score"],
                          "max_score": t["points"],
                          "status": "passed" if t["status"] == "PASS" else "failed",
                          "output": "\n".join(lines)})
    return {"score": sum(t["score"] for t in tests),
            "max_score": sum(t["max_score"] for t in tests),
            "execution_time": round(elapsed, 3), "tests": tests}


def write_csv(path, submission, results):
    """One row for this submission, under a header; rows of other submissions are kept."""
    header = ["submission", "total", "max"] + ["%s:%s" % (r["lab"], t["name"])
                                               for r in results for t in r["tests"]]
    row = [submission, str(sum(t["score"] for r in results for t in r["tests"])),
           str(sum(t["points"] for r in results for t in r["tests"]))] + \
        [str(t["score"]) for r in results for t in r["tests"]]
    rows = []
    if os.path.exists(path):
        with open(path, newline="") as f:
            old = list(csv.reader(f))
        if old and old[0] == header:
            rows = [r for r in old[1:] if r and r[0] != submission]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows + [row])


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `make grade | head` ends quietly
    p = argparse.ArgumentParser(description="Grade System V message queue labs.")
    p.add_argument("--lab", help="one lab: 01 or 01-two-children (default: all)")
    p.add_argument("--submission", default=os.path.join(ROOT, "labs"),
                   help="folder laid out like labs/ (default: labs/)")
    p.add_argument("--test", help="run only this test (with --lab)")
    p.add_argument("--results-json", help="also write a Gradescope results.json here")
    p.add_argument("--results-dir", default="results", help="transcripts go here")
    p.add_argument("--csv", help="add this submission's row of scores to a CSV file")
    p.add_argument("--summary-json", help="write the full result as JSON (for the self-tests)")
    p.add_argument("--seed", help="seed for randomised tests, to replay a run")
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="the built grader")
    p.add_argument("--quiet", action="store_true", help="print only the total")
    args = p.parse_args()
    if args.test and not args.lab:
        p.error("--test needs --lab")
    args.submission = os.path.abspath(args.submission)
    args.build = os.path.abspath(args.build)
    # One seed for the whole run, shown in the report, so any randomised failure can be replayed.
    args.seed = args.seed or str(random.SystemRandom().randint(1, 999999))
    args.results_dir = os.path.abspath(args.results_dir)
    style = Style(sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    start = time.monotonic()
    try:
        labs = find_labs(args.lab)
        if not os.path.isdir(args.submission):
            raise GraderError("no submission folder %s" % args.submission)
        with Session(args.build) as session:
            env = session.env
            env["MSGLAB_SEED"] = args.seed
            if env["MSGLAB_MODE"] == "fallback":
                print(style("FALLBACK MODE: %s. Tests that need a private IPC namespace are "
                            "skipped; leaks are the run's own new queues; do not grade in "
                            "parallel." % session.fallback_reason, "33"), file=sys.stderr)
            # Labs spend much of their time waiting on the programs, not computing. Without
            # namespaces or a uid per run, parallel runs would take each other's leaks for theirs.
            workers = min(len(labs), 2 * (os.cpu_count() or 1))
            if env["MSGLAB_MODE"] == "fallback" and os.geteuid() != 0:
                workers = 1
            with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(lambda lab: grade_lab(lab, args, env, session.tmp),
                                        labs))
    except GraderError as e:
        print("grader error: %s" % e, file=sys.stderr)
        return 2
    elapsed = time.monotonic() - start
    out = open(os.devnull, "w") if args.quiet else sys.stdout
    total, possible = print_report(results, args, style, out)
    if args.quiet:
        print("Total: %d/%d" % (total, possible))
    if args.results_json:
        with open(args.results_json, "w") as f:
            json.dump(gradescope(results, elapsed), f, indent=1)
    if args.csv:
        write_csv(args.csv, args.submission, results)
    if args.summary_json:
        with open(args.summary_json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if total == possible else 1


if __name__ == "__main__":
    sys.exit(main())
