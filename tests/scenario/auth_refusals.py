#!/usr/bin/env python3
"""Authenticated links: a coordinator (with the test key) is attacked on its
agent port from this script, which speaks the wire and seal formats itself
(seal.h documents them). A correctly sealed HELLO is accepted (the control
proving the attacks below are well-formed); an unauthenticated frame, a
tampered frame, a frame sealed with another key and a replayed frame are
each refused, logged with the reason, and their connection closed, and the
coordinator's state (epoch, primary, phase) does not change. So is an
unsealed frame with an empty payload, whose 12-byte header alone would decode
as a whole message: it must never reach the state machine.

usage: auth_refusals.py BUILD_DIR WORK_DIR
"""
import hashlib
import hmac
import os
import shutil
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TEST_KEY, Cluster, TestFailure, wait_until  # noqa: E402

KEY = bytes.fromhex(TEST_KEY)


def frame(msg_type, payload, msg_id=1):
    return b"NL" + bytes([1, msg_type]) + struct.pack(">II", len(payload), msg_id) + payload


def text(s):
    b = s.encode()
    return bytes([len(b)]) + b


def hello(node):
    return frame(1, text("sip") + text(node))


def report(epoch=0, healthy=0):
    """A backup with an unhealthy application: nothing an election could use."""
    return frame(2, struct.pack(">QBBBBIBBBQ", epoch, 0, healthy, 2, 2, 0xFFFFFFFF, 0, 0, 0, 0)
                 + text("attack") + bytes([0, 0])  # ... reason, stopping, peer_heard,
                 + struct.pack(">IQ", 0, 1))         # reason_age_ms, sent_at


class Link:
    """One connection to a listening port (the coordinator's or a peer port),
    sealed like an agent's."""

    def __init__(self, port, key=KEY, handshake=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.key, self.seq = key, 0
        if handshake:
            self.nonce = os.urandom(16)
            self.sock.sendall(b"NLS\x01" + self.nonce)
            peer = b""
            while len(peer) < 20:
                chunk = self.sock.recv(20 - len(peer))
                if not chunk:
                    raise TestFailure("the coordinator closed before its hello")
                peer += chunk
            if peer[:4] != b"NLS\x01":
                raise TestFailure(f"unexpected hello {peer!r}")
            self.peer_nonce = peer[4:]

    def seal(self, data):
        self.seq += 1
        seq = struct.pack(">Q", self.seq)
        mac = hmac.new(self.key, b"nlbctl-seal-v1" + b"\x01" + self.nonce + self.peer_nonce
                       + seq + data, hashlib.sha256).digest()
        return data + seq + mac

    def send(self, raw):
        self.sock.sendall(raw)

    def closed_by_peer(self, timeout=5.0):
        """True once the coordinator has closed this connection."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                data = self.sock.recv(4096)
                if not data:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        self.sock.close()


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="auth")
    log_path = os.path.join(work, "coordinator.log")

    def log_has(needle):
        with open(log_path, errors="replace") as f:
            return needle in f.read()

    def state():
        st = cluster.status()
        node1 = next(n for n in st["nodes"] if n["name"] == "node1")
        return (st["epoch"], st["primary"], st["phase"]), node1["link"]

    try:
        with cluster:
            cluster.write_configs()
            cluster.start("coordinator")
            wait_until("the coordinator", lambda: _answers(cluster))
            before, link = state()
            port = cluster.coord_port

            # Control: a correctly sealed HELLO and REPORT are accepted.
            good = Link(port)
            good.send(good.seal(hello("node1")))
            good.send(good.seal(report()))
            wait_until("node1 linked by the control", lambda: state()[1] == "up")
            print("ok  control: a correctly sealed HELLO links node1")
            # Replay: the same sealed REPORT again.
            replayed = good.seal(report())
            good.send(replayed)
            good.send(replayed)
            if not good.closed_by_peer():
                raise TestFailure("a replayed frame did not close the connection")
            wait_until("the replay refusal in the log", lambda: log_has("sequence"))
            print("ok  replay: refused, connection closed")
            good.close()
            wait_until("node1 unlinked", lambda: state()[1] == "down")

            cases = []
            # Unauthenticated: a plain wire frame, no seal hello at all.
            c = Link(port, handshake=False)
            c.send(hello("node1"))
            cases.append(("unauthenticated", c, "did not open an authenticated link"))
            # Tampered: one bit of the sealed HELLO flipped.
            c = Link(port)
            sealed = bytearray(c.seal(hello("node1")))
            sealed[20] ^= 0x01
            c.send(bytes(sealed))
            cases.append(("tampered", c, "message authentication failed"))
            # Wrong key.
            c = Link(port, key=bytes(32))
            c.send(c.seal(hello("node1")))
            cases.append(("wrong key", c, "message authentication failed"))

            # Unsealed STATUS_REQ (empty payload) on a sealed link, then 40
            # bytes where its trailer would be.
            c = Link(port)
            c.send(frame(16, b"") + bytes(40))
            cases.append(("unsealed empty frame", c, "message authentication failed"))

            for name, conn, needle in cases:
                if not conn.closed_by_peer():
                    raise TestFailure(f"{name}: the connection was not closed")
                conn.close()
                if not log_has(needle):
                    raise TestFailure(f"{name}: no '{needle}' in the coordinator's log")
                print(f"ok  {name}: refused with '{needle}', connection closed")

            if log_has("STATUS_REQ"):
                raise TestFailure("the unsealed STATUS_REQ reached the coordinator's core")
            after, link = state()
            if after != before or link != "down":
                raise TestFailure(f"state changed: {before} -> {after}, node1 link {link}")
            print(f"ok  state unchanged: epoch, primary, phase = {after}")
    except Exception:
        cluster.dump_logs()
        raise
    print("PASS")


def _answers(cluster):
    try:
        cluster.status()
        return True
    except TestFailure:
        return False


if __name__ == "__main__":
    main()
