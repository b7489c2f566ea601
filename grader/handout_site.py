#!/usr/bin/env python3
"""make handouts: every handout as a page of a static web site, for a course's pages or a
projector.

  site.py [--out build/site] [--quick] [--build build]

Each lab's page is its handout (handouts/NN-name.md, rendered by pandoc) with a "See it run"
section: the lab's demo scenarios (grader/NN-name/demo.json) run by the reference solution in the
sandbox under the call record and drawn as SVG sequence diagrams, as `make demo` draws them in a
terminal. The rubric and contract tables are the handout's own (make handouts refreshes them
first). The calls the text names link to their manual pages, rendered from the machine's own
(Debian's manpages-dev) into man/, so that the site has no link out of itself. ipc-bench.html
explains `make ipc-bench`'s figures, measured when the site is built (--quick: fewer).

The site is plain HTML and SVG with one style sheet and no script; tests/run.py
check_handouts_site loads every page in headless Chromium.
"""
import argparse
import datetime
import gzip
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "demo"))
import demo  # noqa: E402
import grade  # noqa: E402
import ipc_plot  # noqa: E402
import version  # noqa: E402

MAN_ROOT = "/usr/share/man"
# The calls and commands a code span may name that get a link to their manual page (the first
# mention on a page): the course's own, not every word that happens to have a page (`true`).
LINKED = ("msgget msgsnd msgrcv msgctl ftok ipcs ipcrm sysvipc fork wait waitpid _exit exit "
          "kill sigaction signal sigprocmask pause alarm nanosleep clock_gettime getpid getppid "
          "perror strerror fflush setvbuf errno strace pipe socketpair mq_open mq_send "
          "mq_receive mq_overview unix atexit execve abort strtol getopt proc").split()
SECTIONS = ("2", "3", "1", "7", "5", "8")
SEE_IT_RUN_BEFORE = "## The program contract"


class SiteError(Exception):
    pass


def pandoc(args, text):
    if not shutil.which("pandoc"):
        raise SiteError("pandoc is missing: apt-get install pandoc")
    proc = subprocess.run(["pandoc"] + args, input=text, capture_output=True, text=True)
    if proc.returncode:
        raise SiteError("pandoc %s: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout


# ---- manual pages ----

def man_source(name, section=None):
    """(section, path) of name's page on this machine, or None. Without a section, a page of
    its own comes before one that only points elsewhere (exit(2) is _exit(2): exit(3))."""
    found = []
    for s in (section,) if section else SECTIONS:
        path = os.path.join(MAN_ROOT, "man" + s, "%s.%s.gz" % (name, s))
        if os.path.exists(path):
            found.append((s, path))
    own = [(s, path) for s, path in found if not redirect_elsewhere(name, path)]
    return (own or found or [None])[0]


def redirect_elsewhere(name, path):
    """Whether the page is another's: a `.so` to it, or a copy titled with its name."""
    with gzip.open(path, "rt", errors="replace") as f:
        head = f.read(8192)
    m = re.search(r"^\.(?:so\s+\S*/|TH\s+\"?)([^/\s\"]+?)(?:\.\w+)?[\s\"]", head, re.M)
    return bool(m) and m.group(1).lower() != name.lower()


def man_text(path, depth=0):
    """The page's roff source, following `.so` (msgrcv.2 is msgsnd.2)."""
    with gzip.open(path, "rt", errors="replace") as f:
        text = f.read()
    m = re.match(r"\s*\.so\s+(\S+)", text)
    if m and depth < 3:
        return man_text(os.path.join(MAN_ROOT, m.group(1) + ".gz"), depth + 1)
    return text


def groff_text(source):
    """The page laid out by groff, 78 columns, bold and italics as terminals once printed them
    (c BACKSPACE c, _ BACKSPACE c)."""
    proc = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-rLL=78n", "-P-c"],
                          input=source, capture_output=True, text=True)
    if proc.returncode:
        raise SiteError("groff: %s (apt-get install groff-base)" % proc.stderr.strip())
    return proc.stdout


