"""A run's message flow as an SVG sequence diagram (for handouts, reports and transcripts).

The same rows as the terminal's (flow.rows): a lane per process, a column per queue, time going
down; each message an arrow into the queue and one out of it, labelled [mtype] "text" size; a
call that waited drawn as a dashed stretch of its lane; notes (fork, wait, exit, errors) beside
their lane. Plain SVG 1.1, no script, no external reference: it shows as an <img>.
"""
import os
import re
import subprocess
from xml.sax.saxutils import escape

import flow
import recorded_run

LANE_W = 200
QUEUE_W = 150
ROW_H = 22
TOP = 56
LEFT = 60
COLORS = ["#c0392b", "#2471a3", "#1e8449", "#7d3c98", "#b9770e", "#117a65"]


def _text(x, y, s, anchor="start", size=12, color="#222", weight="normal"):
    return ('<text x="%d" y="%d" font-family="monospace" font-size="%d" fill="%s" '
            'text-anchor="%s" font-weight="%s">%s</text>'
            % (x, y, size, color, anchor, weight, escape(s)))


def _waited(x, y0, y1, color):
    """A lane's stretch from y0 to y1 spent waiting in the kernel."""
    return ('<line class="waited" x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="5" '
            'stroke-dasharray="3,3" opacity="0.5"/>' % (x, y0, x, y1, color))


def label(r, limit=36):
    text = r["text"] if len(r["text"]) <= limit else r["text"][:limit - 1] + "…"
    o, c = "{}" if r.get("decoded") else '""'
    return '[%s] %s%s%s%s %d B' % (r["mtype"], o, text, c, "…" if r["cut"] else "", r["size"])


