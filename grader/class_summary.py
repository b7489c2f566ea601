"""The class summary of make grade-class: summary.txt and summary.html (plots as inline SVG).

Per lab, the distribution of scores; per test, how many students failed it; the most common
failure messages (numbers and quoted text folded, so that the same mistake counts once); who
could not be graded and why; pairs of submissions that are suspiciously alike (similarity.py).
Student names and messages are the students' doing: escaped for the page (html.escape) and
through printable() for the text."""
import html
import json
import os
import re
import statistics

from safe_files import write_atomic
from safe_text import printable


def load(out, outcomes):
    """[(student, [lab result])] of the students graded (their summary.json)."""
    graded = []
    for student, folder, note in outcomes:
        if note:
            continue
        try:
            with open(os.path.join(out, "students", folder, "summary.json")) as f:
                graded.append((student, json.load(f)))
        except (OSError, ValueError):
            continue
    return graded


def folded(message):
    """A failure message with what varies between students folded: numbers, quoted text."""
    text = message.splitlines()[0] if message else ""
    text = re.sub(r'"[^"]*"', '"..."', text)
    text = re.sub(r"`[^`]*`", "`...`", text)
    text = re.sub(r"(?<![\w-])(0x[0-9a-f]+|\d+)(?![\w-])", "N", text)
    return text[:160]


def figures(graded, labs):
    """Per lab its scores, missing and not compiling; per test (failed, graded on it); per
    folded message, how many students got it. A lab missing or not compiling counts in its
    own figures, not as a failure of each of its tests."""
    per_lab, per_test, messages = {}, {}, {}
    for student, results in graded:
        for r in results:
            if r["lab"] not in labs:
                continue
            score = sum(t["score"] for t in r["tests"])
            possible = sum(t["points"] for t in r["tests"])
            lab = per_lab.setdefault(r["lab"], {"scores": [], "max": possible, "missing": 0,
                                                "not_compiling": 0})
            lab["scores"].append(score)
            if r.get("missing") or r["build_error"]:
                lab["missing" if r.get("missing") else "not_compiling"] += 1
                continue
            for t in r["tests"]:
                if t["status"] == "SKIP":
                    continue
                key = (r["lab"], t["name"])
                entry = per_test.setdefault(key, [0, 0])
                entry[1] += 1
                if t["status"] != "PASS":
                    entry[0] += 1
                    if t["status"] != "BLOCKED" and t["messages"]:
                        m = (r["lab"], t["name"], folded(t["messages"][0]))
                        messages[m] = messages.get(m, 0) + 1
    return per_lab, per_test, messages


def grouped(pairs, close=90):
    """Similar pairs as groups: per lab, the students linked by pairs at least close percent
    alike (a class's copies of one source are one line, not n(n-1)/2), then the other pairs.
    [(lab, [students], lowest percent, highest percent)]."""
    out = []
    for lab in sorted({p[0] for p in pairs}):
        parent = {}

        def root(x):
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x
        lab_pairs = [p for p in pairs if p[0] == lab]
        for _, a, b, pct in lab_pairs:
            if pct >= close:
                parent[root(a)] = root(b)
        groups = {}
        for _, a, b, pct in lab_pairs:
            if pct >= close:
                groups.setdefault(root(a), []).append((a, b, pct))
        inside = set()
        for members in groups.values():
            names = sorted({m for a, b, _ in members for m in (a, b)})
            pcts = [pct for _, _, pct in members]
            out.append((lab, names, min(pcts), max(pcts)))
            inside |= {(a, b) for a, b, _ in members}
        out += [(lab, [a, b], pct, pct) for _, a, b, pct in lab_pairs if (a, b) not in inside]
    out.sort(key=lambda g: (-g[3], -len(g[1]), g[0]))
    return out