def overstrike_html(text, available):
    """groff's overstruck text as HTML: <b>, <i>, and a link for each name(N) in available."""
    chars, styles, i = [], [], 0
    while i < len(text):
        if i + 2 < len(text) and text[i + 1] == "\b":
            first, j = text[i], i + 2
            while j + 2 < len(text) and text[j + 1] == "\b":
                j += 2
            chars.append(text[j])
            styles.append("i" if first == "_" and text[j] != "_" else "b")
            i = j + 1
        else:
            chars.append(text[i])
            styles.append("")
            i += 1
    plain = "".join(chars)
    links = {}
    for m in re.finditer(r"\b([A-Za-z_][\w.-]*)\(([1-8])\)", plain):
        if (m.group(1), m.group(2)) in available:
            links[m.start()] = (m.end(), "%s.%s.html" % (m.group(1), m.group(2)))
    out, style, link_end = [], "", None
    for k, (c, st) in enumerate(zip(chars, styles)):
        if link_end == k:
            out.append("</%s>" % style if style else "")
            out.append("</a>")
            style, link_end = "", None
        if k in links and link_end is None:
            out.append("</%s>" % style if style else "")
            style = ""
            link_end, href = links[k]
            out.append('<a href="%s">' % href)
        if st != style:
            out.append(("</%s>" % style if style else "") + ("<%s>" % st if st else ""))
            style = st
        out.append(html.escape(c))
    out.append("</%s>" % style if style else "")
    if link_end is not None:
        out.append("</a>")
    return "".join(out)


def man_file(name, section):
    return "man/%s.%s.html" % (name, section)


# ---- the pandoc AST ----

def inline_text(inlines):
    out = []
    for i in inlines:
        if i["t"] == "Str":
            out.append(i["c"])
        elif i["t"] in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif i["t"] == "Code":
            out.append(i["c"][1])
        elif i["t"] in ("Emph", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps"):
            out.append(inline_text(i["c"]))
        elif i["t"] in ("Link", "Span"):
            out.append(inline_text(i["c"][1]))
    return "".join(out)


def link(inlines, url, title=""):
    return {"t": "Link", "c": [["", [], []], inlines, [url, title]]}


class ManLinker:
    """Links code spans that name a course call (`msgsnd`, `msgctl(id, IPC_RMID, NULL)`), the
    first on each page, and every `name(N)` reference, to the rendered manual pages; collects
    the pages wanted."""

    def __init__(self, prefix):
        self.prefix = prefix  # from the page to the site's root
        self.wanted = set()
        self.seen = set()

    def target(self, name, section=None):
        found = man_source(name, section)
        return (name, found[0]) if found else None

    def url(self, page):
        self.wanted.add(page)
        return self.prefix + man_file(*page)

    def inlines(self, items):
        out = []
        for item in items:
            t = item["t"]
            if t == "Code":
                out.append(self.code(item))
            elif t == "Str":
                out.extend(self.references(item["c"]))
            elif t in ("Emph", "Strong", "Strikeout", "Superscript", "Subscript", "SmallCaps"):
                out.append({"t": t, "c": self.inlines(item["c"])})
            elif t in ("Span", "Quoted"):
                out.append({"t": t, "c": [item["c"][0], self.inlines(item["c"][1])]})
            else:  # a link already, an image (its text describes it), spaces
                out.append(item)
        return out

    def code(self, item):
        """A code span, linked if it names a course call not linked yet on this page."""
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?:\(([^)]*)\))?", item["c"][1].strip())
        if not m or m.group(1) not in LINKED or m.group(1) in self.seen:
            return item
        section = m.group(2) if m.group(2) and m.group(2) in SECTIONS else None
        page = self.target(m.group(1), section)
        if not page:
            return item
        self.seen.add(m.group(1))
        return link([item], self.url(page), "manual page %s(%s)" % page)

    def references(self, text):
        """A Str, with each name(N) in it a link where the page exists."""
        out, last = [], 0
        for m in re.finditer(r"\b([a-z_][a-z0-9_.-]*)\(([1-8])\)", text):
            page = self.target(m.group(1), m.group(2))
            if not page:
                continue
            if m.start() > last:
                out.append({"t": "Str", "c": text[last:m.start()]})
            out.append(link([{"t": "Str", "c": m.group(0)}], self.url(page)))
            last = m.end()
        if last < len(text):
            out.append({"t": "Str", "c": text[last:]})
        return out or [{"t": "Str", "c": text}]

    def blocks(self, blocks):
        out = []
        for b in blocks:
            t = b["t"]
            if t in ("Para", "Plain"):
                b = {"t": t, "c": self.inlines(b["c"])}
            elif t in ("BulletList",):
                b = {"t": t, "c": [self.blocks(item) for item in b["c"]]}
            elif t == "OrderedList":
                b = {"t": t, "c": [b["c"][0], [self.blocks(item) for item in b["c"][1]]]}
            elif t == "BlockQuote":
                b = {"t": t, "c": self.blocks(b["c"])}
            elif t == "Div":
                b = {"t": t, "c": [b["c"][0], self.blocks(b["c"][1])]}
            elif t == "DefinitionList":
                b = {"t": t, "c": [[self.inlines(term), [self.blocks(d) for d in defs]]
                                   for term, defs in b["c"]]}
            elif t == "Table":
                b = self.table(b)
            out.append(b)
        return out

    def table(self, b):
        """pandoc 2.10+ tables: cells are [attr, align, rowspan, colspan, blocks]."""
        def rows(rs):
            return [[r[0], [[c[0], c[1], c[2], c[3], self.blocks(c[4])] for c in r[1]]]
                    for r in rs]
        attr, caption, specs, head, bodies, foot = b["c"]
        head = [head[0], rows(head[1])]
        bodies = [[body[0], body[1], rows(body[2]), rows(body[3])] for body in bodies]
        foot = [foot[0], rows(foot[1])]
        return {"t": "Table", "c": [attr, caption, specs, head, bodies, foot]}


