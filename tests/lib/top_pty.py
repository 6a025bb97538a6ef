#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Drives `tollgate top` on a pseudo-terminal, as a user over ssh would, for tests/e2e/top.sh.

    top_pty.py SCENARIO SCREEN_FILE -- COMMAND...

The command runs in a new session whose controlling terminal is the pty (TERM=xterm,
100x30). What it writes is fed to a small VT100/xterm screen model (the sequences the
xterm terminfo entry uses), so the test reads the screen as a person would see it, not
the byte stream curses optimises. Prints facts as "key=value" lines for the shell test;
the last screen goes to SCREEN_FILE.

Scenarios:
  keys    wait for rates, read the screen, press 's', read it again, press 'q'
  hup     wait for the first screen, send SIGHUP
  hangup  wait for the first screen, close the pty's master (an ssh disconnect)
  resize  wait for the first screen at 100x30, shrink the window to 80x24 (SIGWINCH)
  plain   just wait for the command to end (e.g. an error before curses starts)
"""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

ROWS, COLS = 30, 100


class Screen:
    """The subset of an xterm that ncurses drives with TERM=xterm."""

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.y = self.x = 0
        self.top, self.bottom = 0, rows - 1
        self.pending_wrap = False
        self.last = " "
        self.saved = (0, 0)
        self.buf = ""

    def resize(self, rows, cols):
        """As xterm does: what fits stays, the scroll region is reset."""
        grid = [[" "] * cols for _ in range(rows)]
        for y in range(min(rows, self.rows)):
            grid[y][: min(cols, self.cols)] = self.grid[y][: min(cols, self.cols)]
        self.grid, self.rows, self.cols = grid, rows, cols
        self.top, self.bottom = 0, rows - 1
        self._clamp()

    def text(self):
        return "\n".join("".join(r).rstrip() for r in self.grid)

    def line(self, y):
        return "".join(self.grid[y]).rstrip()

    def _scroll_up(self, n=1):
        for _ in range(n):
            del self.grid[self.top]
            self.grid.insert(self.bottom, [" "] * self.cols)

    def _scroll_down(self, n=1):
        for _ in range(n):
            del self.grid[self.bottom]
            self.grid.insert(self.top, [" "] * self.cols)

    def _lf(self):
        if self.y == self.bottom:
            self._scroll_up()
        elif self.y < self.rows - 1:
            self.y += 1

    def _put(self, ch):
        if self.pending_wrap:
            self.x = 0
            self._lf()
            self.pending_wrap = False
        self.grid[self.y][self.x] = ch
        self.last = ch
        if self.x == self.cols - 1:
            self.pending_wrap = True
        else:
            self.x += 1

    def _clamp(self):
        self.y = max(0, min(self.rows - 1, self.y))
        self.x = max(0, min(self.cols - 1, self.x))
        self.pending_wrap = False

    def _csi(self, params, final, private):
        nums = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        n = nums[0] if nums and nums[0] else 1
        if private:  # modes (?1049h, ?25l, ...): nothing on the screen
            return
        if final in "Hf":
            self.y = (nums[0] if nums and nums[0] else 1) - 1
            self.x = (nums[1] if len(nums) > 1 and nums[1] else 1) - 1
            self._clamp()
        elif final == "A":
            self.y -= n
            self._clamp()
        elif final == "B":
            self.y += n
            self._clamp()
        elif final == "C":
            self.x += n
            self._clamp()
        elif final == "D":
            self.x -= n
            self._clamp()
        elif final == "G":
            self.x = n - 1
            self._clamp()
        elif final == "d":
            self.y = n - 1
            self._clamp()
        elif final == "J":
            mode = nums[0] if nums else 0
            rows = {0: range(self.y + 1, self.rows), 1: range(0, self.y), 2: range(self.rows)}
            for r in rows.get(mode, []):
                self.grid[r] = [" "] * self.cols
            if mode == 0:
                self.grid[self.y][self.x:] = [" "] * (self.cols - self.x)
            elif mode == 1:
                self.grid[self.y][: self.x + 1] = [" "] * (self.x + 1)
        elif final == "K":
            mode = nums[0] if nums else 0
            if mode == 0:
                self.grid[self.y][self.x:] = [" "] * (self.cols - self.x)
            elif mode == 1:
                self.grid[self.y][: self.x + 1] = [" "] * (self.x + 1)
            else:
                self.grid[self.y] = [" "] * self.cols
        elif final == "X":
            for i in range(self.x, min(self.cols, self.x + n)):
                self.grid[self.y][i] = " "
        elif final == "P":
            row = self.grid[self.y]
            del row[self.x : self.x + n]
            row.extend([" "] * (self.cols - len(row)))
        elif final == "@":
            row = self.grid[self.y]
            for _ in range(n):
                row.insert(self.x, " ")
            del row[self.cols :]
        elif final == "L" and self.top <= self.y <= self.bottom:
            for _ in range(n):
                del self.grid[self.bottom]
                self.grid.insert(self.y, [" "] * self.cols)
        elif final == "M" and self.top <= self.y <= self.bottom:
            for _ in range(n):
                del self.grid[self.y]
                self.grid.insert(self.bottom, [" "] * self.cols)
        elif final == "S":
            self._scroll_up(n)
        elif final == "T":
            self._scroll_down(n)
        elif final == "r":
            self.top = (nums[0] if nums and nums[0] else 1) - 1
            self.bottom = (nums[1] if len(nums) > 1 and nums[1] else self.rows) - 1
            self.y = self.x = 0
            self.pending_wrap = False
        elif final == "b":  # REP
            for _ in range(n):
                self._put(self.last)
        # m (attributes), t (window ops), and the rest: nothing on the screen

    def feed(self, data):
        self.buf += data.decode("latin-1")
        s, i = self.buf, 0
        while i < len(s):
            c = s[i]
            if c == "\x1b":
                if i + 1 >= len(s):
                    break
                nxt = s[i + 1]
                if nxt == "[":
                    m = re.compile(r"\x1b\[([?>!]?)([0-9;]*)([ -/]*)([@-~])").match(s, i)
                    if not m:
                        if len(s) - i < 32:
                            break  # incomplete: wait for more
                        i += 2
                        continue
                    if not m.group(3):
                        self._csi(m.group(2), m.group(4), m.group(1))
                    i = m.end()
                    continue
                if nxt in "()*+":
                    if i + 2 >= len(s):
                        break
                    i += 3
                    continue
                if nxt == "M":
                    if self.y == self.top:
                        self._scroll_down()
                    elif self.y > 0:
                        self.y -= 1
                elif nxt == "D":
                    self._lf()
                elif nxt == "E":
                    self.x = 0
                    self._lf()
                elif nxt == "7":
                    self.saved = (self.y, self.x)
                elif nxt == "8":
                    self.y, self.x = self.saved
                i += 2
                continue
            if c == "\r":
                self.x = 0
                self.pending_wrap = False
            elif c == "\n":
                self._lf()
                self.pending_wrap = False
            elif c == "\b":
                self.x = max(0, self.x - 1)
                self.pending_wrap = False
            elif c == "\t":
                self.x = min(self.cols - 1, (self.x // 8 + 1) * 8)
            elif c >= " " and c != "\x7f":
                self._put(c)
            i += 1
        self.buf = s[i:]


class Session:
    def __init__(self, argv):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.termios_before = termios.tcgetattr(self.slave)
        env = dict(os.environ, TERM="xterm", LINES=str(ROWS), COLUMNS=str(COLS))
        env.pop("LINES")  # the window size comes from the pty, as over ssh
        env.pop("COLUMNS")

        def ctty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=self.slave, stdout=self.slave,
                                     stderr=self.slave, env=env, start_new_session=True,
                                     preexec_fn=ctty, close_fds=True)
        self.raw = b""
        self.screen = Screen(ROWS, COLS)

    def pump(self, secs, until=None):
        """Reads output for up to secs; stops early once until(screen) holds."""
        end = time.monotonic() + secs
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.master], [], [], min(left, 0.05))
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    data = b""
                if not data:
                    return False
                self.raw += data
                self.screen.feed(data)
            if until and until(self.screen):
                return True

    def wait_exit(self, secs):
        """Keeps reading while waiting; the exit code and how long it took, None on timeout."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < secs:
            self.pump(0.02)
            rc = self.proc.poll()
            if rc is not None:
                self.pump(0.1)
                return rc, time.monotonic() - t0
        return None, time.monotonic() - t0

    def restored(self):
        """The terminal as it was before: alternate screen left last, modes back."""
        ok_screen = self.raw.rfind(b"\x1b[?1049l") > self.raw.rfind(b"\x1b[?1049h") >= 0
        after = self.raw[self.raw.rfind(b"\x1b[?1049l"):]
        now = termios.tcgetattr(self.slave)
        same = now[:4] == self.termios_before[:4]  # iflag oflag cflag lflag
        return ok_screen, same, b"\x1b[?25h" in self.raw and b"\x1b[?25l" not in after

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


