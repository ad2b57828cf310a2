"""A Linux-side VIP dispatcher: what Windows NLB does for the pair's virtual
IP, emulated in one thread, on loopback or on the namespace hosts' SIP LAN.

Clients send UDP datagrams to the VIP (127.0.0.1:<vip_port> on loopback;
on the hosts, the VIP address in the switch namespace, whose sockets are
made there through setns(2): netns=). Each one goes to the node whose sim
NLB port (SimPorts.port_state(node)) is "enabled":

- none enabled: the datagram is dropped (counted in dropped_none);
- both enabled (a split brain, which I1 forbids): it goes to node1 only.
  Real NLB in single-host filtering mode also delivers a given flow to one
  host, never to both; the test's SplitBrainWatch flags the split itself.

A datagram goes from the dispatcher's own socket for that node (ephemeral
port) to 127.0.0.1:<node port>; the node answers to that socket, and the
answer is relayed from the VIP socket to the original client, found by the
message's Call-ID (a bounded map).

With tcp=True it also accepts TCP at the VIP's address and port: each
connection goes to the node enabled when it opens (node1 if both are) and
stays there, as NLB's single-host affinity keeps a connection; it is
dropped when that node's rule is neither enabled nor draining (NLB's
Disable drops connections, Drain lets them finish while new ones go
elsewhere). Answers relayed on connections count like UDP ones.

cut(node) / restore(node) emulate W4's unplugged SIP NIC: nothing reaches the
node or comes back from it, while its links to the coordinator and the peer
(other sockets) stay up.

Active monitoring emulation (probe_interval > 0): every probe_interval the
dispatcher also sends an OPTIONS ping straight to each node that is not cut,
whatever its NLB state, as a SIP monitor on the SIP LAN would. Passive
monitoring (sip_app --silence-ms) needs such a steady trickle: a backup gets
no VIP traffic at all and would otherwise call itself SERVICE_UNAVAILABLE.
Probes are counted apart from VIP traffic (probes_sent / probe_answers).

Every loop is bounded by a stop event and a select() timeout; stop() joins
the thread with a time limit.
"""
import collections
import ctypes
import os
import re
import select
import socket
import threading
import time
import uuid

_CALL_ID = re.compile(rb"^(?:Call-ID|i)[ \t]*:[ \t]*(.+?)[ \t]*$", re.I | re.M)


def call_id(data):
    m = _CALL_ID.search(data)
    return m.group(1).strip() if m else None


def options_request(target_host, target_port, local_port, tag="probe"):
    """A minimal OPTIONS request (bytes) and its Call-ID."""
    cid = f"{tag}-{uuid.uuid4().hex}@127.0.0.1"
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    msg = (f"OPTIONS sip:ping@{target_host}:{target_port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch={branch}\r\n"
           f"From: <sip:{tag}@127.0.0.1:{local_port}>;tag={uuid.uuid4().hex[:8]}\r\n"
           f"To: <sip:ping@{target_host}:{target_port}>\r\n"
           f"Call-ID: {cid}\r\n"
           f"CSeq: 1 OPTIONS\r\n"
           f"Max-Forwards: 70\r\n"
           f"Content-Length: 0\r\n\r\n")
    return msg.encode(), cid.encode()


CLONE_NEWNET = 0x40000000


