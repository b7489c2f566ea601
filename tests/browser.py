"""A headless Chromium driven over the DevTools protocol, standard library only.

Chromium's --remote-debugging-pipe speaks the protocol on its descriptors 3 (commands in) and 4
(replies and events out), one JSON message per NUL-terminated record: no WebSocket, no
third-party client. Used by the handout site's check (tests/run.py check_handouts_site) and by
make screenshots.

    with Browser() as b:
        page = b.open("file:///.../index.html")   # waits for the load event
        page.evaluate("document.title")
        page.screenshot("out.png", width=1000)
"""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CANDIDATES = ("chromium-headless-shell", "chromium", "chromium-browser")
LOAD_TIMEOUT_S = 30


class BrowserError(Exception):
    pass


def find_chromium():
    """The first headless-capable Chromium on PATH (Debian: chromium-headless-shell), or None."""
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, binary=None):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise BrowserError("no headless Chromium: apt-get install chromium-headless-shell")
        self.profile = None
        self.proc = None
        self.next_id = 0
        self.buffer = b""
        self.events = []

    def __enter__(self):
        self.profile = tempfile.mkdtemp(prefix="msglab-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        # In the child, before exec: the protocol's fixed 3 and 4 (kept: pass_fds).
        def descriptors():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        cmd = [self.binary, "--headless", "--remote-debugging-pipe", "--no-first-run",
               "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
               "--disable-background-networking", "--disable-sync", "--mute-audio",
               "--user-data-dir=" + self.profile, "--allow-file-access-from-files"]
        if os.geteuid() == 0:  # Chromium refuses root without it
            cmd.append("--no-sandbox")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=descriptors,
                                     pass_fds=(3, 4, to_browser_r, from_browser_w))
        os.close(to_browser_r)
        os.close(from_browser_w)
        return self

    def __exit__(self, *exc):
        try:
            if self.proc and self.proc.poll() is None:
                try:
                    self.call("Browser.close", timeout=5)
                except (BrowserError, OSError):
                    pass
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for fd in (self.to_browser, self.from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    # ---- the protocol ----

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.to_browser, data):]
        return self.next_id

    def receive(self, deadline):
        """The next message, or BrowserError once deadline (monotonic) has passed."""
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_browser], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium ended (exit status %s)" % self.proc.poll())
            self.buffer += chunk
        record, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(record)

    def call(self, method, params=None, session=None, timeout=LOAD_TIMEOUT_S):
        wanted = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError("%s: %s" % (method, message["error"].get("message")))
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method, session, timeout=LOAD_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event["method"] == method and event.get("sessionId") == session:
                    return self.events.pop(i)
            message = self.receive(deadline)
            if "method" in message:
                self.events.append(message)

    def open(self, url, width=1100, height=800):
        """A new tab showing url, once its load event has fired."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(domain + ".enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1,
                                                         "mobile": False}, session=session)
        result = self.call("Page.navigate", {"url": url}, session=session)
        if result.get("errorText"):
            raise BrowserError("%s: %s" % (url, result["errorText"]))
        self.wait_event("Page.loadEventFired", session)
        return page


class Page:
    def __init__(self, browser, target, session):
        self.browser, self.target, self.session = browser, target, session

    def evaluate(self, expression):
        result = self.browser.call("Runtime.evaluate", {"expression": expression,
                                                        "returnByValue": True,
                                                        "awaitPromise": True},
                                   session=self.session)
        if "exceptionDetails" in result:
            raise BrowserError("script failed: %s" % result["exceptionDetails"].get("text"))
        return result["result"].get("value")

    def problems(self):
        """What went wrong while the page loaded: failed requests, console errors, exceptions."""
        found = []
        for event in [e for e in self.browser.events if e.get("sessionId") == self.session]:
            p = event["params"]
            if event["method"] == "Network.loadingFailed" and not p.get("canceled"):
                found.append("a request failed: %s" % p.get("errorText"))
            elif event["method"] == "Network.responseReceived" and \
                    p["response"].get("status", 200) >= 400:
                found.append("%s: HTTP %s" % (p["response"]["url"], p["response"]["status"]))
            elif event["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                found.append("console: %s" % p["entry"]["text"])
            elif event["method"] == "Runtime.exceptionThrown":
                found.append("script error: %s" % p["exceptionDetails"].get("text"))
        return found

    def screenshot(self, path, full_page=False, clip=None):
        """A PNG of the window, of the whole page, or of clip (x, y, width, height)."""
        params = {"format": "png"}
        if clip:
            params.update(captureBeyondViewport=True, clip=dict(zip(
                ("x", "y", "width", "height"), clip), scale=1))
        elif full_page:
            size = self.browser.call("Page.getLayoutMetrics", session=self.session)
            content = size["cssContentSize"]
            params.update(captureBeyondViewport=True, clip={
                "x": 0, "y": 0, "width": content["width"], "height": content["height"],
                "scale": 1})
        data = self.browser.call("Page.captureScreenshot", params, session=self.session)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        self.browser.call("Target.closeTarget", {"targetId": self.target})
