#!/usr/bin/env python3
"""make bench: what grading costs, against the least it could cost, and how fast a class goes.

grading  the processor time (user + system, of every process) of grading one submission: the
         reference solutions, everything built and calibrated (a first grading warms up)
floor    the processor time of just compiling its programs (each build the grading made) and
         running the same program invocations bare: each run of the grading again, with its
         setup but without sandbox, tracer, Criterion or Python (build/bin/bare-run); runs of
         a grader tool that drives the programs (lab 05's scenarios) count the tool too
ratio    grading / floor (target: at most 1.5)
class    grade-class on COPIES copies of the reference solutions: submissions a minute
         (target: at least 60 on 2 cores)
where    unit costs measured here (a Criterion test's process, a sandboxed and traced run, the
         driver's start) times how often one grading pays them

usage: bench.py [--lab 01,05] [--copies N] [--jobs N] [--no-class]
"""
import argparse
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import grade  # noqa: E402

BUILD = os.path.join(ROOT, "build")
TARGET_RATIO = 1.5
TARGET_PER_MINUTE = 60


def cpu_of(cmd, check=True, **kw):
    """(processor seconds of cmd and everything it started, wall seconds, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode and check:
        raise SystemExit("bench: %s failed (%d):\n%s" % (cmd[0], proc.returncode,
                                                         proc.stderr[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, proc.stdout


def grade_cmd(labs, results, extra=()):
    cmd = [sys.executable, os.path.join(ROOT, "grader", "grade.py"), "--submission",
           os.path.join(ROOT, "solutions"), "--results-dir", results, "--quiet"]
    if labs:
        cmd += ["--lab", labs]
    return cmd + list(extra)


def compile_floor(labs, sanitized, out):
    """Compile each lab's reference programs bare, as the grading does (once, or twice with the
    memory pass): (processor seconds, {lab: (plain dir, sanitized dir)})."""
    total, dirs = 0.0, {}
    for lab in labs:
        programs = grade.programs_of(grade.load_rubric(lab))
        src = os.path.join(ROOT, "solutions", lab)
        every_c = sorted(f for f in os.listdir(src) if f.endswith(".c"))
        builds = [("plain", grade.STUDENT_CFLAGS)]
        if lab in sanitized:
            builds.append(("sanitized", grade.SANITIZED_CFLAGS))
        dirs[lab] = {}
        for kind, flags in builds:
            dest = os.path.join(out, kind, lab)
            os.makedirs(dest)
            for program, sources in programs.items():
                cpu, _, _ = cpu_of(["cc"] + flags + ["-o", os.path.join(dest, program)] +
                                   (sources or every_c), cwd=src)
                total += cpu
            dirs[lab][kind] = dest
    return total, dirs


def replay_floor(results, dirs):
    """Every run of the grading again, bare: (processor seconds, runs, runs that could not be
    replayed, runs that ended otherwise than when graded)."""
    total, runs, failed, differed = 0.0, 0, [], []
    for path in sorted(glob.glob(os.path.join(results, "*", "**", "run*.replay"),
                                 recursive=True)):
        lab = os.path.relpath(path, results).split(os.sep)[0]
        kind = "sanitized" if os.sep + grade.MEMORY_TEST + os.sep in path else "plain"
        tools = os.path.join(BUILD, "grader", lab, "tools")
        proc = subprocess.run([os.path.join(BUILD, "bin", "bare-run"), "-b",
                               dirs[lab][kind], "-t", tools, path],
                              capture_output=True, text=True)
        runs += 1
        fields = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
        if proc.returncode or "cpu_ms" not in fields:
            failed.append("%s: %s" % (os.path.relpath(path, results),
                                      proc.stderr.strip().splitlines()[-1:]))
            continue
        total += float(fields["cpu_ms"]) / 1000
        graded = sandbox_report(path[:-len(".replay")] + ".sandbox")
        if graded.get("exit_code") not in (None, fields.get("exit_code")):
            differed.append("%s: exit code %s graded, %s bare" % (
                os.path.relpath(path, results), graded["exit_code"], fields.get("exit_code")))
    return total, runs, failed, differed


def sandbox_report(path):
    """The sandbox's report of a graded run as {key: value} ({} if there is none)."""
    try:
        with open(path) as f:
            return dict(line.rstrip("\n").split(" ", 1) for line in f if " " in line)
    except OSError:
        return {}


