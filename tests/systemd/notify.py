#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The sd_notify side of probestormd, checked against a listener: binds an AF_UNIX datagram
# socket, points NOTIFY_SOCKET at it and starts the daemon the way systemd would.
#   1. no watchdog: READY=1 and a STATUS= line arrive, no WATCHDOG=1; SIGTERM gives
#      STOPPING=1 and exit status 0.
#   2. WATCHDOG_USEC=2 s: WATCHDOG=1 arrives at least every second while idle.
#   3. WATCHDOG_USEC=2 s and a campaign (against a fake sysfs tree) whose cycles may take
#      longer than that: the daemon raises WATCHDOG_USEC= for the campaign, keeps pinging
#      after cycles and restores the configured period when the campaign is done.
# Usage: notify.py PROBESTORMD TOP_SRCDIR. Exit 0 pass, 1 fail.
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

daemon, top_srcdir = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="probestorm-notify-")
failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def listener():
    path = os.path.join(tmp, "notify.sock")
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.1)
    return s, path


def run(conf, watchdog_usec, until, limit):
    """Starts the daemon, collects (time, message) until until(msgs) or limit seconds,
    then sends SIGTERM and collects until it exits. Returns (msgs, exit status)."""
    s, path = listener()
    env = dict(os.environ, NOTIFY_SOCKET=path)
    env.pop("WATCHDOG_USEC", None)
    env.pop("WATCHDOG_PID", None)
    env.pop("JOURNAL_STREAM", None)
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    proc = subprocess.Popen([daemon, "--config", conf], env=env)
    msgs, t0 = [], time.monotonic()

    def drain():
        try:
            while True:
                msgs.append((time.monotonic() - t0, s.recv(4096).decode()))
        except socket.timeout:
            pass

    while time.monotonic() - t0 < limit and not until(msgs) and proc.poll() is None:
        drain()
    proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        status = "hung after SIGTERM"
    drain()
    s.close()
    return msgs, status


def lines(msgs):
    return [(t, l) for t, m in msgs for l in m.split("\n")]


def has(msgs, prefix):
    return any(l.startswith(prefix) for _, l in lines(msgs))


def write_conf(name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


try:
    # listen on port 0: the HTTP API starts too, on a free port, never clashing with 8080.
    idle = write_conf("idle.conf", "[daemon]\ndatabase = %s/idle.db\nlisten = 127.0.0.1:0\n"
                      % tmp)

    # 1. READY, STATUS, STOPPING; no watchdog pings when none was asked for.
    msgs, status = run(idle, 0, lambda m: has(m, "STATUS=idle"), 10)
    check(has(msgs, "READY=1"), "READY=1 received")
    check(has(msgs, "STATUS="), "STATUS= line received")
    check(not has(msgs, "WATCHDOG=1"), "no WATCHDOG=1 without WATCHDOG_USEC")
    check(has(msgs, "STOPPING=1"), "STOPPING=1 after SIGTERM")
    check(status == 0, "exit status 0 after SIGTERM (got %s)" % status)

    # 2. Watchdog pings while idle: the gap between pings stays below the period.
    msgs, status = run(idle, 2000000,
                       lambda m: sum(l == "WATCHDOG=1" for _, l in lines(m)) >= 4, 15)
    pings = [t for t, l in lines(msgs) if l == "WATCHDOG=1"]
    check(len(pings) >= 4, "WATCHDOG=1 repeated with WATCHDOG_USEC=2000000 (%d)" % len(pings))
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    check(all(g < 2.0 for g in gaps), "pings less than 2 s apart (%s)" %
          ", ".join("%.2f" % g for g in gaps))
    check(status == 0, "exit status 0 (got %s)" % status)

    # 3. A campaign on a fake sysfs tree: its cycle bound (action-timeout 5 s + slack)
    # exceeds half of 2 s, so the period is raised for it and restored afterwards.
    root = os.path.join(tmp, "root")
    subprocess.run(["sh", os.path.join(top_srcdir, "tests/data/fake-sysfs.sh"), root], check=True)
    os.makedirs(os.path.join(root, "sys/kernel/debug"))
    os.makedirs(os.path.join(root, "dev"))
    os.makedirs(os.path.join(root, "proc"))
    open(os.path.join(root, "sys/kernel/debug/devices_deferred"), "w").close()
    open(os.path.join(root, "dev/kmsg"), "w").close()
    with open(os.path.join(root, "proc/cmdline"), "w") as f:
        f.write("console=ttyAMA0\n")
    camp = write_conf("campaign.conf", """[daemon]
database = %s/campaign.db
listen = 127.0.0.1:0
autostart = wd

[target fake]
sysroot = %s

[consumer decon]
driver = ps-decon

[scenario pause]
step = sleep 10ms

[campaign wd]
target = fake
scenario = pause
cycles = 2
deadline = 1ms
""" % (tmp, root))
    msgs, status = run(camp, 2000000,
                       lambda m: any(l.startswith("STATUS=idle") for _, l in lines(m)), 30)
    ls = [l for _, l in lines(msgs)]
    raised = [l for l in ls if l.startswith("WATCHDOG_USEC=") and l != "WATCHDOG_USEC=2000000"]
    check(bool(raised) and int(raised[0].split("=")[1]) > 2000000,
          "WATCHDOG_USEC raised for the campaign (%s)" % (raised[0] if raised else "none"))
    check("WATCHDOG_USEC=2000000" in ls and
          ls.index("WATCHDOG_USEC=2000000") > (ls.index(raised[0]) if raised else 1 << 30),
          "WATCHDOG_USEC=2000000 restored after the campaign")
    check(ls.count("WATCHDOG=1") >= 3, "pings during and after the campaign")
    check(status == 0, "exit status 0 (got %s)" % status)
finally:
    shutil.rmtree(tmp, ignore_errors=True)

sys.exit(1 if failures else 0)
