#!/usr/bin/env python3
"""Hostile input on the real wire (issue #7, label faults). A coordinator and
a real agent pair run under Wine on loopback; this script attacks the
coordinator's agent port and node1's peer port with: random bytes,
truncated frames, oversized length fields, frames sealed with a wrong key,
replays, HELLOs from an unknown node id, slowloris connections (idle, or one
byte a second) and floods of connections. Throughout:

  - the pair keeps its primary and epoch (no failover), `nlbctl status`
    answers, and both agents stay linked;
  - a restarted agent (node2) reconnects to the coordinator while the
    attacker holds more idle connections than it has slots (weakness a);
  - node2's peer connection to node1 is never pushed out by connections
    to node1's peer port (weakness b): node2 logs no "peer link down";
  - each kind of refusal is logged, but a flood costs a bounded number of
    lines (rate-limited per kind and address);
  - the coordinator's resident memory (Linux /proc) grows by a bounded
    amount across a connection flood.

usage: hostile_wire.py BUILD_DIR WORK_DIR
"""
import os
import random
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from auth_refusals import KEY, Link, frame, hello, report  # noqa: E402
from harness import Cluster, TestFailure, wait_until  # noqa: E402

HELD = 24            # idle connections held open: more than the coordinator's 16 slots
FLOOD = 300          # connections in one flood
RSS_GROWTH_MAX = 16 * 1024 * 1024
LOG_LINES_MAX = 150  # coordinator log lines the whole attack may cost


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def quietly(fn, *args):
    try:
        return fn(*args)
    except OSError:
        return None


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise TestFailure(f"no VmRSS for pid {pid}")


class Holder:
    """Keeps `count` connections open to port, sending nothing; reopens any
    the far end closes (a patient slowloris)."""

    def __init__(self, port, count):
        self.port, self.count, self.socks = port, count, []

    def top_up(self):
        alive = []
        for s in self.socks:
            s.setblocking(False)
            try:
                if s.recv(4096) == b"":
                    s.close()
                    continue
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            alive.append(s)
        self.socks = alive
        while len(self.socks) < self.count:
            s = quietly(connect, self.port)
            if s is None:
                break
            self.socks.append(s)

    def close(self):
        for s in self.socks:
            quietly(s.close)
        self.socks = []


def attacks(port):
    """One round of every malformed or forged kind; each on its own connection."""
    sent = 0
    # random bytes, no handshake
    s = quietly(connect, port)
    if s:
        quietly(s.sendall, os.urandom(300))
        quietly(s.close)
        sent += 1
    # random bytes after a good seal hello
    c = quietly(Link, port)
    if c:
        quietly(c.send, os.urandom(200))
        quietly(c.close)
        sent += 1
    # truncated: half a seal hello, then close
    s = quietly(connect, port)
    if s:
        quietly(s.sendall, b"NLS\x01" + os.urandom(6))
        quietly(s.close)
        sent += 1
    # truncated: half a sealed frame, then close
    c = quietly(Link, port)
    if c:
        quietly(c.send, c.seal(hello("node1"))[:15])
        quietly(c.close)
        sent += 1
    # oversized length field
    c = quietly(Link, port)
    if c:
        quietly(c.send, b"NL\x01\x01" + (0xFFFFFFF0).to_bytes(4, "big") + b"\0\0\0\1" + bytes(64))
        quietly(c.close)
        sent += 1
    # wrong key
    c = quietly(Link, port, bytes(32))
    if c:
        quietly(c.send, c.seal(hello("node1")))
        quietly(c.close)
        sent += 1
    # unknown node id, correctly sealed
    c = quietly(Link, port)
    if c:
        quietly(c.send, c.seal(hello("node9")))
        quietly(c.close)
        sent += 1
    return sent


def replay(port):
    """A sealed REPORT before HELLO, then the same bytes again (replayed)."""
    c = quietly(Link, port)
    if c:
        r = c.seal(report())
        quietly(c.send, r)
        quietly(c.send, r)
        quietly(c.close)