def text_summary(graded, outcomes, labs, pairs):
    per_lab, per_test, messages = figures(graded, labs)
    out = ["Class summary: %d students, %d graded" % (len(outcomes), len(graded)), ""]
    for lab in labs:
        if lab not in per_lab:
            continue
        s = per_lab[lab]["scores"]
        out.append("%s: mean %.1f, median %g, min %d, max %d of %d; full marks: %d of %d; "
                   "missing: %d; not compiling: %d" % (
                       lab, statistics.mean(s), statistics.median(s), min(s), max(s),
                       per_lab[lab]["max"], sum(1 for x in s if x == per_lab[lab]["max"]),
                       len(s), per_lab[lab]["missing"], per_lab[lab]["not_compiling"]))
    out += ["", "Tests failed most often (students who failed / were graded on it):"]
    for (lab, name), (failed, n) in sorted(per_test.items(), key=lambda x: -x[1][0] / x[1][1]):
        if failed:
            out.append("  %3d%%  %d/%d  %s %s" % (100 * failed // n, failed, n, lab, name))
    out += ["", "Most common failure messages:"]
    for (lab, name, m), n in sorted(messages.items(), key=lambda x: -x[1])[:15]:
        out.append("  %3d  %s %s: %s" % (n, lab, name, m))
    problems = [(s, note) for s, _, note in outcomes if note]
    if problems:
        out += ["", "Not graded:"] + ["  %s: %s" % (s, note) for s, note in problems]
    out += ["", "Similar submissions (sim_c, skeleton lines left out, %s):" % (
        "above the threshold" if pairs["available"] else
        "not checked: install similarity-tester (apt-get install similarity-tester)")]
    out += ["  %s: %s, %s%% alike" % (lab, ", ".join(names[:-1]) + " and " + names[-1],
                                        lo if lo == hi else "%d-%d" % (lo, hi))
            for lab, names, lo, hi in grouped(pairs["pairs"])]
    if pairs["available"] and not pairs["pairs"]:
        out.append("  none")
    return printable("\n".join(out) + "\n")


def svg_bars(title, bars, width=560, bar_height=16, max_value=None):
    """A horizontal bar chart as SVG: bars = [(label, value, shown value)]."""
    max_value = max_value or max([v for _, v, _ in bars] + [1])
    label_w, top = 220, 24
    height = top + bar_height * len(bars) + 8
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img" '
             'aria-label="%s">' % (width, height, html.escape(title)),
             '<text x="0" y="14" font-size="13" font-weight="bold">%s</text>'
             % html.escape(title)]
    for i, (label, value, shown) in enumerate(bars):
        y = top + i * bar_height
        w = (width - label_w - 60) * value / max_value if max_value else 0
        parts.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>'
                     % (label_w - 6, y + 11, html.escape(label)))
        parts.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="#4a7ab5"/>'
                     % (label_w, y + 2, w, bar_height - 4))
        parts.append('<text x="%.1f" y="%d" font-size="11">%s</text>'
                     % (label_w + w + 4, y + 11, html.escape(shown)))
    parts.append("</svg>")
    return "\n".join(parts)


def html_summary(graded, outcomes, labs, pairs):
    per_lab, per_test, messages = figures(graded, labs)
    e = html.escape
    body = ["<h1>Class summary</h1>",
            "<p>%d students, %d graded.</p>" % (len(outcomes), len(graded))]
    for lab in labs:
        if lab not in per_lab:
            continue
        s, top = per_lab[lab]["scores"], per_lab[lab]["max"]
        bins = {}
        for x in s:
            bins[x] = bins.get(x, 0) + 1
        bars = [("%d / %d" % (score, top), bins.get(score, 0), str(bins.get(score, 0)))
                for score in range(top, -1, -1) if bins.get(score)]
        body.append("<h2>%s</h2><p>mean %.1f, median %g</p>" % (
            e(lab), statistics.mean(s), statistics.median(s)))
        body.append(svg_bars("%s: students per score" % lab, bars))
    failing = sorted(((k, v) for k, v in per_test.items() if v[0]),
                     key=lambda x: -x[1][0] / x[1][1])[:25]
    if failing:
        body.append("<h2>Tests failed most often</h2>")
        body.append(svg_bars("share of students who failed", [
            ("%s %s" % (lab[:2], name), 100 * f / n, "%d%% (%d/%d)" % (100 * f // n, f, n))
            for (lab, name), (f, n) in failing], max_value=100))
    common = sorted(messages.items(), key=lambda x: -x[1])[:15]
    if common:
        body.append("<h2>Most common failure messages</h2><table><tr><th>students</th>"
                    "<th>test</th><th>message</th></tr>")
        body += ["<tr><td>%d</td><td>%s %s</td><td>%s</td></tr>" % (n, e(lab), e(name), e(m))
                 for (lab, name, m), n in common]
        body.append("</table>")
    problems = [(s, note) for s, _, note in outcomes if note]
    if problems:
        body.append("<h2>Not graded</h2><ul>%s</ul>" % "".join(
            "<li>%s: %s</li>" % (e(s), e(n)) for s, n in problems))
    body.append("<h2>Similar submissions</h2>")
    if not pairs["available"]:
        body.append("<p>Not checked: install similarity-tester.</p>")
    elif not pairs["pairs"]:
        body.append("<p>None above the threshold (sim_c, skeleton lines left out).</p>")
    else:
        body.append("<table><tr><th>lab</th><th>students</th><th>similarity</th></tr>%s"
                    "</table>" % "".join(
                        "<tr><td>%s</td><td>%s</td><td>%s%%</td></tr>"
                        % (e(lab), e(", ".join(names)), lo if lo == hi else "%d-%d" % (lo, hi))
                        for lab, names, lo, hi in grouped(pairs["pairs"])))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Class summary</title><style>body{font-family:sans-serif;max-width:60em;"
            "margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:2px 6px;text-align:left}</style></head><body>\n%s\n</body></html>\n"
            % "\n".join(body))


def write(out, outcomes, labs, pairs):
    graded = load(out, outcomes)
    write_atomic(os.path.join(out, "summary.txt"), text_summary(graded, outcomes, labs, pairs))
    write_atomic(os.path.join(out, "summary.html"), html_summary(graded, outcomes, labs, pairs))