def headings(blocks, level=2):
    """[(id, text)] of the page's headings of that level, for its table of contents."""
    return [(b["c"][1][0], inline_text(b["c"][2])) for b in blocks
            if b["t"] == "Header" and b["c"][0] == level]


# ---- pages ----

STYLE = """\
:root { --fg: #1d2125; --muted: #5b6470; --line: #d8dde3; --accent: #8e2c1f; --code: #f4f1ec; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); font: 16px/1.55 system-ui, sans-serif; background: #fff; }
header.site { display: flex; flex-wrap: wrap; gap: 0.2em 1.2em; align-items: baseline;
  padding: 0.6em 1.5em; border-bottom: 1px solid var(--line); background: #faf8f5; }
header.site a { color: var(--fg); text-decoration: none; }
header.site a.home { font-weight: 700; color: var(--accent); }
header.site a.here { font-weight: 700; text-decoration: underline; }
.page { display: flex; gap: 2em; max-width: 1200px; margin: 0 auto; padding: 1em 1.5em; }
nav.toc { flex: 0 0 14em; position: sticky; top: 0; align-self: flex-start; font-size: 0.9em;
  max-height: 100vh; overflow-y: auto; padding-top: 1em; }
nav.toc ul { list-style: none; padding: 0; margin: 0; }
nav.toc li { margin: 0.25em 0; }
nav.toc a { color: var(--muted); text-decoration: none; }
main { flex: 1; min-width: 0; max-width: 52em; }
h1 { color: var(--accent); line-height: 1.2; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 0.2em; margin-top: 2em; }
a { color: #1d5fa8; }
code { background: var(--code); padding: 0.05em 0.25em; border-radius: 3px; font-size: 0.92em; }
pre { background: var(--code); padding: 0.8em 1em; overflow-x: auto; border-radius: 4px;
  line-height: 1.35; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; margin: 1em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid var(--line); padding: 0.3em 0.6em; vertical-align: top; }
th { background: #f3f1ee; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); background: #fff; }
figcaption { color: var(--muted); font-size: 0.9em; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(22em, 1fr)); gap: 1em; }
.note { color: var(--muted); font-size: 0.9em; }
footer { color: var(--muted); font-size: 0.85em; text-align: center; padding: 2em; }
pre.man { background: none; padding: 0; font-size: 0.95em; }
@media (max-width: 800px) { nav.toc { display: none; } }
@media print { header.site, nav.toc { display: none; } }
"""