def in_netns(path, fn):
    """fn() run on a thread that entered the network namespace at path; the
    sockets it makes stay in that namespace whichever thread uses them."""
    if not path:
        return fn()
    box = {}

    def run():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(path, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {path}")
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as e:  # noqa: B902 - re-raised in the caller
            box["error"] = e
    t = threading.Thread(target=run)
    t.start()
    t.join(timeout=30)
    if "error" in box:
        raise box["error"]
    return box["value"]


def free_udp_port():
    """A loopback port free for both UDP and TCP (sip_app listens on both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise OSError("no loopback port free for both UDP and TCP")


class Dispatcher:
    MAP_MAX = 20000

    def __init__(self, cluster, node_ports, vip_port=None, probe_interval=0.25, vip_host="127.0.0.1",
                 local_host="127.0.0.1", netns=None, tcp=False):
        """node_ports: node -> UDP port of its SIP server on 127.0.0.1, or
        node -> (host, port). netns: a namespace path to make the sockets in."""
        self.cluster = cluster
        self.node_addrs = {n: (a if isinstance(a, tuple) else ("127.0.0.1", a))
                           for n, a in node_ports.items()}
        self.node_ports = {n: a[1] for n, a in self.node_addrs.items()}
        self.nodes = list(cluster.NODES)
        self.probe_interval = probe_interval
        self.vip_host, self.local_host = vip_host, local_host

        def sockets():
            vip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            vip.bind((vip_host, vip_port or 0))
            fwd = {}
            for node in self.nodes:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((local_host, 0))
                fwd[node] = s
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            probe.bind((local_host, 0))
            listener = None
            if tcp:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((vip_host, vip.getsockname()[1]))
                listener.listen(64)
            return vip, fwd, probe, listener
        self.vip, self.fwd, self.probe, self.tcp_listener = in_netns(netns, sockets)
        self.netns = netns
        self.vip_port = self.vip.getsockname()[1]
        self.tcp_pairs = []  # [client socket, node socket, node]
        self.tcp_opened = {n: 0 for n in cluster.NODES}
        self.tcp_dropped = {n: 0 for n in cluster.NODES}   # closed by a disabled rule
        self.tcp_refused = 0                                # no node enabled
        self._lock = threading.Lock()
        self._cut = set()
        self._clients = collections.OrderedDict()  # Call-ID -> client address
        self._probe_ids = collections.OrderedDict()  # Call-ID -> node
        # Counters (read them under no lock: ints, for reports and checks).
        self.received = 0
        self.delivered = {n: 0 for n in self.nodes}   # VIP datagrams sent to the node
        self.answered = {n: 0 for n in self.nodes}    # answers relayed back from it
        self.dropped_cut = {n: 0 for n in self.nodes}
        self.dropped_none = 0
        self.unmatched = 0
        self.probes_sent = {n: 0 for n in self.nodes}
        self.probe_answers = {n: 0 for n in self.nodes}
        self.answer_times = {n: collections.deque(maxlen=100000) for n in self.nodes}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vip-dispatcher", daemon=True)

    # ---- control ----------------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for s in [self.vip, self.probe, *self.fwd.values()]:
            s.close()
        if self.tcp_listener:
            self.tcp_listener.close()
        for pair in self.tcp_pairs:
            pair[0].close()
            pair[1].close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def cut(self, node):
        with self._lock:
            self._cut.add(node)

    def restore(self, node):
        with self._lock:
            self._cut.discard(node)

    def is_cut(self, node):
        with self._lock:
            return node in self._cut

    def first_answer_after(self, node, t):
        """Monotonic time of the first answer relayed from node after t, or None."""
        for at in list(self.answer_times[node]):
            if at > t:
                return at
        return None

    def counters(self):
        c = {"received": self.received, "delivered": dict(self.delivered),
             "answered": dict(self.answered), "dropped_cut": dict(self.dropped_cut),
             "dropped_none": self.dropped_none, "unmatched": self.unmatched,
             "probes_sent": dict(self.probes_sent), "probe_answers": dict(self.probe_answers)}
        if self.tcp_listener:
            c["tcp"] = {"opened": dict(self.tcp_opened), "dropped": dict(self.tcp_dropped),
                        "refused": self.tcp_refused, "open": len(self.tcp_pairs)}
        return c

    # ---- the thread ------------------------------------------------------
    def _target(self):
        """NLB's choice: the node with the port enabled; node1 if both are."""
        for node in self.nodes:
            if self.cluster.port_state(node) == "enabled":
                return node
        return None

    @staticmethod
    def _remember(od, key, value, limit):
        od[key] = value
        od.move_to_end(key)
        while len(od) > limit:
            od.popitem(last=False)

    def _send_probes(self):
        port = self.probe.getsockname()[1]
        for node in self.nodes:
            if self.is_cut(node):
                continue
            host, nport = self.node_addrs[node]
            data, cid = options_request(host, nport, port)
            self._remember(self._probe_ids, cid, node, self.MAP_MAX)
            try:
                self.probe.sendto(data, (host, nport))
                self.probes_sent[node] += 1
            except OSError:
                pass

    # ---- TCP ----------------------------------------------------------------
    def _tcp_accept(self):
        try:
            client, _ = self.tcp_listener.accept()
        except OSError:
            return
        node = self._target()
        if node is None or self.is_cut(node):
            self.tcp_refused += 1
            client.close()
            return
        try:
            # made in the dispatcher's namespace, like its other sockets
            server = in_netns(self.netns, lambda: socket.create_connection(
                self.node_addrs[node], timeout=1, source_address=(self.local_host, 0)))
        except OSError:
            self.tcp_refused += 1
            client.close()
            return
        self.tcp_pairs.append([client, server, node])
        self.tcp_opened[node] += 1

    def _tcp_close(self, pair, dropped=False):
        pair[0].close()
        pair[1].close()
        self.tcp_pairs.remove(pair)
        if dropped:
            self.tcp_dropped[pair[2]] += 1

    def _tcp_enforce_rules(self):
        """NLB drops a connection whose host's rule is disabled (not drained)."""
        if not self.tcp_pairs:
            return
        states = {n: self.cluster.port_state(n) for n in self.nodes}
        for pair in list(self.tcp_pairs):
            if states[pair[2]] not in ("enabled", "draining") or self.is_cut(pair[2]):
                self._tcp_close(pair, dropped=True)

    def _tcp_relay(self, s):
        pair = next((p for p in self.tcp_pairs if s is p[0] or s is p[1]), None)
        if pair is None:
            return
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._tcp_close(pair)
            return
        to_node = s is pair[0]
        try:
            (pair[1] if to_node else pair[0]).sendall(data)
        except OSError:
            self._tcp_close(pair)
            return
        node = pair[2]
        if to_node:
            self.received += data.count(b" SIP/2.0\r\n")
            self.delivered[node] += data.count(b" SIP/2.0\r\n")
        else:
            answers = data.count(b"SIP/2.0 ")
            self.answered[node] += answers
            if answers:
                self.answer_times[node].append(time.monotonic())

    def _run(self):
        by_sock = {s: n for n, s in self.fwd.items()}
        udp = [self.vip, self.probe, *self.fwd.values()]
        next_probe = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if self.probe_interval and now >= next_probe:
                self._send_probes()
                next_probe = now + self.probe_interval
            socks = list(udp)
            if self.tcp_listener:
                self._tcp_enforce_rules()
                socks += [self.tcp_listener] + [s for p in self.tcp_pairs for s in p[:2]]
            try:
                ready, _, _ = select.select(socks, [], [], 0.02)
            except (OSError, ValueError):
                return
            for s in ready:
                if self.tcp_listener and s is self.tcp_listener:
                    self._tcp_accept()
                    continue
                if s not in udp:
                    self._tcp_relay(s)
                    continue
                try:
                    data, addr = s.recvfrom(65535)
                except OSError:
                    continue  # e.g. ICMP port unreachable from a node not yet listening
                if s is self.vip:
                    self._from_client(data, addr)
                elif s is self.probe:
                    cid = call_id(data)
                    node = self._probe_ids.pop(cid, None) if cid else None
                    if node and not self.is_cut(node):
                        self.probe_answers[node] += 1
                else:
                    self._from_node(by_sock[s], data)

    def _from_client(self, data, addr):
        self.received += 1
        node = self._target()
        if node is None:
            self.dropped_none += 1
            return
        if self.is_cut(node):
            self.dropped_cut[node] += 1
            return
        cid = call_id(data)
        if cid:
            self._remember(self._clients, cid, addr, self.MAP_MAX)
        try:
            self.fwd[node].sendto(data, self.node_addrs[node])
            self.delivered[node] += 1
        except OSError:
            self.dropped_cut[node] += 1

    def _from_node(self, node, data):
        if self.is_cut(node):
            return  # the unplugged NIC drops both directions
        cid = call_id(data)
        addr = self._clients.get(cid) if cid else None
        if addr is None:
            self.unmatched += 1
            return
        try:
            self.vip.sendto(data, addr)
        except OSError:
            return
        self.answered[node] += 1
        self.answer_times[node].append(time.monotonic())


class OptionsSender:
    """Fallback load when SIPp is missing: OPTIONS to the VIP at a fixed rate,
    one socket, answers counted. Bounded by count and by stop()."""

    def __init__(self, vip_port, rate=20, count=2000):
        self.vip_port, self.rate, self.count = vip_port, rate, count
        self.sent = 0
        self.answered = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="options-sender", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def running(self):
        return self._thread.is_alive()

    def _run(self):
        port = self.sock.getsockname()[1]
        period = 1.0 / self.rate
        next_send = time.monotonic()
        while not self._stop.is_set() and self.sent < self.count:
            now = time.monotonic()
            if now >= next_send:
                data, _ = options_request("127.0.0.1", self.vip_port, port, tag="load")
                try:
                    self.sock.sendto(data, ("127.0.0.1", self.vip_port))
                    self.sent += 1
                except OSError:
                    pass
                next_send += period
            ready, _, _ = select.select([self.sock], [], [], max(0.0, min(period, next_send - now)))
            if ready:
                try:
                    data, _ = self.sock.recvfrom(65535)
                    if data.startswith(b"SIP/2.0 200"):
                        self.answered += 1
                except OSError:
                    pass
