#!/usr/bin/env python3
"""make demo LAB=NN: a lab's program run for a class to watch, as a sequence diagram drawn in
the terminal, one event at a time.

The lab's reference solution (or a student's program, --submission: built and run in the
sandbox like any graded code) runs one of the lab's scenarios (grader/LAB/demo.json) in the
sandbox under the call record; its processes are the lanes, its queues the columns on the
right, and each message an arrow into the queue (msgsnd) and one out of it (msgrcv).

  demo.py [--lab 01] [--scenario NAME] [--submission DIR] [--step] [--speed X] [--width N]

--step waits for a key between events (space or Enter: next; q: stop), for lecturing;
--speed sets the pace (1: about four events a second; 0: all at once). Colour unless NO_COLOR
is set or the output is not a terminal; ASCII arrows where the terminal is not UTF-8.
"""
import argparse
import json
import locale
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import termios
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import flow  # noqa: E402
import flow_svg  # noqa: E402
import grade  # noqa: E402
import recorded_run  # noqa: E402

PACE_S = 0.25  # between two events at speed 1


class DemoError(Exception):
    pass


def scenarios(lab):
    path = os.path.join(ROOT, "grader", lab, "demo.json")
    try:
        with open(path) as f:
            return json.load(f)["scenarios"]
    except (OSError, ValueError, KeyError) as e:
        raise DemoError("%s: no scenario to show (%s)" % (path, e))


def build_programs(lab, submission, session, out):
    """The lab's programs in out: the reference's, or the submission's built in the sandbox."""
    programs = grade.programs_of(grade.load_rubric(lab))
    if not submission and not os.path.isdir(os.path.join(ROOT, "solutions", lab)):
        submission = os.path.join(ROOT, "labs")  # a student release: their own program
    if submission:
        ok, message = grade.build(os.path.join(grade.layout.labs_root(
            submission, grade.find_labs(None)), lab), programs, out, session)
    else:
        ok, message = grade.build_reference(os.path.join(ROOT, "solutions", lab), programs, out)
    if not ok:
        raise DemoError("the program does not build:\n%s" % message)
    return programs


def program_names(trace):
    """{pid: the program it last ran}, from the record's execve lines (strace -xx shows the
    path as \\xNN bytes)."""
    names = {}
    with open(trace, errors="replace") as f:
        for line in f:
            # One line, or "<unfinished ...>" and a resumed line later: a failed exec (= -1)
            # shows on one line, as it fails at once.
            m = re.match(r'(\d+) +[\d.]+ execve\("((?:\\x[0-9a-f]{2})*)"', line)
            if m and " = -1 " not in line:
                path = bytes.fromhex(m.group(2).replace("\\x", "")).decode(errors="replace")
                names[int(m.group(1))] = os.path.basename(path)
    return names


def record(scenario, programs, bins, session, lab, tmp):
    """Run the scenario in the sandbox under the call record: (events, stdout, {pid:
    program})."""
    program = scenario.get("program") or "{bin}/" + next(iter(programs))
    trace, report = os.path.join(tmp, "trace"), os.path.join(tmp, "report")
    cmd = recorded_run.command(session.env["MSGLAB_RUN"], bins,
                               os.path.join(session.build, "grader", lab, "tools"), trace,
                               report, program, scenario.get("args", []),
                               scenario.get("subdir"), scenario.get("file"),
                               scenario.get("env", []), setup=scenario.get("setup"))
    proc = subprocess.run(cmd, capture_output=True, env=session.env,
                          input=scenario.get("input", "").encode(), timeout=60)
    main_pid = recorded_run.main_pid(report)
    if main_pid is None:
        raise DemoError("the run gave no report:\n%s" % proc.stderr.decode(errors="replace"))
    flowed = subprocess.run([os.path.join(session.build, "bin", "msgflow"), trace,
                             str(main_pid)], capture_output=True, text=True, check=True)
    return (flow.load(flowed.stdout.splitlines()), proc.stdout.decode(errors="replace"),
            program_names(trace))