def page(title, body, prefix, nav, here, toc=(), source=""):
    """A whole HTML page: the site's bar, a table of contents, the body."""
    links = ['<a class="home" href="%sindex.html">msglab</a>' % prefix]
    for href, label in nav:
        links.append('<a href="%s%s"%s>%s</a>' % (prefix, href, ' class="here"'
                                                  if href == here else "", html.escape(label)))
    contents = ""
    if toc:
        contents = '<nav class="toc"><ul>%s</ul></nav>' % "".join(
            '<li><a href="#%s">%s</a></li>' % (html.escape(i, True), html.escape(t))
            for i, t in toc)
    made = "Made by <code>make handouts</code>%s, msglab %s, %s." % (
        " from <code>%s</code>" % html.escape(source) if source else "",
        html.escape(version.describe()), datetime.date.today().isoformat())
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>%s</title>\n<link rel=\"stylesheet\" href=\"%sstyle.css\">\n</head>\n"
            "<body>\n<header class=\"site\">%s</header>\n<div class=\"page\">%s\n<main>\n%s\n"
            "</main>\n</div>\n<footer>%s</footer>\n</body>\n</html>\n"
            % (html.escape(title), prefix, " ".join(links), contents, body, made))


def render(markdown, linker):
    """(HTML of the markdown with its man page links, its AST's blocks)."""
    ast = json.loads(pandoc(["-f", "gfm", "-t", "json"], markdown))
    ast["blocks"] = linker.blocks(ast["blocks"])
    return pandoc(["-f", "json", "-t", "html5", "--no-highlight"], json.dumps(ast)), \
        ast["blocks"]


def see_it_run(lab, figures):
    """The section that shows the lab's scenarios, as Markdown with raw HTML figures."""
    if not figures:
        return ""
    n = len(figures)
    intro = ("The reference solution, run in the sandbox under the call record and drawn from "
             "it: one lane per process, the queue on the right with its fill; each message is an "
             "arrow into the queue (`msgsnd`) and one out of it (`msgrcv`), labelled with its "
             "type, text and size. A dotted stretch is a call waiting in the kernel. "
             "`make demo LAB=%s` shows the same in a terminal, one event at a time "
             "(`SCENARIO=name` picks one, `SUBMISSION=labs` shows your own program)."
             % lab[:2])
    if n > 1:
        intro += " The %d scenarios side by side:" % n
    figs = "".join(
        '<figure><a href="img/%s"><img src="img/%s" alt="sequence diagram of %s: %s"></a>'
        '<figcaption><strong>%s</strong>: %s. %s <code>make demo LAB=%s SCENARIO=%s</code>'
        '</figcaption></figure>'
        % (f["file"], f["file"], html.escape(f["name"]), html.escape(f["title"]),
           html.escape(f["name"]),
           html.escape(f["title"]), html.escape(f.get("explain", "")), lab[:2],
           html.escape(f["name"])) for f in figures)
    return "## See it run\n\n%s\n\n<div class=\"figures\">%s</div>\n\n" % (intro, figs)


def insert_before(markdown, heading, section):
    at = markdown.find("\n" + heading + "\n")
    if at < 0 or not section:
        return markdown + ("\n\n" + section if section else "")
    return markdown[:at + 1] + section + markdown[at + 1:]


def lab_title(markdown, lab):
    m = re.search(r"^# (.+)$", markdown, re.M)
    return m.group(1).replace("`", "") if m else lab


def draw_scenarios(labs, out_img, build):
    """{lab: [{name, title, explain, file}]}: every scenario of every lab, as SVG in out_img."""
    drawn = {}
    with grade.Session(os.path.abspath(build)) as session:
        for lab in labs:
            drawn[lab] = []
            try:
                every = demo.scenarios(lab)
            except demo.DemoError:
                continue
            with tempfile.TemporaryDirectory(prefix="site-") as tmp:
                bins = os.path.join(tmp, "bin")
                programs = demo.build_programs(lab, None, session, bins)
                # One that compares others is drawn as those, side by side.
                for scenario in [s for s in every if "compare" not in s]:
                    run_dir = os.path.join(tmp, scenario["name"])
                    os.mkdir(run_dir)
                    laid_out, _ = demo.diagram(lab, scenario, programs, bins, session, run_dir)
                    name = "%s-%s.svg" % (lab[:2], scenario["name"])
                    with open(os.path.join(out_img, name), "w") as f:
                        f.write(demo.svg_of(lab, scenario, laid_out))
                    drawn[lab].append(dict(scenario, file=name))
    return drawn


