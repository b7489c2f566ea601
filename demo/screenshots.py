#!/usr/bin/env python3
"""make screenshots: the README's pictures of the classroom tools, taken from real runs.

  screenshots.py [--out docs/screenshots]

Each terminal tool runs in tmux (80 or 120 columns, colour), its screen is captured with its
colours (tmux capture-pane -e), turned into HTML (a dark terminal) and photographed by headless
Chromium (tests/browser.py): `make demo LAB=01` and `LAB=05`, `msgtop` watching a queue, and the
handouts' site (lab 01's "See it run"). Needs tmux, chromium-headless-shell, pandoc and root (the
msgtop scene makes a private IPC namespace).
"""
import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import browser  # noqa: E402

# xterm's 16 colours, as most terminals show them.
PALETTE = ["#1e1e1e", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2",
           "#dcdfe4", "#5c6370", "#ef7e87", "#a9d18e", "#f0d089", "#7fc1f7", "#d49ce8",
           "#6cc7d1", "#ffffff"]
FG, BG = "#dcdfe4", "#1e1e1e"


class ShotError(Exception):
    pass


def xterm_256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    level = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (level, level, level)


def ansi_html(text):
    """Terminal text with SGR colour codes as HTML spans (bold, dim, 16 and 256 colours)."""
    out, style = [], {}
    for part in re.split(r"(\x1b\[[0-9;]*m)", text):
        m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
        if not m:
            if part:
                css = ";".join("%s:%s" % kv for kv in sorted(style.items()))
                out.append('<span style="%s">%s</span>' % (css, html.escape(part)) if css
                           else html.escape(part))
            continue
        codes = [int(c) for c in m.group(1).split(";") if c] or [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                style = {}
            elif c == 1:
                style["font-weight"] = "bold"
            elif c == 2:
                style["opacity"] = "0.7"
            elif c in (22,):
                style.pop("font-weight", None)
                style.pop("opacity", None)
            elif 30 <= c <= 37 or 90 <= c <= 97:
                style["color"] = PALETTE[c - 30 if c < 90 else c - 90 + 8]
            elif 40 <= c <= 47 or 100 <= c <= 107:
                style["background"] = PALETTE[c - 40 if c < 100 else c - 100 + 8]
            elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                style["color" if c == 38 else "background"] = xterm_256(codes[i + 2])
                i += 2
            elif c == 39:
                style.pop("color", None)
            elif c == 49:
                style.pop("background", None)
            i += 1
    return "".join(out)


def terminal_page(screen, title):
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
            "body{margin:0;background:#fff;font-family:sans-serif}"
            ".win{display:inline-block;margin:12px;border-radius:8px;overflow:hidden;"
            "box-shadow:0 2px 10px rgba(0,0,0,.35)}"
            ".bar{background:#3a3f4b;color:#ccc;font-size:13px;padding:6px 12px}"
            "pre{margin:0;padding:10px 14px;background:%s;color:%s;"
            "font:14px/1.25 'DejaVu Sans Mono',monospace}</style></head><body>"
            "<div class='win'><div class='bar'>%s</div><pre>%s</pre></div></body></html>"
            % (BG, FG, html.escape(title), ansi_html(screen.rstrip("\n"))))


def tmux_capture(command, width, height, until, settle=None, keys=(), lines=None):
    """Run command in a fresh tmux; once `until` shows (then after settle seconds, a last
    look), the screen with its colours; or, with lines, the first lines of all it printed."""
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "tmux")
        tmux = ["tmux", "-u", "-S", sock]
        env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8")
        env.pop("NO_COLOR", None)
        subprocess.run(tmux + ["new-session", "-d", "-x", str(width), "-y", str(height),
                               command + "; echo SHOT-END; sleep 600"], check=True, env=env)
        try:
            deadline = time.monotonic() + 120
            while True:
                plain = subprocess.run(tmux + ["capture-pane", "-p"], capture_output=True,
                                       text=True).stdout
                if until in plain:
                    break
                if time.monotonic() > deadline:
                    raise ShotError("%s never showed %r:\n%s" % (command, until, plain))
                time.sleep(0.2)
            for key in keys:
                subprocess.run(tmux + ["send-keys"] + list(key), check=True)
                time.sleep(0.5)
            if settle:
                time.sleep(settle)
            screen = subprocess.run(tmux + ["capture-pane", "-p", "-e"] +
                                    (["-S", "-"] if lines else []), capture_output=True,
                                    text=True).stdout
            if lines:
                screen = "\n".join(screen.split("\n")[:lines])
        finally:
            subprocess.run(tmux + ["kill-server"], capture_output=True)
    return screen.replace("SHOT-END", "").rstrip() + "\n"