def flood(port, count):
    opened = 0
    for i in range(count):
        s = quietly(connect, port)
        if s is None:
            continue
        opened += 1
        if i % 3 == 0:
            quietly(s.sendall, os.urandom(random.randint(1, 64)))
        quietly(s.close)
    return opened


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="hostile")
    coord_log = os.path.join(work, "coordinator.log")
    node2_log = os.path.join(work, "node2.log")

    def text(path):
        with open(path, errors="replace") as f:
            return f.read()

    def settled():
        st = quietly_status(cluster)
        if not st or st["phase"] != "stable" or st["primary"] is None:
            return None
        if any(n["link"] != "up" for n in st["nodes"]):
            return None
        return st["epoch"], st["primary"]

    holders = []
    try:
        with cluster:
            cluster.start_all()
            before = wait_until("an elected, stable pair", settled, timeout=40)
            enabled = cluster.enabled_nodes()
            print(f"ok  settled: epoch, primary = {before}, port enabled on {enabled}")
            port = cluster.coord_port
            peer_port = cluster.peer_ports["node1"]
            pid = cluster.procs["coordinator"].pid
            coord_lines0 = text(coord_log).count("\n")
            peer_down0 = text(node2_log).count("peer link down")

            def check_pair(what):
                st = cluster.status()  # raises if nlbctl status does not answer
                now = (st["epoch"], st["primary"])
                if now != before:
                    raise TestFailure(f"{what}: the pair changed {before} -> {now}")
                if cluster.enabled_nodes() != enabled:
                    raise TestFailure(f"{what}: port enabled on {cluster.enabled_nodes()}")

            # 1. Every malformed or forged kind, ten rounds, on both ports.
            for _ in range(10):
                attacks(port)
                replay(port)
                attacks(peer_port)
            check_pair("after malformed frames")
            print("ok  malformed, forged, replayed and unknown-node frames: pair unchanged")

            # 1b. A holder of the key posing as node1's peer: a HELLO naming
            # a node that is not node2 (an unknown one, node1 itself), or a
            # REPORT with no HELLO, is refused at once, long before the
            # identification deadline (5 s) would have closed it anyway.
            node1_log = os.path.join(work, "node1.log")
            for what, first in (("HELLO as an unknown node", hello("node9")),
                                ("HELLO as node1 itself", hello("node1")),
                                ("REPORT before HELLO", report())):
                c = Link(peer_port)
                t0 = time.monotonic()
                c.send(c.seal(first))
                if not c.closed_by_peer(2.5):
                    raise TestFailure(f"node1's peer port kept a connection after a {what}")
                quietly(c.sock.close)
                print(f"ok  node1's peer port closed the connection after a {what} "
                      f"({(time.monotonic() - t0) * 1000:.0f} ms)")
            wait_until("node1 logging the impostor", lambda: "it says it is node node9"
                       in text(node1_log), timeout=5)
            check_pair("after impostors at the peer port")

            # 2. Slowloris: more idle connections than slots, plus one byte a
            # second on another; meanwhile node2 restarts and must get back in.
            hold = Holder(port, HELD)
            holders.append(hold)
            hold.top_up()
            drip = quietly(connect, port)
            peer_hold = Holder(peer_port, 6)
            holders.append(peer_hold)
            peer_hold.top_up()
            print(f"ok  holding {len(hold.socks)} idle connections to the coordinator, "
                  f"{len(peer_hold.socks)} to node1's peer port")
            cluster.kill("node2")
            wait_until("node2 seen down", lambda: _link(cluster, "node2") == "down", timeout=20)
            hold.top_up()
            cluster.start("node2")
            deadline = time.monotonic() + 30
            while _link(cluster, "node2") != "up":
                if time.monotonic() > deadline:
                    raise TestFailure("node2 could not reconnect while an attacker held "
                                      "connections to the coordinator")
                hold.top_up()
                peer_hold.top_up()
                if drip:
                    quietly(drip.send, b"N")
                time.sleep(1)
            print("ok  node2 reconnected while the attacker held the coordinator's slots")
            wait_until("the pair settled again", settled, timeout=20)
            check_pair("during slowloris")
            peer_down0 = text(node2_log).count("peer link down")

            # 3. Floods of connections, memory measured around them.
            rss0 = rss(pid)
            for _ in range(3):
                flood(port, FLOOD)
                flood(peer_port, FLOOD // 3)
                hold.top_up()
                peer_hold.top_up()
                check_pair("during a connection flood")
            rss1 = rss(pid)
            growth = rss1 - rss0
            print(f"ok  {3 * FLOOD} connections to the coordinator, {FLOOD} to node1's peer "
                  f"port: RSS {rss0 // 1024} KiB -> {rss1 // 1024} KiB")
            if growth > RSS_GROWTH_MAX:
                raise TestFailure(f"the coordinator's RSS grew by {growth // 1024} KiB")

            # 4. The idle connections are closed by the identification
            # deadline (counted from when the coordinator accepted them, which
            # under a flood can be a few seconds after they connected).
            held = list(hold.socks)
            for s in held:
                s.setblocking(False)
            still_open = set(held)

            def all_closed():
                for s in list(still_open):
                    try:
                        if s.recv(1) == b"":
                            still_open.discard(s)
                    except BlockingIOError:
                        pass
                    except OSError:
                        still_open.discard(s)
                return not still_open
            wait_until("the idle connections closed by the deadline", all_closed, timeout=25,
                       interval=0.5)
            print(f"ok  all {len(held)} idle connections closed by the deadline")
            for h in holders:
                h.close()
            if drip:
                quietly(drip.close)

            check_pair("after the attack")
            if text(node2_log).count("peer link down") != peer_down0:
                raise TestFailure("node2's peer link to node1 was pushed out by the attack")
            print("ok  node2's peer link survived the attack on node1's peer port")

            # 5. The log: each kind said, a bounded number of lines in all.
            log = text(coord_log)
            for needle in ("message authentication failed", "not a node of pair",
                           "message larger than", "did not identify"):
                if needle not in log:
                    raise TestFailure(f"no '{needle}' in the coordinator's log")
            lines = log.count("\n") - coord_lines0
            print(f"ok  the coordinator logged {lines} lines for the whole attack")
            if lines > LOG_LINES_MAX:
                raise TestFailure(f"{lines} log lines for the attack (limit {LOG_LINES_MAX})")
    except Exception:
        for h in holders:
            h.close()
        cluster.dump_logs()
        raise
    print("PASS")


def quietly_status(cluster):
    try:
        return cluster.status()
    except (TestFailure, ValueError):
        return None


def _link(cluster, node):
    st = quietly_status(cluster)
    if not st:
        return None
    return next(n for n in st["nodes"] if n["name"] == node)["link"]


if __name__ == "__main__":
    main()