def diagram(lab, scenario, programs, bins, session, tmp):
    """The scenario run and laid out: ((names, queues, rows) as flow.rows gives them, what the
    program printed)."""
    events, output, names = record(scenario, programs, bins, session, lab, tmp)
    return flow.rows(events, programs=names, qbytes=scenario.get("qbytes", flow.MSGMNB),
                     decode=flow.lab_decoder(os.path.join(ROOT, "grader", lab))), output


def svg_of(lab, scenario, laid_out):
    return flow_svg.svg(*laid_out, "lab %s, %s: %s" % (lab[:2], scenario["name"],
                                                       scenario["title"]))


class Keys:
    """Single key presses from the terminal (step mode), or none when there is no terminal."""

    def __init__(self, wanted):
        self.fd = None
        if wanted and sys.stdin.isatty():
            self.fd = sys.stdin.fileno()
            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)

    def wait(self):
        """The next key (q means stop)."""
        if self.fd is None:
            return ""
        return os.read(self.fd, 1).decode(errors="replace")

    def pressed(self):
        """A key pressed meanwhile, without waiting (q stops the show)."""
        if self.fd is None or not select.select([self.fd], [], [], 0)[0]:
            return ""
        return os.read(self.fd, 1).decode(errors="replace")

    def close(self):
        if self.fd is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def show(scenario, laid_out, output, args, out=sys.stdout):
    """The diagram (flow.rows' names, queues and rows) on the terminal, paced or stepped."""
    width = args.width or shutil.get_terminal_size((80, 24)).columns
    unicode = "utf" in (locale.getpreferredencoding(False) or "").lower()
    color = out.isatty() and not os.environ.get("NO_COLOR")
    names, queues, rows = laid_out
    layout = flow.Layout(names, queues, width, unicode=unicode, color=color)
    bold = (lambda s: "\x1b[1m%s\x1b[0m" % s) if color else (lambda s: s)
    print(bold(flow.fit("%s: %s" % (scenario["name"], scenario["title"]), width).rstrip()),
          file=out)
    for line in wrap(scenario.get("explain", ""), width):
        print(line, file=out)
    print("\n".join(layout.header()), file=out)
    keys = Keys(args.step)
    try:
        t0 = rows[0]["t_us"] if rows else 0
        for row in rows:
            print(layout.row(row, t0), file=out, flush=True)
            if args.step:
                if keys.wait() == "q":
                    break
            elif args.speed > 0:
                time.sleep(PACE_S / args.speed)
                if keys.pressed() == "q":
                    break
    finally:
        keys.close()
    print(("─" if unicode else "-") * layout.width, file=out)
    if output.strip():
        print("the program printed:", file=out)
        for line in output.splitlines()[:20]:
            print("  " + flow.fit(line, width - 2).rstrip(), file=out)