def photograph(b, page_html, path, work):
    page_file = os.path.join(work, os.path.basename(path) + ".html")
    with open(page_file, "w") as f:
        f.write(page_html)
    page = b.open("file://" + page_file, width=1400, height=1200)
    box = page.evaluate("(() => {const r = document.querySelector('.win')"
                        ".getBoundingClientRect(); return [r.right + 12, r.bottom + 12]})()")
    page.screenshot(path, clip=(0, 0, int(box[0]), int(box[1])))
    page.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "screenshots"))
    args = p.parse_args()
    missing = [t for t in ("tmux", "pandoc") if not shutil.which(t)]
    if missing or not browser.find_chromium():
        print("screenshots: install %s" % " ".join(missing + ["chromium-headless-shell"]),
              file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    python = sys.executable
    msgtop = os.path.join(ROOT, "build", "bin", "msgtop")
    # name, title, command, columns, rows, shown when done, lines kept (from the top)
    scenes = [
        ("demo-01.png", "make demo LAB=01",
         "%s %s/demo/demo.py --lab 01 --speed 0" % (python, ROOT), 80, 24, "SHOT-END", 40),
        ("demo-05.png", "make demo LAB=05",
         "%s %s/demo/demo.py --lab 05 --speed 0" % (python, ROOT), 110, 24, "SHOT-END", 46),
        ("msgtop.png", "make msgtop",
         "unshare --ipc sh -c 'ipcmk -Q >/dev/null; ipcmk -Q >/dev/null; exec %s -d 200'"
         % msgtop, 120, 12, "queues: 2", None),
    ]
    with tempfile.TemporaryDirectory() as work, browser.Browser() as b:
        for name, title, command, width, height, until, lines in scenes:
            keys = ()
            if name == "msgtop.png":  # three messages through its own s key, one taken
                keys = [("s",), ("0", "Enter"), ("7", "Enter"), ("hello", "Enter"),
                        ("s",), ("0", "Enter"), ("3", "Enter"), ("queue", "Enter"),
                        ("s",), ("0", "Enter"), ("7", "Enter"), ("world!", "Enter"),
                        ("s",), ("1", "Enter"), ("2", "Enter"), ("other queue", "Enter"),
                        ("r",), ("0", "Enter")]
            screen = tmux_capture(command, width, height, until, settle=0.5, keys=keys,
                                  lines=lines)
            photograph(b, terminal_page(screen, title), os.path.join(args.out, name), work)
            print("screenshot: %s" % os.path.relpath(os.path.join(args.out, name)))
        site = os.path.join(work, "site")
        subprocess.run([python, os.path.join(ROOT, "grader", "handout_site.py"), "--out", site,
                        "--quick"], check=True, capture_output=True)
        page = b.open("file://" + os.path.join(site, "01-two-children.html"), width=1200,
                      height=820)
        page.evaluate("window.scrollTo(0, document.getElementById('see-it-run').offsetTop - 8)")
        path = os.path.join(args.out, "handout-01.png")
        page.screenshot(path)
        print("screenshot: %s" % os.path.relpath(path))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ShotError, browser.BrowserError, subprocess.CalledProcessError) as e:
        print("screenshots: %s" % e, file=sys.stderr)
        sys.exit(2)