def bench_section(build, quick, out_img):
    """The ipc-bench page's figure and table, measured now; and the facts its text quotes."""
    rows, overhead = ipc_plot.measure(os.path.join(build, "bin", "ipc-bench"), quick)
    with open(os.path.join(out_img, "ipc-bench.svg"), "w") as f:
        f.write(ipc_plot.svg(rows, overhead))
    lines = ["| transport | size (bytes) | round trip (µs) | one way (MB/s) | messages/s |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %s | %d | %.2f | %.1f | %.0f |" % (
            r["transport"], r["size"], r["round_trip_us"], r["bytes_per_s"] / 1e6,
            r["bytes_per_s"] / r["size"]))
    figure = ('<figure><img src="img/ipc-bench.svg" alt="round trip and throughput of four '
              'transports against message size"><figcaption>Measured when this page was made '
              '(%s).</figcaption></figure>' % ("a quick run: fewer sizes and rounds" if quick
                                               else "make ipc-bench"))
    note = summary(rows)
    if overhead:
        note += (" The benchmark's own code adds %+.1f%% to a System V round trip of %d bytes "
                "(%.2f µs against %.2f µs in the plainest loop of msgsnd and msgrcv)."
                % (overhead["percent"], overhead["size"], overhead["ours_us"],
                   overhead["plain_us"]))
    return "%s\n\n%s\n\n%s\n" % (figure, "\n".join(lines), note)


def summary(rows):
    """What these figures say, in numbers: the text around them explains, this quotes."""
    at = {(r["transport"], r["size"]): r for r in rows}
    sizes = sorted({r["size"] for r in rows})
    if not sizes or ("sysv-msgq", sizes[0]) not in at or ("sysv-msgq", sizes[-1]) not in at:
        return ""
    small, large = sizes[0], sizes[-1]
    trips = sorted((r["round_trip_us"], r["transport"]) for r in rows if r["size"] == small)
    flows = sorted(((r["bytes_per_s"], r["transport"]) for r in rows if r["size"] == large),
                   reverse=True)
    sysv_small, sysv_large = at["sysv-msgq", small], at["sysv-msgq", large]
    return ("**Here:** at %d bytes a round trip took from %.1f µs (%s) to %.1f µs (%s); the System "
            "V round trip took %.1f µs at %d bytes and %.1f µs at %d bytes (%.1f times the time "
            "for %d times the bytes). At %d bytes the most bytes a second went through %s "
            "(%.0f MB/s); System V queues moved %.0f MB/s."
            % (small, trips[0][0], trips[0][1], trips[-1][0], trips[-1][1],
               sysv_small["round_trip_us"], small, sysv_large["round_trip_us"], large,
               sysv_large["round_trip_us"] / sysv_small["round_trip_us"], large // small, large,
               flows[0][1], flows[0][0] / 1e6, sysv_large["bytes_per_s"] / 1e6))


