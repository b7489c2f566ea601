"""A run's message flow as a sequence diagram: one lane per process, one column per queue.

From msgflow's events (demo/msgflow.c: the call record, one JSON object per line), rows() makes
the diagram's rows in time order, and text_row() draws one for a terminal: plain ANSI, any
width from 60 columns, colour only where wanted. Each message is two arrows, into the queue at
its msgsnd and out at its msgrcv, labelled with its mtype, its text and its size; a call that
blocked shows where it began waiting; the queue's column shows its fill against msg_qbytes.
"""
import json
import os
import signal
import struct
import unicodedata

IPC_RMID, IPC_SET, IPC_STAT = 0, 1, 2
ERRNO = {1: "EPERM", 2: "ENOENT", 4: "EINTR", 7: "E2BIG", 11: "EAGAIN", 13: "EACCES",
         14: "EFAULT", 17: "EEXIST", 22: "EINVAL", 28: "ENOSPC", 42: "ENOMSG", 43: "EIDRM"}
BLOCKED_US = 1000  # a call that took longer than this waited in the kernel
MSGMNB = 16384  # msg_qbytes of a new queue: the kernel's default


def load(lines):
    """msgflow's output (an iterable of lines) as a list of events."""
    return [json.loads(line) for line in lines if line.strip()]


def text_of(event):
    """A message's bytes as text: printable as is, the rest as \\xNN; and whether it was cut."""
    data = bytes.fromhex(event.get("hex", ""))
    shown = "".join(chr(b) if 32 <= b < 127 else "\\x%02x" % b for b in data)
    return shown, event.get("len", 0) > len(data)


def signal_name(number):
    """SIGTERM for 15; "" for 0 or a number no signal has."""
    try:
        return signal.Signals(number).name if number else ""
    except ValueError:
        return "signal %d" % number


FIELD_TYPES = {"i32": "<i", "i64": "<q", "u32": "<I", "u64": "<Q"}


def lab_decoder(lab_dir):
    """The decoder of a lab's binary messages (grader/LAB/demo.json's "decode"), or None."""
    try:
        with open(os.path.join(lab_dir, "demo.json")) as f:
            layouts = json.load(f).get("decode")
    except (OSError, ValueError):
        return None
    return decoder(layouts) if layouts else None


def decoder(layouts):
    """A function giving a binary message's fields as text (or None when no layout fits), from
    a lab's demo.json "decode" list: each layout {"mtype": N (optional), "size": bytes,
    "fields": [[name, i32|i64|u32|u64]...] in order, "names": {field: {value: word}},
    "show": "{field} ..."}. The first layout whose mtype and size match the message wins."""
    def decode(event, size):
        data = bytes.fromhex(event.get("hex", ""))
        for layout in layouts or []:
            if "mtype" in layout and layout["mtype"] != event.get("mtype"):
                continue
            if size != layout["size"] or len(data) != size:
                continue
            values, at = {}, 0
            for name, kind in layout["fields"]:
                fmt = FIELD_TYPES[kind]
                (value,) = struct.unpack_from(fmt, data, at)
                at += struct.calcsize(fmt)
                values[name] = layout.get("names", {}).get(name, {}).get(str(value), value)
            return layout["show"].format(**values)
        return None
    return decode


class Names:
    """What each process is called: the program it runs where that differs from its parent's
    (programs: {pid: program}), numbered where several run it (client 1, client 2...);
    otherwise `child 1`, `child 2`... of the first process, and `child 1.1`... of those."""

    def __init__(self, events, programs):
        self.names, self.order = {}, []
        first = next((e["pid"] for e in events if e.get("ppid") == 1), None)
        if first is not None:
            self._add(first, programs.get(first, "main"))
        counts, runs = {}, {}
        for e in events:
            if e["call"] == "fork" and e["ret"] > 0 and e["pid"] in self.names:
                child, parent = e["ret"], e["pid"]
                own = programs.get(child)
                if own and own != programs.get(parent):
                    runs[own] = runs.get(own, 0) + 1
                    self._add(child, own if runs[own] == 1 else "%s %d" % (own, runs[own]))
                    continue
                counts[parent] = counts.get(parent, 0) + 1
                prefix = "child " if parent == first else self.names[parent] + "."
                self._add(child, "%s%d" % (prefix, counts[parent]))
        # A program run more than once: its first is number 1 as well.
        for pid, name in list(self.names.items()):
            if runs.get(name, 0) > 1:
                self.names[pid] = name + " 1"
        for e in events:  # processes the record met without their fork
            if e["pid"] not in self.names:
                self._add(e["pid"], "pid %d" % e["pid"])

    def _add(self, pid, name):
        if pid not in self.names:
            self.names[pid] = name
            self.order.append(pid)

    def __getitem__(self, pid):
        return self.names.get(pid, "pid %d" % pid)


