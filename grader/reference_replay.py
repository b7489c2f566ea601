"""A graded run played again by the reference solution, under the call record: what the
program should have done, to draw beside what it did (grade.py, for a failed test's runs).

A run's runN.replay (grader/lib/harness.c keep_replay: "key=value" fields, each ended by a NUL)
holds its invocation with {bin} and {tools} left open; here {bin} is the reference's folder.
The reference runs in the same sandbox as the graded run (msglab-run, with the same setup,
limits, environment, standard input and user), and its record lands beside the run's as
runN.expected.strace.
"""
import os
import subprocess

SANDBOX_BIN, SANDBOX_TOOLS = "/sandbox/bin", "/sandbox/tools"
REPEATED = ("arg", "env", "sysctl")


def read(path):
    """The replay's fields: {key: value}, and a list for each of REPEATED."""
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


def inside(text):
    return text.replace("{bin}", SANDBOX_BIN).replace("{tools}", SANDBOX_TOOLS)


def run(replay, msglab_run, reference_bin, tools, env):
    """Run the reference as replay says; returns (trace path, main pid) or None when it could
    not be run (no program, a sandbox failure: nothing to draw)."""
    fields = read(replay)
    if "program" not in fields:
        return None
    base = replay[:-len(".replay")]
    trace, report = base + ".expected.strace", base + ".expected.sandbox"
    timeout = int(float(fields.get("timeout", "10000")))
    cmd = [msglab_run, "-t", str(timeout), "-T", trace, "-r", report,
           "-b", "%s=%s" % (reference_bin, SANDBOX_BIN)]
    if tools and os.path.isdir(tools):
        cmd += ["-b", "%s=%s" % (tools, SANDBOX_TOOLS)]
    if fields.get("subdir"):
        cmd += ["-C", fields["subdir"]]
    if fields.get("file"):
        cmd += ["-f", fields["file"]]
    for setting in fields["env"]:
        cmd += ["-e", setting]
    for setting in fields["sysctl"]:
        cmd += ["-s", setting]
    if fields.get("setup"):
        cmd += ["-x", inside(fields["setup"])]
    if fields.get("other") == "1":
        cmd.append("-O")
    cmd += ["--", inside(fields["program"])] + [inside(a) for a in fields["arg"]]
    stdin = subprocess.DEVNULL
    if fields.get("stdin"):
        stdin = open(os.path.join(os.path.dirname(replay), os.path.basename(fields["stdin"])),
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
    try:
        with open(report) as f:
            main_pid = int(next(line.split()[1] for line in f if line.startswith("main_pid ")))
    except (OSError, StopIteration, ValueError):
        return None
    return trace, main_pid