def build_site(out, build, quick=False):
    labs = grade.find_labs(None)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "img"))
    os.makedirs(os.path.join(out, "man"))
    with open(os.path.join(out, "style.css"), "w") as f:
        f.write(STYLE)
    drawn = draw_scenarios(labs, os.path.join(out, "img"), build)
    nav = [("%s.html" % lab, "Lab %s" % lab[:2]) for lab in labs] + \
        [("ipc-bench.html", "Speed"), ("man/index.html", "Manual pages")]
    wanted, index_rows = set(), []
    for lab in labs:
        with open(os.path.join(ROOT, "handouts", lab + ".md")) as f:
            markdown = f.read()
        title = lab_title(markdown, lab)
        markdown = insert_before(markdown, SEE_IT_RUN_BEFORE, see_it_run(lab, drawn[lab]))
        linker = ManLinker("")
        body, blocks = render(markdown, linker)
        wanted |= linker.wanted
        rubric = grade.load_rubric(lab)
        index_rows.append((lab, title, grade.programs_of(rubric),
                           sum(t["points"] for t in rubric["tests"]), len(rubric["tests"])))
        with open(os.path.join(out, lab + ".html"), "w") as f:
            f.write(page(title, body, "", nav, lab + ".html", headings(blocks),
                         "handouts/%s.md" % lab))
    with open(os.path.join(ROOT, "handouts", "ipc-bench.md")) as f:
        markdown = f.read()
    markdown = markdown.replace("<!-- site: ipc-bench figures -->",
                                bench_section(build, quick, os.path.join(out, "img")))
    linker = ManLinker("")
    body, blocks = render(markdown, linker)
    wanted |= linker.wanted
    with open(os.path.join(out, "ipc-bench.html"), "w") as f:
        f.write(page(lab_title(markdown, "Speed"), body, "", nav, "ipc-bench.html",
                     headings(blocks), "handouts/ipc-bench.md"))
    write_man_pages(out, sorted(wanted), nav)
    write_index(out, index_rows, nav)
    return labs


def write_man_pages(out, pages, nav):
    """Each wanted page as `man` shows it (groff's own rendering: pandoc's reader garbles some
    synopses), its bold and italics kept, its name(N) references linked to the other pages."""
    available = set(pages)
    for name, section in pages:
        source = man_source(name, section)
        body = overstrike_html(groff_text(man_text(source[1])), available)
        title = "%s(%s)" % (name, section)
        with open(os.path.join(out, man_file(name, section)), "w") as f:
            f.write(page(title + " — manual page", '<pre class="man">%s</pre>' % body, "../",
                         nav, "man/index.html", source=os.path.relpath(source[1], "/")))
    items = "".join('<li><a href="%s.%s.html"><code>%s(%s)</code></a></li>' % (n, s, n, s)
                    for n, s in pages)
    body = ("<h1>Manual pages</h1>\n<p>The pages the handouts link to, as this machine has them "
            "(Debian's <code>manpages-dev</code>): what <code>man 2 msgsnd</code> shows.</p>\n"
            "<ul>%s</ul>" % items)
    with open(os.path.join(out, "man", "index.html"), "w") as f:
        f.write(page("Manual pages", body, "../", nav, "man/index.html"))


def write_index(out, rows, nav):
    items = "".join(
        "<tr><td><a href=\"%s.html\">%s</a></td><td>%s</td><td>%d points, %d tests</td></tr>"
        % (lab, html.escape(title), ", ".join("<code>%s</code>" % html.escape(p)
                                              for p in programs), points, tests)
        for lab, title, programs, points, tests in rows)
    body = ("<h1>System V message queues: the labs</h1>\n"
            "<p>Six labs on <code>msgget</code>, <code>msgsnd</code>, <code>msgrcv</code>, "
            "<code>msgctl</code> and <code>ftok</code>, each graded by <code>make grade</code>. "
            "Every page shows the lab's program at work, drawn from a real run.</p>\n"
            "<table><thead><tr><th>lab</th><th>program</th><th>grading</th></tr></thead>"
            "<tbody>%s</tbody></table>\n"
            "<p><a href=\"ipc-bench.html\">How fast are System V queues?</a> The same messages "
            "through pipes, POSIX queues and Unix sockets, measured.</p>\n"
            "<p><a href=\"man/index.html\">Manual pages</a> the handouts link to.</p>" % items)
    with open(os.path.join(out, "index.html"), "w") as f:
        f.write(page("msglab: System V message queue labs", body, "", nav, "index.html"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "build", "site"))
    p.add_argument("--build", default=os.path.join(ROOT, "build"), help="the built grader")
    p.add_argument("--quick", action="store_true", help="a quick ipc-bench run (a check)")
    args = p.parse_args()
    try:
        labs = build_site(os.path.abspath(args.out), args.build, args.quick)
    except (SiteError, demo.DemoError, grade.GraderError, ipc_plot.BenchError) as e:
        print("handouts: %s" % e, file=sys.stderr)
        return 2
    print("site: %s (%d labs, speed, manual pages)"
          % (os.path.join(args.out, "index.html"), len(labs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