def removal(e, events):
    """The msgctl(IPC_RMID) that ended e (a call that failed with EIDRM): of its queue, begun
    before e ended (its own end may be stamped later); None if the record has none."""
    found = [x for x in events if x["call"] == "msgctl" and x.get("cmd") == IPC_RMID and
             x["ret"] == 0 and x.get("msqid") == e.get("msqid") and
             x["t_us"] - x["dur_us"] <= e["t_us"]]
    return found[-1] if found else None


def change(e):
    """(messages, bytes) a call added to its queue: a msgsnd that succeeded adds one, a msgrcv
    that did takes one away; anything else (0, 0)."""
    if e["ret"] < 0 or e["call"] not in ("msgsnd", "msgrcv"):
        return 0, 0
    return (1, e.get("len", 0)) if e["call"] == "msgsnd" else (-1, -e["ret"])


def causal(events):
    """The events with each msgrcv after the msgsnd of its message, and each EIDRM after the
    removal of its queue. strace stamps each process's calls as it sees them, so a receiver woken
    by a send may seem to end first; the message is matched by queue, mtype and bytes, first sent
    first taken (the record's order otherwise); a receive keeps its send's end as sent_us."""
    sent, moved = {}, {}
    for i, e in enumerate(events):
        if e["call"] == "msgsnd" and e["ret"] == 0:
            sent.setdefault((e.get("msqid"), e.get("mtype"), e.get("hex")), []).append(e)
    for i, e in enumerate(events):
        if e["ret"] < 0 and e.get("err") == 43:  # EIDRM: after the removal that caused it
            removed = removal(e, events)
            if removed is not None and removed["t_us"] >= e["t_us"]:
                late = removed["t_us"] + 1 - e["t_us"]
                moved[i] = dict(e, t_us=e["t_us"] + late, dur_us=e["dur_us"] + late)
        if e["call"] == "msgrcv" and e["ret"] >= 0:
            waiting = sent.get((e.get("msqid"), e.get("mtype"), e.get("hex")))
            if waiting:
                send = waiting.pop(0)
                late = max(0, send["t_us"] + 1 - e["t_us"])  # just after the send
                moved[i] = dict(e, t_us=e["t_us"] + late, dur_us=e["dur_us"] + late,
                                sent_us=send["t_us"])
    out = [moved.get(i, e) for i, e in enumerate(events)]
    return sorted(out, key=lambda e: e["t_us"])  # stable: same-time events keep their order


