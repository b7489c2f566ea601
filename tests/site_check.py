"""Check a built handout site (grader/handout_site.py) in headless Chromium, as a reader sees it:
every page loads with no failed request and no console error, every image loads (and has a
size), every link leads to a page of the site and to an element of it (no link leaves the
site: nothing outside could be checked here), and nothing is wider than the window.

    problems, counts = check(site_dir)
"""
import html.parser
import os
import urllib.parse

import browser

# What a page says about itself, read in the page.
PAGE_FACTS = """(() => ({
  images: [...document.images].map(i => ({src: i.getAttribute('src'), ok: i.complete &&
           i.naturalWidth > 0, width: i.naturalWidth})),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
  title: document.title,
  text: document.body ? document.body.innerText.length : 0,
  height: document.documentElement.scrollHeight,
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  tables: [...document.querySelectorAll('table')].map(t => t.rows.length ?
           t.rows[0].innerText : ''),
  figures: document.querySelectorAll('figure img').length,
  manLinks: document.querySelectorAll('a[href*="man/"]').length,
}))()"""


class Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)


def ids_of(path):
    parser = Ids()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    return parser.ids


def pages(site):
    for base, _, files in os.walk(site):
        for name in sorted(files):
            if name.endswith(".html"):
                yield os.path.join(base, name)


def check(site, lab_pages=()):
    """(problems, counts) for the site in folder site; lab_pages (file names) must each show a
    rubric table, at least one diagram and links to manual pages."""
    site = os.path.realpath(site)
    problems, counts = [], {"pages": 0, "images": 0, "links": 0, "figures": {}}
    ids = {}
    with browser.Browser() as b:
        for path in pages(site):
            shown = os.path.relpath(path, site)
            page = b.open("file://" + urllib.parse.quote(path))
            facts = page.evaluate(PAGE_FACTS)
            counts["pages"] += 1
            problems += ["%s: %s" % (shown, p) for p in page.problems()]
            page.close()
            if not facts["title"] or facts["text"] < 200:
                problems.append("%s: empty (title %r, %d characters)"
                                % (shown, facts["title"], facts["text"]))
            if facts["overflow"] > 1:
                problems.append("%s: %d pixels wider than the window" % (shown,
                                                                         facts["overflow"]))
            for image in facts["images"]:
                counts["images"] += 1
                if not image["ok"]:
                    problems.append("%s: image %s does not load" % (shown, image["src"]))
            for url in facts["links"]:
                counts["links"] += 1
                problems += link_problems(shown, url, site, ids)
            if os.path.basename(path) in lab_pages:
                counts["figures"][os.path.basename(path)] = facts["figures"]
                if not any("points" in t for t in facts["tables"]):
                    problems.append("%s: no rubric table" % shown)
                if not facts["figures"]:
                    problems.append("%s: no diagram" % shown)
                if not facts["manLinks"]:
                    problems.append("%s: no link to a manual page" % shown)
    return problems, counts


def link_problems(shown, url, site, ids):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file":
        return ["%s: a link out of the site (%s): it cannot be checked here" % (shown, url)]
    target = os.path.realpath(urllib.parse.unquote(parts.path))
    if not target.startswith(site + os.sep):
        return ["%s: a link out of the site's folder (%s)" % (shown, url)]
    if not os.path.isfile(target):
        return ["%s: a broken link to %s" % (shown, os.path.relpath(target, site))]
    if parts.fragment and target.endswith(".html"):
        if target not in ids:
            ids[target] = ids_of(target)
        if urllib.parse.unquote(parts.fragment) not in ids[target]:
            return ["%s: a link to %s#%s, which has no such anchor"
                    % (shown, os.path.relpath(target, site), parts.fragment)]
    return []