def svg(names, queues, rows, title=""):
    lanes = list(names.order)
    lane_x = {pid: LEFT + LANE_W * i + LANE_W // 2 for i, pid in enumerate(lanes)}
    queue_x = {q: LEFT + LANE_W * len(lanes) + QUEUE_W * i + QUEUE_W // 2
               for i, q in enumerate(queues)}
    width = LEFT + LANE_W * len(lanes) + QUEUE_W * len(queues) + 20
    height = TOP + ROW_H * (len(rows) + 1) + 20
    t0 = rows[0]["t_us"] if rows else 0
    out = ['<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" '
           'viewBox="0 0 %d %d">' % (width, height, width, height),
           '<title>%s</title>' % escape(title or "message flow"),
           '<defs><marker id="head" markerWidth="8" markerHeight="8" refX="7" refY="4" '
           'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#444"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    if title:
        out.append(_text(8, 18, title, size=14, weight="bold"))
    bottom = TOP + ROW_H * (len(rows) + 1)
    for i, pid in enumerate(lanes):
        color = COLORS[i % len(COLORS)]
        out.append(_text(lane_x[pid], TOP - 12, names[pid], "middle", 13, color, "bold"))
        out.append('<line class="lane" x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" '
                   'stroke-width="1.5"/>' % (lane_x[pid], TOP - 6, lane_x[pid], bottom, color))
    for q in queues:
        out.append(_text(queue_x[q], TOP - 12, "queue %d" % q, "middle", 13, "#444", "bold"))
        out.append('<rect class="queue" x="%d" y="%d" width="14" height="%d" fill="#eee" '
                   'stroke="#888"/>' % (queue_x[q] - 7, TOP - 6, bottom - TOP + 6))
    waiting = {}
    for n, r in enumerate(rows):
        y = TOP + ROW_H * (n + 1)
        x = lane_x.get(r["lane"], LEFT)
        color = COLORS[lanes.index(r["lane"]) % len(COLORS)] if r["lane"] in lanes else "#222"
        out.append(_text(8, y + 4, "%.1f" % ((r["t_us"] - t0) / 1000), size=10, color="#888"))
        if r["kind"] in ("send", "receive") and r["queue"] in queue_x:
            if r["lane"] in waiting:  # the wait this arrow ends
                out.append(_waited(x, waiting.pop(r["lane"]), y, color))
            qx = queue_x[r["queue"]]
            x1, x2 = (x, qx - 8) if r["kind"] == "send" else (qx - 8, x)
            out.append('<line class="%s" x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444" '
                       'stroke-width="1.2" marker-end="url(#head)"/>'
                       % (r["kind"], x1, y, x2 + (-2 if x2 > x1 else 2), y))
            out.append(_text((x + qx) // 2, y - 4, label(r), "middle", 11, color))
            out.append(_text(qx + 12, y + 4, "%d msg, %d B" % r["fill"], size=10,
                             color="#666"))
            continue
        if r.get("waiting"):
            waiting[r["lane"]] = y
        elif r["lane"] in waiting and r["kind"] == "note":
            out.append(_waited(x, waiting.pop(r["lane"]), y, color))
        out.append('<circle cx="%d" cy="%d" r="3" fill="%s"/>' % (x, y, color))
        out.append(_text(x + 6, y + 4, r["text"], size=11,
                         color="#b03a2e" if r.get("error") else color))
        if r["kind"] == "queue" and r.get("queue") in queue_x:
            out.append(_text(queue_x[r["queue"]] + 12, y + 4,
                             "removed" if r.get("removed") else "made" if r.get("made")
                             else "opened", size=10, color="#666"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def side_by_side(left, right, gap=24):
    """Two of these diagrams in one picture, left and right, tops aligned (each keeps its own
    title); their arrowheads' ids made distinct."""
    parts = []
    for n, picture in enumerate((left, right)):
        m = re.match(r'<svg [^>]*width="(\d+)" height="(\d+)"[^>]*>', picture)
        body = picture[m.end():picture.rindex("</svg>")]
        body = body.replace('id="head"', 'id="head%d"' % n).replace("url(#head)",
                                                                     "url(#head%d)" % n)
        parts.append((int(m.group(1)), int(m.group(2)), body))
    width = parts[0][0] + gap + parts[1][0]
    height = max(parts[0][1], parts[1][1])
    out = ['<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" '
           'viewBox="0 0 %d %d">' % (width, height, width, height),
           '<rect width="100%" height="100%" fill="white"/>']
    x = 0
    for w, h, body in parts:
        out.append('<svg x="%d" y="0" width="%d" height="%d" viewBox="0 0 %d %d">%s</svg>'
                   % (x, w, h, w, h, body))
        x += w + gap
    out.append('<line x1="%d" y1="0" x2="%d" y2="%d" stroke="#bbb" stroke-dasharray="4,4"/>'
               % (parts[0][0] + gap // 2, parts[0][0] + gap // 2, height))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def record_svg(msgflow, trace, main_pid, program, title, decode=None):
    """A call record drawn, or None when msgflow cannot read it."""
    try:
        events = subprocess.run([msgflow, trace, str(main_pid)], capture_output=True, text=True,
                                check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return svg(*flow.rows(flow.load(events.splitlines()), programs={main_pid: program},
                          decode=decode), title)


def transcript_diagrams(test_dir, msgflow, program, title, expected=None, expected_runs=1,
                        decode=None):
    """runN.svg beside each runN.strace of a test's transcript (the main process named after
    the lab's program, binary messages read by decode); returns [(its path, whether the
    reference's run is drawn beside it)]. A record msgflow cannot read is left without one.
    expected(runN.replay), where given, runs the reference solution the same way and returns
    its (record, main pid): the first expected_runs runs are then drawn beside it."""
    made = []
    for name in sorted(os.listdir(test_dir), key=lambda n: [int(x) if x.isdigit() else x
                                                            for x in re.split(r"(\d+)", n)]):
        m = re.fullmatch(r"(run\d+)\.strace", name)
        if not m:
            continue
        base = os.path.join(test_dir, m.group(1))
        main_pid = recorded_run.main_pid(base + ".sandbox")
        if main_pid is None:
            continue
        picture = record_svg(msgflow, base + ".strace", main_pid, program,
                             "%s, %s: your program" % (title, m.group(1)) if expected
                             else "%s, %s" % (title, m.group(1)), decode)
        if picture is None:
            continue
        theirs = None
        if expected and len(made) < expected_runs and os.path.exists(base + ".replay"):
            reference = expected(base + ".replay")
            theirs = reference and record_svg(msgflow, reference[0], reference[1], program,
                                              "the reference solution, the same run", decode)
        with open(base + ".svg", "w") as f:
            f.write(side_by_side(picture, theirs) if theirs else picture)
        made.append((base + ".svg", bool(theirs)))
    return made