def rows(events, programs=None, qbytes=MSGMNB, decode=None):
    """The diagram's rows, in time order: dicts with t_us, lane (a pid), kind and what to show.
    kinds: note (text in the lane), send / receive (an arrow between the lane and a queue's
    column, with the message, its fields where decode (a decoder) reads them), wait (a call
    that blocked begins), queue (a queue made or removed)."""
    names = Names(events, programs or {})
    events = causal(events)
    queues, fill, out = [], {}, []
    for e in events:  # made here, or by a set-up before the record began
        q = e["ret"] if e["call"] == "msgget" else e.get("msqid", -1)
        if e["ret"] >= 0 and q is not None and q >= 0 and q not in queues:
            queues.append(q)
    # What a queue held before the record starts (a set-up's messages, untraced): as much as
    # its contents would otherwise go below empty.
    for q in queues:
        msgs = size = low_msgs = low_size = 0
        for e in events:
            if e.get("msqid") == q:
                added = change(e)
                msgs, size = msgs + added[0], size + added[1]
                low_msgs, low_size = min(low_msgs, msgs), min(low_size, size)
        fill[q] = [-low_msgs, -low_size]  # messages, bytes
    timeline = []
    for e in events:
        if waited(e, events, qbytes):
            timeline.append((e["t_us"] - e["dur_us"], 0, {"kind": "wait", "event": e}))
        timeline.append((e["t_us"], 1, {"kind": "end", "event": e}))
    timeline.sort(key=lambda x: (x[0], x[1]))
    for t, _, item in timeline:
        e = item["event"]
        row = {"t_us": t, "lane": e["pid"], "who": names[e["pid"]]}
        call, ret = e["call"], e["ret"]
        failed = ret < 0
        why = ERRNO.get(e.get("err"), "errno %s" % e.get("err")) if failed else ""
        if item["kind"] == "wait":
            row.update(kind="note", text="%s: waiting…" % call, waiting=True)
        elif call in ("msgsnd", "msgrcv") and not failed:
            q = e["msqid"]
            if q in fill:
                added = change(e)
                fill[q] = [fill[q][0] + added[0], fill[q][1] + added[1]]
            size = e.get("len", 0) if call == "msgsnd" else ret
            fields = decode(e, size) if decode else None
            text, cut = (fields, False) if fields is not None else text_of(e)
            row.update(kind="send" if call == "msgsnd" else "receive", queue=q,
                       mtype=e.get("mtype"), text=text, cut=cut, size=size,
                       decoded=fields is not None,
                       fill=tuple(fill.get(q, (0, 0))), qbytes=qbytes)
        elif call == "msgget":
            # Made for sure only with IPC_PRIVATE or IPC_CREAT | IPC_EXCL; else maybe found.
            made = e.get("key") == 0 or (e.get("flags", 0) & 0o3000) == 0o3000
            row.update(kind="queue" if not failed else "note", queue=ret, made=made,
                       text="msgget: queue %d" % ret if not failed else "msgget: " + why)
        elif call == "msgctl":
            cmd = {IPC_RMID: "IPC_RMID", IPC_SET: "IPC_SET", IPC_STAT: "IPC_STAT",
                   3: "IPC_INFO", 11: "MSG_STAT", 12: "MSG_INFO", 13: "MSG_STAT_ANY"}.get(
                e.get("cmd"), "cmd %s" % e.get("cmd"))
            row.update(kind="queue" if cmd == "IPC_RMID" and not failed else "note",
                       queue=e.get("msqid"), removed=cmd == "IPC_RMID" and not failed,
                       text="msgctl %s%s" % (cmd, ": " + why if failed else ""))
        elif call == "fork":
            row.update(kind="note", text="fork: %s" % names[ret] if ret > 0 else "fork: " + why)
        elif call == "wait":
            killer = signal_name(e.get("signal", 0))
            if ret <= 0:
                row.update(kind="note", text="wait: " + why)
            elif killer:  # the child's own lane says so too: it never exited by itself
                row.update(kind="note", text="wait: %s killed by %s" % (names[ret], killer))
                out.append({"t_us": t, "lane": ret, "who": names[ret], "kind": "note",
                            "text": "killed by %s" % killer, "error": True})
            else:
                status = e.get("status", 0)
                row.update(kind="note", text="wait: %s ended%s" % (
                    names[ret], ", exit %d" % status if status > 0 else ""))
        elif call == "exit":
            row.update(kind="note", text="exit %d" % ret)
        else:  # a failed msgsnd or msgrcv
            row.update(kind="note", text="%s: %s" % (call, why), error=True)
        out.append(row)
    return names, queues, out


def message_label(r, room):
    """[mtype] "text" N B, in room columns ({fields} for a decoded message): the size goes
    first, then the text is cut."""
    o, c = "{}" if r.get("decoded") else '""'
    text = r["text"] + ("…" if r["cut"] else "")
    full = '[%s] %s%s%s %d B' % (r["mtype"], o, text, c, r["size"])
    if width_of(full) <= room:
        return full
    keep = room - width_of('[%s] %s…%s %d B' % (r["mtype"], o, c, r["size"]))
    if keep >= 4:  # the size stays; the text is cut
        return '[%s] %s%s…%s %d B' % (r["mtype"], o, r["text"][:keep], c, r["size"])
    short = '[%s] %s%s%s' % (r["mtype"], o, text, c)
    if width_of(short) <= room:
        return short
    keep = max(0, room - width_of('[%s] %s…%s' % (r["mtype"], o, c)))
    return fit('[%s] %s%s…%s' % (r["mtype"], o, text[:keep], c), room).rstrip()


def waited(e, events, qbytes):
    """Did the call (of causal(events)) wait in the kernel for another process? (Not: was it slow; a loaded machine
    or the tracer makes any call slow.) A msgrcv that began before its message was sent; a
    wait that began before its child ended; a msgsnd that found the queue too full; a call
    that failed with EIDRM having begun before its queue was removed; one interrupted (EINTR)
    after a while."""
    start = e["t_us"] - e["dur_us"]
    if e["call"] == "msgrcv" and e["ret"] >= 0:  # its send, as causal() matched it
        return "sent_us" in e and start < e["sent_us"]
    if e["call"] == "wait" and e["ret"] > 0:
        ended = [x for x in events if x["call"] == "exit" and x["pid"] == e["ret"]]
        return bool(ended) and start < ended[0]["t_us"]
    if e["call"] == "msgsnd" and e["ret"] == 0:
        held = sum(change(x)[1] for x in events
                   if x["t_us"] < start and x.get("msqid") == e.get("msqid"))
        return held + e.get("len", 0) > qbytes
    if e["ret"] < 0 and e.get("err") == 43:  # EIDRM: it was waiting when the queue went
        removed = removal(e, events)
        return removed is not None and start < removed["t_us"]
    return e["ret"] < 0 and e.get("err") == 4 and e["dur_us"] >= BLOCKED_US


