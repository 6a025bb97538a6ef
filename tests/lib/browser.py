#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A test tool (not a suite): opens a page in Debian's headless Chromium and drives it over
the DevTools protocol on a pipe (--remote-debugging-pipe), in real time, so a page that
long-polls is seen as it is after its requests answered (--dump-dom with a virtual time
budget never finishes while a long poll is open).

usage: browser.py URL --dom FILE --screenshot FILE [--until JS] [--timeout S]
                  [--then COMMAND --after JS] [--size WxH] [--profile DIR]

Loads URL, waits until the JavaScript expression --until is true (or --timeout seconds
pass); with --then, runs the shell COMMAND while the page stays open and waits until --after
is true (what the page shows live); then writes the DOM (document.documentElement.outerHTML)
and a PNG screenshot of the whole page. Prints one JSON object: {"loaded", "until_met",
"waited_s", "then_rc", "after_met", "after_waited_s", "title",
"requests" (every URL the page asked for), "exceptions" (uncaught JavaScript errors),
"console_errors", "log_errors"}. Exits 1 with the reason on stderr when the browser cannot
start, the page does not load, or nothing can be written; the caller asserts the rest.
"""
import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, size, profile):
        exe = shutil.which("chromium")
        if not exe:
            raise RuntimeError("chromium is not installed (make deps installs it)")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # The child's fd 3 reads commands, fd 4 writes answers: move ours above both
        # first, so that a shell redirection cannot overwrite one with the other.
        r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--mute-audio", "--hide-scrollbars",
                "--remote-debugging-pipe", "--user-data-dir=" + profile,
                "--window-size=%d,%d" % size, "about:blank"]
        cmd = 'exec "$@" 3<&%d 4>&%d %d<&- %d>&-' % (r, w, r, w)
        self.log = open(os.path.join(profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(["bash", "-c", cmd, "bash"] + args, pass_fds=(r, w),
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        os.close(r)
        os.close(w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium in time")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe (exit %s)" %
                                   self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=20):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, name, timeout):
        deadline = time.monotonic() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == name:
                del self.events[i]
                return m
        while True:
            m = self._read_message(deadline)
            if m.get("method") == name:
                return m
            if "method" in m:
                self.events.append(m)

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--dom", required=True)
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--until", default="true")
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--then")
    ap.add_argument("--after", default="true")
    ap.add_argument("--size", default="1280x900")
    ap.add_argument("--profile")
    a = ap.parse_args()
    size = tuple(int(x) for x in a.size.split("x"))
    profile = a.profile or tempfile.mkdtemp(prefix="tollgate-chromium.")
    os.makedirs(profile, exist_ok=True)

    b = Browser(size, profile)
    out = {"loaded": False, "until_met": False, "waited_s": 0.0, "then_rc": None,
           "after_met": None, "after_waited_s": None, "title": None,
           "requests": [], "exceptions": [], "console_errors": [], "log_errors": []}
    try:
        target = b.send("Target.createTarget", {"url": "about:blank"}, timeout=30)["targetId"]
        s = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(domain + ".enable", session=s)
        b.send("Emulation.setDeviceMetricsOverride",
               {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
               session=s)
        nav = b.send("Page.navigate", {"url": a.url}, session=s)
        if nav.get("errorText"):
            raise RuntimeError("cannot load %s: %s" % (a.url, nav["errorText"]))
        b.wait_event("Page.loadEventFired", 20)
        out["loaded"] = True

        def wait_until(expr):
            t0 = time.monotonic()
            while True:
                r = b.send("Runtime.evaluate", {"expression": "!!(%s)" % expr,
                                                "returnByValue": True}, session=s)
                if r.get("result", {}).get("value") is True:
                    return True, round(time.monotonic() - t0, 1)
                if time.monotonic() - t0 > a.timeout:
                    return False, round(time.monotonic() - t0, 1)
                time.sleep(0.5)

        out["until_met"], out["waited_s"] = wait_until(a.until)
        if a.then:
            out["then_rc"] = subprocess.call(["bash", "-c", a.then], stdin=subprocess.DEVNULL,
                                             stdout=sys.stderr, timeout=60)
            out["after_met"], out["after_waited_s"] = wait_until(a.after)

        def value(expr):
            r = b.send("Runtime.evaluate", {"expression": expr, "returnByValue": True},
                       session=s)
            return r.get("result", {}).get("value")

        out["title"] = value("document.title")
        with open(a.dom, "w") as f:
            f.write(value("document.documentElement.outerHTML") or "")
        height = value("Math.ceil(document.documentElement.scrollHeight)") or size[1]
        shot = b.send("Page.captureScreenshot",
                      {"format": "png", "captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": size[0],
                                "height": max(size[1], height), "scale": 1}},
                      session=s, timeout=30)
        with open(a.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
    except Exception as e:
        print("browser.py: %s" % e, file=sys.stderr)
        b.close()
        print(json.dumps(out))
        return 1

    for m in b.events:
        p = m.get("params", {})
        if m["method"] == "Network.requestWillBeSent":
            out["requests"].append(p.get("request", {}).get("url"))
        elif m["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out["exceptions"].append(d.get("exception", {}).get("description") or d.get("text"))
        elif m["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out["console_errors"].append(" ".join(str(x.get("value", x.get("description")))
                                                  for x in p.get("args", [])))
        elif m["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out["log_errors"].append("%s %s" % (e.get("text"), e.get("url", "")))
    b.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