def unit_costs(lab, results):
    """Unit costs on this machine: (driver start-up, a Criterion test's process, a run in the
    sandbox untraced and traced, the same run bare), in processor seconds."""
    costs = {}
    costs["driver"] = cpu_of([sys.executable, "-c", "import sys; sys.path.insert(0, %r); "
                              "import grade" % os.path.join(ROOT, "grader")])[0]
    tests = os.path.join(BUILD, "grader", lab, "tests")
    # With no MSGLAB_* settings every test stops at its first line: what is left is
    # Criterion's own work for each test (a process, its protocol, the report).
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGLAB_")}
    empty = cpu_of([tests, "-j1", "--filter=none/none"], check=False, env=env)[0]
    names = [t["name"] for t in grade.load_rubric(lab)["tests"]
             if t["name"] != grade.MEMORY_TEST]
    every = cpu_of([tests, "-j1"], check=False, env=env)[0]
    costs["criterion_test"] = (every - empty) / len(names)
    costs["criterion_start"] = empty
    # One simple run of the lab's program (no setup, no input), repeated: the sandbox's and
    # the tracer's share of a run.
    for replay in sorted(glob.glob(os.path.join(results, lab, "*", "run*.replay"))):
        with open(replay, "rb") as f:
            keys = {x.split(b"=", 1)[0] for x in f.read().split(b"\0") if x}
        if not keys & {b"setup", b"stdin", b"file", b"subdir", b"sysctl"}:
            return costs, replay
    return costs, None


def sandbox_costs(replay, bin_dir, tools, repeat=20):
    """A run (the replay's program and arguments, no setup) in msglab-run untraced, traced,
    and bare: processor seconds each."""
    with open(replay, "rb") as f:
        fields = [x.decode(errors="replace").split("=", 1) for x in f.read().split(b"\0") if x]
    program = [v for k, v in fields if k == "program"][0]
    args = [v for k, v in fields if k == "arg"]
    if "{tools}" in program:
        return None
    run = os.path.join(BUILD, "bin", "msglab-run")
    inside = program.replace("{bin}", "/sandbox/bin")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        trace = os.path.join(tmp, "trace")
        base = [run, "-b", "%s=/sandbox/bin" % bin_dir, "-r", os.path.join(tmp, "report")]
        traced = sum(cpu_of(base + ["-T", trace, "--", inside] + args)[0]
                     for _ in range(repeat)) / repeat
        untraced = sum(cpu_of(base + ["-U", "--", inside] + args)[0]
                       for _ in range(repeat)) / repeat
        bare = []
        for _ in range(repeat):
            out = cpu_of([os.path.join(BUILD, "bin", "bare-run"), "-b", bin_dir, "-t", tools,
                          replay])[2]
            bare.append(float(out.split()[1]) / 1000)
    return {"traced": traced, "untraced": untraced, "bare": sum(bare) / len(bare)}