def compare(scenario, parts, args, out=sys.stdout):
    """Scenarios that read one batch in different ways (scenario's "compare"), side by side: the
    batch as sent, then, in one column per scenario, what each receive took, until each gave
    up; last, what each left in the queue. parts: [(scenario, (names, queues, rows))]."""
    width = args.width or shutil.get_terminal_size((80, 24)).columns
    color = out.isatty() and not os.environ.get("NO_COLOR")
    bold = (lambda s: "\x1b[1m%s\x1b[0m" % s) if color else (lambda s: s)
    print(bold(flow.fit("%s: %s" % (scenario["name"], scenario["title"]), width).rstrip()),
          file=out)
    for line in wrap(scenario.get("explain", ""), width):
        print(line, file=out)
    first_rows = parts[0][1][2]
    sent = ["[%s] %s" % (r["mtype"], r["text"]) for r in first_rows if r["kind"] == "send"]
    for line in wrap("sent: " + "  ".join(sent), width):
        print(line, file=out)
    label_w = 6
    col = max(8, (width - label_w) // len(parts))
    columns = []
    for part, (_, _, rows) in parts:
        taken = ["[%s] %s" % (r["mtype"], r["text"]) for r in rows if r["kind"] == "receive"]
        end = next((r["text"].split(": ", 1)[1] for r in rows if r.get("error") and
                    r["text"].startswith("msgrcv")), "")
        left = sum(1 for r in rows if r["kind"] == "send") - len(taken)
        columns.append((" ".join([part["name"]] + part.get("args", [])[1:]), taken, end, left))
    line = "─" if "utf" in (locale.getpreferredencoding(False) or "").lower() else "-"
    print((" " * label_w + "".join(bold(flow.fit(c[0], col)) for c in columns)).rstrip(),
          file=out)
    print(line * min(width, label_w + col * len(columns)), file=out)
    keys = Keys(args.step)
    try:
        for i in range(max(len(c[1]) for c in columns) + 1):
            cells = [c[1][i] if i < len(c[1]) else c[2] if i == len(c[1]) else ""
                     for c in columns]
            print((flow.fit("%d." % (i + 1), label_w) +
                   "".join(flow.fit(t, col) for t in cells)).rstrip(), file=out, flush=True)
            if args.step:
                if keys.wait() == "q":
                    return
            elif args.speed > 0:
                time.sleep(PACE_S / args.speed)
    finally:
        keys.close()
    print(line * min(width, label_w + col * len(columns)), file=out)
    print((flow.fit("left", label_w) + "".join(
        flow.fit("%d message%s" % (c[3], "" if c[3] == 1 else "s"), col)
        for c in columns)).rstrip(), file=out)


def wrap(text, width):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = (line + " " + word).strip()
    return lines + ([line] if line else [])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lab", default="01", help="the lab (01 or 01-two-children)")
    p.add_argument("--scenario", help="one of the lab's scenarios (default: the first)")
    p.add_argument("--submission", help="a student's folder laid out like labs/ (default: the "
                   "reference solution)")
    p.add_argument("--step", action="store_true", help="one event per key press")
    p.add_argument("--speed", type=float, default=1.0, help="pace (default 1; 0: no pauses)")
    p.add_argument("--width", type=int, help="columns (default: the terminal's)")
    p.add_argument("--svg", help="also write the diagram as SVG to this file")
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="the built grader")
    p.add_argument("--list", action="store_true", help="list the lab's scenarios")
    args = p.parse_args()
    try:
        (lab,) = grade.find_labs(args.lab)
        every = scenarios(lab)
        if args.list:
            for s in every:
                print("%-12s %s" % (s["name"], s["title"]))
            return 0
        chosen = [s for s in every if s["name"] == args.scenario] if args.scenario else every[:1]
        if not chosen:
            raise DemoError("lab %s has no scenario %s; it has: %s" % (
                lab, args.scenario, ", ".join(s["name"] for s in every)))
        with grade.Session(os.path.abspath(args.build)) as session, \
                tempfile.TemporaryDirectory(prefix="demo-") as tmp:
            bins = os.path.join(tmp, "bin")
            programs = build_programs(lab, args.submission, session, bins)
            if "compare" in chosen[0]:  # several scenarios' runs, side by side
                if args.svg:
                    raise DemoError("SVG= draws one scenario, and %s compares several: name "
                                    "one of %s" % (chosen[0]["name"],
                                                   ", ".join(chosen[0]["compare"])))
                parts = []
                for name in chosen[0]["compare"]:
                    part = next(s for s in every if s["name"] == name)
                    run_dir = os.path.join(tmp, name)
                    os.mkdir(run_dir)
                    parts.append((part, diagram(lab, part, programs, bins, session,
                                                run_dir)[0]))
                compare(chosen[0], parts, args)
                return 0
            laid_out, output = diagram(lab, chosen[0], programs, bins, session, tmp)
            show(chosen[0], laid_out, output, args)
            if args.svg:
                with open(args.svg, "w") as f:
                    f.write(svg_of(lab, chosen[0], laid_out))
    except (DemoError, grade.GraderError) as e:
        print("demo: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
