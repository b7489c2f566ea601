"""A program run in the sandbox under the call record, for a diagram: make demo's scenarios, and
a graded run played again by the reference solution (what the program should have done, drawn
beside what it did: grade.py, for a failed test).

command() is msglab-run's command line for such a run; main_pid() reads the sandbox report for
the process the record starts from. A run's runN.replay (grader/lib/harness.c keep_replay:
"key=value" fields, each ended by a NUL) holds a graded invocation with {bin} and {tools} left
open; replay() runs it with {bin} the reference's folder, in the same sandbox as the graded run
(the same setup, limits, environment, standard input and user), its record beside the run's as
runN.expected.strace.
"""
import os
import subprocess

SANDBOX_BIN, SANDBOX_TOOLS = "/sandbox/bin", "/sandbox/tools"
REPEATED = ("arg", "env", "sysctl")


def inside(text):
    """{bin} and {tools} as the sandbox shows them."""
    return text.replace("{bin}", SANDBOX_BIN).replace("{tools}", SANDBOX_TOOLS)


def command(msglab_run, bin_dir, tools, trace, report, program, args=(), subdir=None,
            file=None, env=(), sysctl=(), setup=None, other=False, timeout_ms=None):
    """msglab-run's command line: program (a path with {bin} or {tools}) and args run with
    bin_dir and tools (if it is a folder) shown at their sandbox places, under the call record
    (trace), its report in report; setup is a shell command run first."""
    cmd = [msglab_run, "-T", trace, "-r", report, "-b", "%s=%s" % (bin_dir, SANDBOX_BIN)]
    if timeout_ms is not None:
        cmd += ["-t", str(timeout_ms)]
    if tools and os.path.isdir(tools):
        cmd += ["-b", "%s=%s" % (tools, SANDBOX_TOOLS)]
    if subdir:
        cmd += ["-C", subdir]
    if file:
        cmd += ["-f", file]
    for setting in env:
        cmd += ["-e", setting]
    for setting in sysctl:
        cmd += ["-s", setting]
    if setup:
        cmd += ["-x", inside(setup)]
    if other:
        cmd.append("-O")
    return cmd + ["--", inside(program)] + [inside(a) for a in args]


def main_pid(report):
    """The pid of the run's main process, from msglab-run's report; None if it has none."""
    try:
        with open(report, errors="replace") as f:
            return int(next(line.split()[1] for line in f if line.startswith("main_pid ")))
    except (OSError, StopIteration, ValueError, IndexError):
        return None


def read(path):
    """A replay's fields: {key: value}, and a list for each of REPEATED."""
    with open(path, "rb") as f:
        data = f.read()
    fields = {key: [] for key in REPEATED}
    for item in data.split(b"\0"):
        if not item:
            continue
        key, _, value = item.decode("utf-8", "surrogateescape").partition("=")
        if key in REPEATED:
            fields[key].append(value)
        else:
            fields[key] = value
    return fields


def replay(path, msglab_run, reference_bin, tools, env):
    """Run the reference as the replay at path says; returns (trace path, main pid) or None when
    it could not be run (no program, a sandbox failure: nothing to draw)."""
    fields = read(path)
    if "program" not in fields:
        return None
    base = path[:-len(".replay")]
    trace, report = base + ".expected.strace", base + ".expected.sandbox"
    timeout = int(float(fields.get("timeout", "10000")))
    cmd = command(msglab_run, reference_bin, tools, trace, report, fields["program"],
                  fields["arg"], fields.get("subdir"), fields.get("file"), fields["env"],
                  fields["sysctl"], fields.get("setup"), fields.get("other") == "1", timeout)
    stdin = subprocess.DEVNULL
    if fields.get("stdin"):
        stdin = open(os.path.join(os.path.dirname(path), os.path.basename(fields["stdin"])),
                     "rb")
    try:
        with open(base + ".expected.stdout", "wb") as out:
            subprocess.run(cmd, stdin=stdin, stdout=out, stderr=subprocess.DEVNULL, env=env,
                           timeout=2 * timeout / 1000 + 30)
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        if stdin is not subprocess.DEVNULL:
            stdin.close()
    pid = main_pid(report)
    return (trace, pid) if pid is not None else None
