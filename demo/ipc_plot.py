#!/usr/bin/env python3
"""make ipc-bench: run build/bin/ipc-bench, print its table, and draw it as SVG.

  ipc_plot.py [--bench build/bin/ipc-bench] [--svg results/ipc-bench.svg] [--quick]

Two panels, message size on a log scale: the round trip (microseconds, lower is better) and the
one-way throughput (MB/s, higher is better), one line per transport. Plain SVG, no script.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLORS = {"sysv-msgq": "#c0392b", "pipe": "#2471a3", "posix-mq": "#1e8449",
          "unix-socket": "#7d3c98"}
W, H, PAD = 460, 300, 60


def panel(x0, title, unit, series, log_y):
    """One chart at x0: series {transport: [(size, value)]}."""
    sizes = sorted({s for points in series.values() for s, _ in points})
    values = [v for points in series.values() for _, v in points if v > 0]
    lo, hi = min(values), max(values)
    if log_y:
        lo, hi = math.log10(lo) - 0.1, math.log10(hi) + 0.1
    else:
        lo, hi = 0, hi * 1.1
    xs = {s: x0 + PAD + (W - PAD - 20) * (i / max(1, len(sizes) - 1))
          for i, s in enumerate(sizes)}

    def y(v):
        v = math.log10(v) if log_y else v
        return 30 + (H - PAD - 30) * (1 - (v - lo) / (hi - lo or 1))

    out = ['<text x="%d" y="18" font-family="sans-serif" font-size="14" font-weight="bold">'
           '%s</text>' % (x0 + PAD, escape(title)),
           '<line x1="%d" y1="30" x2="%d" y2="%d" stroke="#444"/>' % (x0 + PAD, x0 + PAD,
                                                                    H - PAD),
           '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444"/>' % (x0 + PAD, H - PAD,
                                                                    x0 + W - 10, H - PAD)]
    for s in sizes:
        out.append('<text x="%.0f" y="%d" font-family="sans-serif" font-size="11" '
                   'text-anchor="middle">%d</text>' % (xs[s], H - PAD + 16, s))
    out.append('<text x="%d" y="%d" font-family="sans-serif" font-size="11" '
               'text-anchor="middle">message size (bytes)</text>' % (x0 + W // 2 + 20, H - 22))
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        shown = 10 ** v if log_y else v
        yy = y(shown)
        out.append('<line x1="%d" y1="%.0f" x2="%d" y2="%.0f" stroke="#ddd"/>'
                   % (x0 + PAD, yy, x0 + W - 10, yy))
        out.append('<text x="%d" y="%.0f" font-family="sans-serif" font-size="10" '
                   'text-anchor="end">%s</text>' % (x0 + PAD - 4, yy + 3, "%.3g" % shown))
    out.append('<text x="%d" y="%d" font-family="sans-serif" font-size="11" '
               'transform="rotate(-90 %d %d)" text-anchor="middle">%s</text>'
               % (x0 + 14, H // 2, x0 + 14, H // 2, escape(unit)))
    for name, points in series.items():
        points = sorted(p for p in points if p[1] > 0)
        path = " ".join("%.1f,%.1f" % (xs[s], y(v)) for s, v in points)
        out.append('<polyline class="series" data-transport="%s" points="%s" fill="none" '
                   'stroke="%s" stroke-width="2"/>' % (name, path, COLORS.get(name, "#444")))
        for s, v in points:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>'
                       % (xs[s], y(v), COLORS.get(name, "#444")))
    return out


def svg(rows, overhead):
    lat = {}
    thr = {}
    for r in rows:
        lat.setdefault(r["transport"], []).append((r["size"], r["round_trip_us"]))
        thr.setdefault(r["transport"], []).append((r["size"], r["bytes_per_s"] / 1e6))
    width = 2 * W + 20
    out = ['<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" '
           'viewBox="0 0 %d %d">' % (width, H + 60, width, H + 60),
           '<title>System V message queues against pipes, POSIX queues and Unix '
           'sockets</title>', '<rect width="100%" height="100%" fill="white"/>']
    out += panel(0, "round trip (lower is better)", "microseconds", lat, True)
    out += panel(W + 20, "one-way throughput (higher is better)", "MB/s", thr, True)
    for i, name in enumerate(COLORS):
        x = PAD + i * 150
        out.append('<rect x="%d" y="%d" width="14" height="4" fill="%s"/>'
                   % (x, H + 12, COLORS[name]))
        out.append('<text x="%d" y="%d" font-family="sans-serif" font-size="12">%s</text>'
                   % (x + 18, H + 18, name))
    if overhead:
        out.append('<text x="%d" y="%d" font-family="sans-serif" font-size="11" fill="#555">'
                   'benchmark overhead: %+.1f%% against the plainest msgsnd/msgrcv loop</text>'
                   % (PAD, H + 44, overhead["percent"]))
    out.append("</svg>")
    return "\n".join(out) + "\n"


class BenchError(Exception):
    pass


def measure(bench, quick=False):
    """Run ipc-bench: (its rows, {transport, size, round_trip_us, bytes_per_s}, and its own
    overhead {size, ours_us, plain_us, percent}, or None)."""
    cmd = [bench, "-j"] + (["-s", "16,1024,8192", "-r", "200", "-m", "2000"] if quick else [])
    if os.geteuid() == 0 and shutil.which("unshare"):
        cmd = ["unshare", "--ipc"] + cmd  # its queues in an IPC namespace of their own
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise BenchError("ipc-bench failed:\n" + proc.stderr)
    rows, overhead = [], None
    for line in proc.stdout.splitlines():
        item = json.loads(line)
        if "overhead" in item:
            overhead = item["overhead"]
        else:
            rows.append(item)
    return rows, overhead


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", default=os.path.join(ROOT, "build", "bin", "ipc-bench"))
    p.add_argument("--svg", default=os.path.join(ROOT, "results", "ipc-bench.svg"))
    p.add_argument("--quick", action="store_true", help="fewer rounds and sizes (a check)")
    args = p.parse_args()
    try:
        rows, overhead = measure(args.bench, args.quick)
    except BenchError as e:
        print(e, file=sys.stderr)
        return 1
    print("%-12s %6s %14s %14s %12s" % ("transport", "size", "round trip us", "MB/s one way",
                                        "msgs/s"))
    for r in rows:
        print("%-12s %6d %14.2f %14.1f %12.0f" % (r["transport"], r["size"], r["round_trip_us"],
                                                 r["bytes_per_s"] / 1e6,
                                                 r["bytes_per_s"] / r["size"]))
    if overhead:
        print("own overhead: System V round trip of %d bytes %.2f us here, %.2f us in the "
              "plainest loop: %+.1f%% (target: within 10%%)"
              % (overhead["size"], overhead["ours_us"], overhead["plain_us"],
                 overhead["percent"]))
    os.makedirs(os.path.dirname(os.path.abspath(args.svg)), exist_ok=True)
    with open(args.svg, "w") as f:
        f.write(svg(rows, overhead))
    print("plot: %s" % os.path.relpath(args.svg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