def width_of(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def fit(s, n):
    """s cut to n columns (with … where cut) and padded to exactly n (none if n <= 0)."""
    n = max(0, n)
    if width_of(s) > n:
        s = s[:max(0, n - 1)] + ("…" if n else "")
        while width_of(s) > n:
            s = s[:-2] + "…"
    return s + " " * (n - width_of(s))


class Layout:
    """Columns: time, one per process lane, one per queue; sized to the terminal's width."""

    TIME = 8

    def __init__(self, names, queues, width, unicode=True, color=False):
        self.lanes, self.queues = list(names.order), list(queues)
        self.names, self.unicode, self.color = names, unicode, color
        self.qwidth = 14
        room = width - self.TIME - self.qwidth * len(self.queues)
        self.lane = max(4, room // max(1, len(self.lanes)))
        self.width = self.TIME + self.lane * len(self.lanes) + self.qwidth * len(self.queues)
        self.max_width = width
        # Lanes too narrow for their names are lettered, with a legend above.
        self.letters = any(width_of(names[p]) >= self.lane for p in self.lanes)

    def paint(self, s, pid):
        if not self.color or pid not in self.lanes:
            return s
        return "\x1b[%dm%s\x1b[0m" % (31 + self.lanes.index(pid) % 6, s)

    def lane_name(self, i):
        return chr(ord("A") + i) if self.letters and i < 26 else self.names[self.lanes[i]]

    def header(self):
        legend = []
        if self.letters:
            line = "lanes:"
            for i, p in enumerate(self.lanes):
                item = " %s %s" % (self.lane_name(i), self.names[p])
                if width_of(line + item) > self.max_width:
                    legend.append(line)
                    line = "      "
                line += item
            legend.append(line)
        cells = [fit("time ms", self.TIME)]
        cells += [self.paint(fit(self.lane_name(i), self.lane), p)
                  for i, p in enumerate(self.lanes)]
        cells += [fit("queue %d" % q, self.qwidth) for q in self.queues]
        rule = ("─" if self.unicode else "-") * self.width
        return legend + ["".join(cells).rstrip(), rule]

    def bar(self, fill, qbytes):
        msgs, used = fill
        slots = self.qwidth - 6
        full = min(slots, round(slots * used / qbytes)) if qbytes else 0
        if used and not full:
            full = 1
        on, off = ("█", "·") if self.unicode else ("#", ".")
        return fit("%s %d" % (on * full + off * (slots - full), msgs), self.qwidth)

    def row(self, r, t0):
        """One row as text (the time, the lanes, the queues)."""
        cells = [" " * self.lane for _ in self.lanes]
        qcells = [" " * self.qwidth for _ in self.queues]
        i = self.lanes.index(r["lane"]) if r["lane"] in self.lanes else 0
        if r["kind"] in ("send", "receive") and r["queue"] in self.queues:
            k = self.queues.index(r["queue"])
            span = self.lane * (len(self.lanes) - i) - 1  # from this lane to the queues
            dash, right, left = ("─", "►", "◄") if self.unicode else ("-", ">", "<")
            inner = span - 4
            text = " %s " % message_label(r, inner - 2)
            if r["kind"] == "send":
                arrow = dash * 2 + text + dash * max(0, inner - width_of(text)) + dash + right
            else:
                arrow = left + dash + text + dash * max(0, inner - width_of(text)) + dash * 2
            arrow = self.paint(fit(arrow, span) + " ", r["lane"])
            qcells[k] = self.bar(r["fill"], r["qbytes"])
            line = "".join(cells[:i]) + arrow
            return (fit("%7.1f" % ((r["t_us"] - t0) / 1000), self.TIME) + line +
                    "".join(qcells)).rstrip()
        text = r["text"]
        if r["kind"] == "queue" and r["queue"] in self.queues:
            k = self.queues.index(r["queue"])
            qcells[k] = fit("removed" if r.get("removed") else "made" if r.get("made")
                            else "opened", self.qwidth)
        # One event a row: a note may run on over the lanes to its right, all empty, and over
        # the queues' columns when it says nothing of a queue.
        room = self.lane * (len(self.lanes) - i)
        if r["kind"] != "queue":
            room, qcells = room + self.qwidth * len(self.queues), []
        note = self.paint(fit(text, room), r["lane"])
        return (fit("%7.1f" % ((r["t_us"] - t0) / 1000), self.TIME) + "".join(cells[:i]) +
                note + "".join(qcells)).rstrip()