LABELS = ["OUT BYTES", "IN BYTES", "OUT bps", "OUT pps", "IN bps", "IN pps", "TENANT",
          "DROPS", "QUOTA"]


def flows_header(screen):
    for y in range(screen.rows - 1):
        if screen.line(y).lstrip("> ").startswith("TOP FLOWS"):
            return screen.line(y + 1)
    return ""


def tenant_header(screen):
    for y in range(screen.rows - 1):
        if screen.line(y).lstrip("> ").startswith("TENANTS"):
            return screen.line(y + 1), y + 1
    return "", -1


def sort_label(header):
    for label in LABELS:
        for mark in "v^":
            if re.search(r"(^|\s)" + re.escape(label + mark) + r"(\s|$)", header):
                return label + mark
    return ""


def human(v):
    m = re.fullmatch(r"([0-9.]+)([kMGTPE]?)", v)
    if not m:
        return -1
    return float(m.group(1)) * 1000 ** (" kMGTPE".index(m.group(2) or " "))


def tenant_row(screen, name):
    _, y = tenant_header(screen)
    if y < 0:
        return None
    for yy in range(y + 1, screen.rows):
        f = screen.line(yy).split()
        if f and f[0] == name:
            return f
        if not f:
            break
    return None


def main():
    scenario, shot = sys.argv[1], sys.argv[2]
    argv = sys.argv[sys.argv.index("--") + 1:]
    tenant = os.environ.get("TOP_TENANT", "acme")
    s = Session(argv)
    out = {}
    try:
        if scenario == "keys":
            # rates come with the second read; wait until the tenant's row shows one
            def has_rate(sc):
                f = tenant_row(sc, tenant)
                return f is not None and len(f) >= 5 and human(f[3]) > 0

            out["rate_seen"] = int(s.pump(8, has_rate))
            s.pump(0.3)
            f = tenant_row(s.screen, tenant) or []
            out["row"] = " ".join(f)
            out["out_bps"] = human(f[3]) if len(f) > 3 else -1
            out["in_bps"] = human(f[1]) if len(f) > 1 else -1
            out["sort_before"] = sort_label(tenant_header(s.screen)[0])
            open(shot + ".before", "w").write(s.screen.text() + "\n")
            os.write(s.master, b"s")
            s.pump(1.0, lambda sc: sort_label(tenant_header(sc)[0]) != out["sort_before"])
            s.pump(0.2)
            out["sort_after"] = sort_label(tenant_header(s.screen)[0])
            out["status_after"] = s.screen.line(ROWS - 1).split("|")[0].strip()
            open(shot, "w").write(s.screen.text() + "\n")
            os.write(s.master, b"q")
            rc, secs = s.wait_exit(1.0)
        elif scenario in ("hup", "hangup"):
            out["screen_seen"] = int(s.pump(8, lambda sc: tenant_header(sc)[1] >= 0))
            s.pump(0.3)
            open(shot, "w").write(s.screen.text() + "\n")
            if scenario == "hup":
                s.proc.send_signal(signal.SIGHUP)
                rc, secs = s.wait_exit(1.0)
            else:
                os.close(s.master)
                t0 = time.monotonic()
                try:
                    rc = s.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    rc = None
                secs = time.monotonic() - t0
        elif scenario == "resize":
            out["screen_seen"] = int(s.pump(8, lambda sc: "bps" in flows_header(sc)))
            s.pump(0.3)
            out["flows_header_100"] = flows_header(s.screen)
            fcntl.ioctl(s.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            s.screen.resize(24, 80)
            s.proc.send_signal(signal.SIGWINCH)
            s.pump(1.5, lambda sc: sc.line(23).startswith("sort:"))
            s.pump(0.3)
            open(shot, "w").write(s.screen.text() + "\n")
            out["flows_header_80"] = flows_header(s.screen)
            out["status_row_80"] = int(s.screen.line(23).startswith("sort:"))
            out["widest_80"] = max(len(s.screen.line(y)) for y in range(24))
            os.write(s.master, b"q")
            rc, secs = s.wait_exit(1.0)
        else:
            rc, secs = s.wait_exit(10)
            open(shot, "w").write(s.raw.decode("latin-1"))
            out["alt_screen"] = int(b"\x1b[?1049h" in s.raw)
        out["rc"] = "timeout" if rc is None else rc
        out["secs"] = "%.3f" % secs
        if scenario in ("keys", "hup"):
            screen_ok, termios_ok, cursor_ok = s.restored()
            out["alt_screen_left"] = int(screen_ok)
            out["termios_restored"] = int(termios_ok)
            out["cursor_visible"] = int(cursor_ok)
            out["tail"] = repr(s.raw[-40:])
    finally:
        s.kill()
    for k, v in out.items():
        print("%s=%s" % (k, v))


if __name__ == "__main__":
    main()