def class_throughput(labs, copies, jobs):
    """grade-class on copies of the reference: (submissions a minute, wall s, processor s)."""
    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        class_dir = os.path.join(tmp, "class")
        for i in range(copies):
            dest = os.path.join(class_dir, "student%02d" % (i + 1))
            for lab in labs:
                shutil.copytree(os.path.join(ROOT, "solutions", lab), os.path.join(dest, lab))
        cmd = [sys.executable, os.path.join(ROOT, "grader", "classgrade.py"), class_dir,
               "--out", os.path.join(tmp, "out"), "--lab", ",".join(labs)]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        cpu, wall, _ = cpu_of(cmd)
        with open(os.path.join(tmp, "out", "gradebook.csv")) as f:
            rows = f.read().count("\n") - 1
        if rows != copies:
            raise SystemExit("bench: the class's gradebook has %d rows, not %d" % (rows, copies))
    return copies * 60 / wall, wall, cpu


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lab", help="only these labs (default: all)")
    p.add_argument("--copies", type=int, default=40, help="the class's size (default 40)")
    p.add_argument("--jobs", type=int, help="grade-class --jobs (default: its own)")
    p.add_argument("--class-lab", default="01",
                   help="the labs the class run grades (default 01: one assignment; all: "
                   "every lab)")
    p.add_argument("--no-class", action="store_true", help="skip the class run")
    args = p.parse_args()
    labs = grade.find_labs(args.lab)
    if os.geteuid() != 0:
        print("bench: bare runs need a private IPC namespace: run as root for the floor",
              file=sys.stderr)
    cpus = os.cpu_count() or 1
    subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "tools"], check=True)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        results = os.path.join(tmp, "results")
        # The first grading warms up (calibration, page cache) and keeps every run's replay.
        cpu_of(grade_cmd(args.lab, results), env=dict(os.environ, MSGLAB_KEEP_REPLAY="1"))
        grading, wall, _ = cpu_of(grade_cmd(args.lab, os.path.join(tmp, "again")))
        sanitized = {lab for lab in labs
                     if os.path.isdir(os.path.join(results, lab, grade.MEMORY_TEST))}
        compiling, dirs = compile_floor(labs, sanitized, os.path.join(tmp, "floor"))
        bare, runs, failed, differed = replay_floor(results, dirs)
        floor = compiling + bare
        # Criterion test processes: every test but memory_safety, again in the memory pass.
        tests = sum((len(grade.load_rubric(lab)["tests"]) - 1) * (1 + (lab in sanitized))
                    for lab in labs)
        passes = len(labs) + len(sanitized)
        print("grading the reference solutions (%s) on %d CPU%s:"
              % (",".join(labs) if args.lab else "all %d labs" % len(labs), cpus,
                 "" if cpus == 1 else "s"))
        print("  grading: %6.1f s of processor time (user + system), %.1f s wall"
              % (grading, wall))
        print("  floor:   %6.1f s: compiling %.1f s (%d builds) + %d runs bare %.1f s"
              % (floor, compiling, passes, runs, bare))
        if failed:
            print("           %d run(s) could not be replayed bare, not counted: %s"
                  % (len(failed), "; ".join(failed[:3])))
        if differed:
            print("           %d run(s) ended otherwise bare than graded (a program that waits "
                  "for the grader's tools, say): %s" % (len(differed), "; ".join(differed[:3])))
        print("  ratio:   %6.1fx the floor (target: at most %.1fx)"
              % (grading / floor if floor else float("nan"), TARGET_RATIO))

        costs, replay = unit_costs(labs[0], results)
        sandbox = None
        if replay:
            sandbox = sandbox_costs(replay, dirs[labs[0]]["plain"],
                                    os.path.join(BUILD, "grader", labs[0], "tools"))
        print("where the time goes (unit costs here, times how often one grading pays them):")
        rows = [("the driver's start (python, grade.py)", costs["driver"], 1),
                ("a Criterion binary's start", costs["criterion_start"], passes),
                ("a Criterion test's own process", costs["criterion_test"], tests)]
        if sandbox:
            rows += [("a run: sandbox (bwrap, msglab-run)", sandbox["untraced"] -
                      sandbox["bare"], runs),
                     ("a run: the tracer (strace)", sandbox["traced"] - sandbox["untraced"],
                      runs)]
        for what, unit, count in rows:
            print("  %-40s %7.1f ms x %4d = %5.1f s" % (what, unit * 1000, count, unit * count))
        print("  (the rest: setup commands, the harness's own checks, lab 05's scenario "
              "driver, waiting)")

    if not args.no_class:
        class_labs = grade.find_labs(None if args.class_lab == "all" else args.class_lab)
        per_minute, wall, cpu = class_throughput(class_labs, args.copies, args.jobs)
        print("class: %d copies of the reference, grade-class --lab %s: %.0f s wall, %.0f s "
              "of processor time: %.1f submissions a minute (target: at least %d on 2 cores)"
              % (args.copies, ",".join(class_labs), wall, cpu, per_minute,
                 TARGET_PER_MINUTE))
    print(json.dumps({"grading_cpu_s": round(grading, 2), "floor_cpu_s": round(floor, 2),
                      "ratio": round(grading / floor, 2) if floor else None,
                      "per_minute": None if args.no_class else round(per_minute, 1)}))


if __name__ == "__main__":
    main()
