#!/usr/bin/env python3
"""Multi-host scenario harness: a coordinator host ("coord") and two NLB node
hosts ("node1", "node2"), each a Linux network namespace with a Wine prefix
of its own whose wineserver runs inside that namespace (Wine creates sockets
in the wineserver, so that is what puts a host's Winsock traffic on the
host's network). Every Windows program of a host runs in its namespace too.

Topology (names carry this process's pid, so runs never collide):

    ns nlbh-<pid>-<n>-sw:  bridge br0 -- veth v-coord -- eth0 in ns ...-coord  198.51.100.1/24
                                       -- veth v-node1 -- eth0 in ns ...-node1 198.51.100.11/24
                                       -- veth v-node2 -- eth0 in ns ...-node2 198.51.100.12/24

With sip_net=True a second LAN carries SIP (the seed's two-NIC hosts, W4):

    ns ...-sw:  bridge br1 192.0.2.254/24 and the VIP 192.0.2.10 (where the
                VIP dispatcher and SIP clients run, see sip_ns / vip.py)
                -- veth s-coord -- eth1 in ...-coord  192.0.2.1/24
                -- veth s-node1 -- eth1 in ...-node1  192.0.2.11/24
                -- veth s-node2 -- eth1 in ...-node2  192.0.2.12/24

Nothing is added to the machine's own network namespace: the veths live in
the switch namespace and the hosts' namespaces, and go away with them.

Faults (each one tells the attached SplitBrainWatch "a fault happened now"):
  cut_link(h) / restore_link(h)   the switch-side veth of h down / up (the
                                  cable pulled: h reaches nobody, nobody reaches h)
  cut_sip(h) / restore_sip(h)     the same for h's SIP network card only (sip_net)
  partition(a, b) / heal(a, b)    firewall drops between a and b only (nftables,
                                  iptables as a fallback), in a's and b's namespaces
  kill(h) / restart(h)            SIGKILL of h's nlbctld / and start it again
  power_off(h) / power_on(h)      every Windows process of h ends (wineserver -k)
  set_port_state(node, state)     drift: the sim NLB file changed behind the agent
  netem(h, ...) / clear_netem(h)  delay and loss on h's link (Skip if the kernel
                                  has no sch_netem)

Cleanup is guaranteed four ways: Hosts is a context manager (close() in
__exit__/finally), an atexit hook closes every open Hosts, SIGTERM/SIGINT/SIGHUP
raise SystemExit so the finally blocks run (a signal during close() is held
until it ends), and a reaper process in its own session waits on a pipe from
this process: when the pipe reaches EOF (this process ended in any way, also
SIGKILL from ctest's timeout) it removes whatever of this run is left.
Every setup also removes leftovers of earlier runs whose pid is gone.

If namespaces cannot be made here (not root, no `ip`, `ip netns add` or veth
refused), setup() raises Skip; run_script() turns it into "SKIPPED: ..." and
exit code 77 (the tests set SKIP_RETURN_CODE 77).
"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BuildPaths, SimPorts, TestFailure, wait_until, wine_path  # noqa: E402,F401

SKIP_RC = 77
NS_PREFIX = "nlbh"
NS_RE = re.compile(r"^nlbh-(\d+)-(\d+)-([a-z0-9]+)$")
ADDRS = {"coord": "198.51.100.1", "node1": "198.51.100.11", "node2": "198.51.100.12"}
SIP_ADDRS = {"coord": "192.0.2.1", "node1": "192.0.2.11", "node2": "192.0.2.12"}
SIP_LAN_ADDR = "192.0.2.254"  # the switch namespace's own address on the SIP LAN
COORD_PORT = 7400
PEER_PORT = 7401
FIREWALL_TABLE = "nlbh"


class Skip(Exception):
    """The machine cannot run this test (not a failure of the product)."""


# ---- small helpers ------------------------------------------------------------

def _run(args, timeout=30, check=True, env=None, input=None):
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env,
                           input=input, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise TestFailure(f"{' '.join(args)}: no answer in {timeout} s")
    if check and r.returncode != 0:
        raise TestFailure(f"{' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def _quiet(args, timeout=30, env=None):
    """Runs a command with stdio detached (for Wine: its helpers outlive the
    command and must not hold our stdout). Returns the exit code or None on
    timeout."""
    try:
        return subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout, env=env).returncode
    except subprocess.TimeoutExpired:
        return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_namespaces():
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def namespace_pids(ns):
    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    return [int(x) for x in r.stdout.split() if x.isdigit()]


def _wineprefix_of(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(b"WINEPREFIX="):
                    return item[len(b"WINEPREFIX="):].decode(errors="replace")
    except OSError:
        pass
    return None


def destroy_namespace(ns, prefixes=()):
    """Ends every process inside namespace `ns` (first `wineserver -k` for each
    Wine prefix in use there, then SIGKILL by pid for what is left: everything
    in these namespaces was started by this harness), then deletes `ns`.
    Bounded: about 30 s at worst. Returns a list of problems (empty if none)."""
    problems = []
    pids = namespace_pids(ns)
    found = [p for p in prefixes if p]
    for pid in pids:
        p = _wineprefix_of(pid)
        # Only a host prefix of ours (<work>/<host>/prefix): a process here
        # may carry another WINEPREFIX in its environment (the test tree's
        # shared one, from ctest), and `wineserver -k` reaches a prefix's
        # server through the file system, across namespaces.
        if (p and p not in found and os.path.basename(os.path.normpath(p)) == "prefix"
                and os.path.basename(os.path.dirname(os.path.normpath(p))) in Hosts.NAMES):
            found.append(p)
    for p in found:
        if os.path.isdir(p) and pids:
            env = dict(os.environ, WINEPREFIX=p, WINEDEBUG="-all")
            _quiet(["ip", "netns", "exec", ns, "wineserver", "-k"], timeout=20, env=env)
    deadline = time.monotonic() + 5
    while namespace_pids(ns) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = namespace_pids(ns)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while left and namespace_pids(ns) and time.monotonic() < deadline:
        time.sleep(0.1)
    if namespace_pids(ns):
        problems.append(f"{ns}: processes {namespace_pids(ns)} still alive")
    r = subprocess.run(["ip", "netns", "del", ns], capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0 and ns in list_namespaces():
        problems.append(f"ip netns del {ns}: {r.stderr.strip()}")
    return problems


def cleanup_stale():
    """Removes namespaces (and the Wine processes in them) left by earlier
    runs of this harness whose process is gone. Returns their names."""
    removed = []
    if os.geteuid() != 0 or not shutil.which("ip"):
        return removed
    try:
        names = list_namespaces()
    except (OSError, subprocess.SubprocessError):
        return removed
    for ns in names:
        m = NS_RE.match(ns)
        if m and not _pid_alive(int(m.group(1))):
            destroy_namespace(ns)
            removed.append(ns)
    return removed


# ---- process-wide cleanup: atexit and signals -----------------------------------

_open_hosts = []
_closing = [0]
_pending_signal = [None]
_handlers_installed = [False]


def _close_all():
    for h in list(_open_hosts):
        h.close()


def _on_signal(sig, frame):
    if _closing[0]:
        _pending_signal[0] = sig  # finish the cleanup first
        return
    raise SystemExit(128 + sig)


def _install_handlers():
    if _handlers_installed[0]:
        return
    _handlers_installed[0] = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, _on_signal)


def run_script(main):
    """Runs a test's main(); a Skip prints 'SKIPPED: reason' and exits 77."""
    try:
        main()
    except Skip as e:
        print(f"SKIPPED: {e}")
        sys.stdout.flush()
        sys.exit(SKIP_RC)


# ---- the hosts --------------------------------------------------------------------

class Hosts(BuildPaths, SimPorts):
    """Three hosts (coord, node1, node2) of pair 'sip' in network namespaces.

    Mirrors harness.Cluster: write_configs, start/start_all/kill/restart,
    nlbctl/status, sim port state (port_state, ports, enabled_nodes), close,
    dump_logs. Host names are 'coord', 'node1', 'node2' ('coordinator' is
    accepted for 'coord')."""

    NAMES = ("coord", "node1", "node2")
    NODES = ("node1", "node2")
    _count = 0

    def __init__(self, build_dir, work_dir, vip="192.0.2.10", port=5060, preferred="node1",
                 election_wait_ms=3000, switchover_timeout_ms=10000, config_extra=None,
                 keep_prefixes=False, sip_net=False):
        self.build_dir = os.path.abspath(build_dir)
        self.work = os.path.abspath(work_dir)
        self.vip, self.port, self.preferred = vip, port, preferred
        self.election_wait_ms = election_wait_ms
        self.switchover_timeout_ms = switchover_timeout_ms
        # {"*" or host: {section: {key: value}}}, merged over the generated configs
        self.config_extra = config_extra or {}
        self.keep_prefixes = keep_prefixes
        Hosts._count += 1
        self.run_id = f"{os.getpid()}-{Hosts._count}"
        self.switch_ns = f"{NS_PREFIX}-{self.run_id}-sw"
        self.ns = {h: f"{NS_PREFIX}-{self.run_id}-{h}" for h in self.NAMES}
        self.addr = dict(ADDRS)
        self.sip_net = sip_net
        self.sip_addr = dict(SIP_ADDRS)
        self.dirs = {h: os.path.join(self.work, h) for h in self.NAMES}
        self.prefixes = {h: os.path.join(self.work, h, "prefix") for h in self.NAMES}
        self.wine_dir = os.environ.get("NLBCTL_WINE_DIR") or os.path.join(self.build_dir, "wine")
        self.source_dir = os.environ.get("NLBCTL_SOURCE_DIR") or os.path.abspath(
            os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
        self.key = os.urandom(32).hex()
        self.procs, self.logs = {}, {}
        self.watches = []
        self.links_down = set()
        self.drops = set()         # directed (src, dst) host pairs whose packets are dropped
        self.powered = set()       # hosts whose wineserver runs
        self.firewall = None       # "nft" or "iptables", found on first use
        self.timings = {}
        self.features = {}
        self._created_ns = []
        self._reaper = None
        self._closed = False

    # ---- names -----------------------------------------------------------------
    def _host(self, name):
        name = "coord" if name == "coordinator" else name
        if name not in self.NAMES:
            raise TestFailure(f"unknown host {name!r}: one of {self.NAMES}")
        return name

    def veth(self, host):
        return f"v-{self._host(host)}"

    def sip_veth(self, host):
        return f"s-{self._host(host)}"

    @property
    def sip_ns(self):
        """The namespace of the SIP LAN's client side (the VIP, SIPp)."""
        return self.switch_ns

    def netns_path(self, ns):
        return os.path.join("/var/run/netns", ns)

    def wine_env(self, host):
        return dict(os.environ, WINEPREFIX=self.prefixes[self._host(host)], WINEDEBUG="-all")

    def in_ns(self, host, *args):
        """The argv that runs args inside host's namespace."""
        return ["ip", "netns", "exec", self.ns[self._host(host)], *args]

    # ---- setup -------------------------------------------------------------------
    def setup(self):
        """Makes the network and the three hosts; raises Skip if namespaces
        cannot be made here. Cleans up after itself on any failure."""
        _install_handlers()
        _open_hosts.append(self)
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def _setup(self):
        if os.geteuid() != 0:
            raise Skip("not root: network namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)")
        if not shutil.which("ip"):
            raise Skip("iproute2's 'ip' is not installed")
        template = os.path.join(self.wine_dir, "template")
        if not os.path.exists(os.path.join(template, ".nlbctl-ready")):
            raise TestFailure(f"no ready Wine template at {template}: run through ctest "
                              f"(the wine fixture makes it) or set NLBCTL_WINE_DIR")
        for exe in (self.nlbctld, self.nlbctl_exe):
            if not os.path.exists(exe):
                raise TestFailure(f"{exe} is not built")
        stale = cleanup_stale()
        if stale:
            print(f"hosts: removed leftovers of earlier runs: {', '.join(stale)}")
        # Our own names may exist only if a dead process had our pid.
        mine = [self.switch_ns, *self.ns.values()]
        for ns in list_namespaces():
            if ns in mine:
                destroy_namespace(ns)
        os.makedirs(self.work, exist_ok=True)
        self._start_reaper()

        t0 = time.monotonic()
        self._make_network()
        self.timings["network"] = time.monotonic() - t0

        errors = []

        def make(h):
            try:
                self._make_host(h, template)
            except BaseException as e:  # noqa: B902 - reported below
                errors.append(e)
        threads = [threading.Thread(target=make, args=(h,)) for h in self.NAMES]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        if any(t.is_alive() for t in threads):
            raise TestFailure("host setup did not finish in 300 s")
        if errors:
            raise errors[0]
        self.timings["setup"] = time.monotonic() - t0

    def _start_reaper(self):
        log = open(os.path.join(self.work, f"reaper-{self.run_id}.log"), "ab")
        try:
            args = [sys.executable, os.path.abspath(__file__), "--reaper", self.run_id]
            if not self.keep_prefixes:
                args += [self.prefixes[h] for h in self.NAMES]
            self._reaper = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            close_fds=True)
        finally:
            log.close()

    def _add_ns(self, ns):
        r = _run(["ip", "netns", "add", ns], check=False)
        if r.returncode != 0:
            raise Skip(f"cannot create a network namespace ('ip netns add' said: "
                       f"{r.stderr.strip()})")
        self._created_ns.append(ns)

    def _ip(self, ns, *args, check=True):
        return _run(["ip", "-n", ns, *args], check=check)

    def _make_network(self):
        sw = self.switch_ns
        self._add_ns(sw)
        self._ip(sw, "link", "set", "lo", "up")
        r = self._ip(sw, "link", "add", "br0", "type", "bridge", check=False)
        if r.returncode != 0:
            raise Skip(f"cannot create a bridge: {r.stderr.strip()}")
        self._ip(sw, "link", "set", "br0", "up")
        for h in self.NAMES:
            ns = self.ns[h]
            self._add_ns(ns)
            self._ip(ns, "link", "set", "lo", "up")
            r = self._ip(sw, "link", "add", self.veth(h), "type", "veth", "peer", "name", "eth0",
                         "netns", ns, check=False)
            if r.returncode != 0:
                raise Skip(f"no veth support: {r.stderr.strip()}")
            self._ip(sw, "link", "set", self.veth(h), "master", "br0")
            self._ip(sw, "link", "set", self.veth(h), "up")
            self._ip(ns, "addr", "add", f"{self.addr[h]}/24", "dev", "eth0")
            self._ip(ns, "link", "set", "eth0", "up")
        if self.sip_net:
            self._make_sip_network()

    def _make_sip_network(self):
        sw = self.switch_ns
        self._ip(sw, "link", "add", "br1", "type", "bridge")
        self._ip(sw, "addr", "add", f"{SIP_LAN_ADDR}/24", "dev", "br1")
        self._ip(sw, "addr", "add", f"{self.vip}/32", "dev", "br1")
        self._ip(sw, "link", "set", "br1", "up")
        for h in self.NAMES:
            ns = self.ns[h]
            self._ip(sw, "link", "add", self.sip_veth(h), "type", "veth", "peer", "name", "eth1",
                     "netns", ns)
            self._ip(sw, "link", "set", self.sip_veth(h), "master", "br1")
            self._ip(sw, "link", "set", self.sip_veth(h), "up")
            self._ip(ns, "addr", "add", f"{self.sip_addr[h]}/24", "dev", "eth1")
            self._ip(ns, "link", "set", "eth1", "up")

    def _make_host(self, h, template):
        t0 = time.monotonic()
        os.makedirs(self.dirs[h], exist_ok=True)
        prefix = self.prefixes[h]
        shutil.rmtree(prefix, ignore_errors=True)
        # Never hard links: Wine rewrites system.reg in place.
        _run(["cp", "-a", template, prefix], timeout=180)
        t1 = time.monotonic()
        self._boot(h)
        self.timings[h] = {"copy": t1 - t0, "wine": time.monotonic() - t1,
                           "total": time.monotonic() - t0}

    def _boot(self, h):
        """Starts h's wineserver inside h's namespace and warms it up."""
        env = self.wine_env(h)
        if _quiet(self.in_ns(h, "setsid", "wineserver", "-p"), timeout=30, env=env) != 0:
            raise TestFailure(f"{h}: wineserver -p did not start in its namespace")
        rc = _quiet(self.in_ns(h, "setsid", "wine", "cmd", "/c", "exit"), timeout=90, env=env)
        if rc != 0:
            raise TestFailure(f"{h}: 'wine cmd /c exit' in its namespace: exit {rc}")
        # The server that answered must be the one in h's namespace.
        comms = []
        for pid in namespace_pids(self.ns[h]):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    comms.append(f.read().strip())
            except OSError:
                pass
        if not any(c.startswith("wineserver") for c in comms):
            raise TestFailure(f"{h}: no wineserver inside namespace {self.ns[h]} ({comms})")
        self.powered.add(h)

    # ---- cleanup -----------------------------------------------------------------
    def close(self):
        """Ends everything this Hosts made; safe to call more than once, from
        finally, atexit or a signal. Never raises for a cleanup problem: it
        prints it."""
        if self._closed:
            return
        self._closed = True
        _closing[0] += 1
        problems = []
        try:
            for watch in list(self.watches):
                watch.stop()
            for h in list(self.procs):
                try:
                    self.kill(h, mark=False)
                except Exception as e:  # noqa: BLE001
                    problems.append(f"kill {h}: {e}")
            for h in self.NAMES:
                ns = self.ns[h]
                if ns in self._created_ns:
                    try:
                        problems += destroy_namespace(ns, [self.prefixes[h]])
                    except Exception as e:  # noqa: BLE001
                        problems.append(f"{ns}: {e}")
                    self.powered.discard(h)
                    self._save_artifacts(h)
            if self.switch_ns in self._created_ns:
                try:
                    problems += destroy_namespace(self.switch_ns)
                except Exception as e:  # noqa: BLE001
                    problems.append(f"{self.switch_ns}: {e}")
            if not self.keep_prefixes:
                for h in self.NAMES:
                    shutil.rmtree(self.prefixes[h], ignore_errors=True)
            if self._reaper:
                try:
                    self._reaper.stdin.close()  # EOF: the reaper checks, finds nothing, ends
                    self._reaper.wait(timeout=60)
                except Exception as e:  # noqa: BLE001
                    problems.append(f"reaper: {e}")
            if self in _open_hosts:
                _open_hosts.remove(self)
        finally:
            _closing[0] -= 1
        for p in problems:
            print(f"hosts cleanup: {p}", file=sys.stderr)
        sig = _pending_signal[0]
        if sig and not _closing[0] and threading.current_thread() is threading.main_thread():
            _pending_signal[0] = None
            raise SystemExit(128 + sig)

    def _save_artifacts(self, h):
        """Keeps the host's nlbctl folder (state, sim files, log) for post-mortem."""
        src = os.path.join(self.prefixes[h], "drive_c", "ProgramData", "nlbctl")
        dst = os.path.join(self.dirs[h], "ProgramData-nlbctl")
        if os.path.isdir(src):
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst, dirs_exist_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # ---- configs -----------------------------------------------------------------
    def detect_features(self):
        """Which optional config keys this source tree's config.h knows."""
        text = ""
        for rel in ("service/core/config.h", "nlbctld.example.ini"):
            try:
                with open(os.path.join(self.source_dir, rel), errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        self.features = {
            "security": bool(re.search(r"\[security\]", text)),
            "peer": bool(re.search(r"\bpeer_listen\b", text)),
        }
        return self.features

    def config_path(self, host):
        return os.path.join(self.dirs[self._host(host)], "nlbctld.ini")

    def log_path(self, host):
        return os.path.join(self.dirs[self._host(host)], "nlbctld.log")

    def configs(self):
        """{host: {section: {key: value}}}, before writing."""
        feats = self.detect_features()
        pair = {"name": "sip", "node1": "node1", "node2": "node2", "preferred": self.preferred}
        base = {"state_dir": "C:\\ProgramData\\nlbctl"}
        out = {"coord": {
            "nlbctld": dict(role="coordinator", **base),
            "pair": dict(pair),
            "coordinator": {"listen": f"{self.addr['coord']}:{COORD_PORT}",
                            "election_wait_ms": str(self.election_wait_ms),
                            "switchover_timeout_ms": str(self.switchover_timeout_ms)},
        }}
        for node in self.NODES:
            other = "node2" if node == "node1" else "node1"
            agent = {"node": node, "coordinator": f"{self.addr['coord']}:{COORD_PORT}"}
            if feats["peer"]:
                agent["peer"] = f"{self.addr[other]}:{PEER_PORT}"
                agent["peer_listen"] = f"0.0.0.0:{PEER_PORT}"
            out[node] = {
                "nlbctld": dict(role="agent", **base),
                "pair": dict(pair),
                "agent": agent,
                "nlb": {"backend": "sim", "vip": self.vip, "port": str(self.port),
                        "sim_dir": "C:\\ProgramData\\nlbctl\\sim"},
            }
        for h in self.NAMES:
            if feats["security"]:
                out[h]["security"] = {"key": self.key}
            for scope in ("*", h):
                for section, keys in self.config_extra.get(scope, {}).items():
                    sec = out[h].setdefault(section, {})
                    for k, v in keys.items():
                        if v is None:
                            sec.pop(k, None)
                        else:
                            sec[k] = str(v)
        return out

    def write_configs(self):
        for h, sections in self.configs().items():
            text = "".join(f"[{s}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
                           for s, keys in sections.items())
            with open(self.config_path(h), "w") as f:
                f.write(text)

    # ---- processes -----------------------------------------------------------------
    def start(self, host, mark=False):
        """Starts host's nlbctld in console mode inside its namespace."""
        h = self._host(host)
        if h in self.procs and self.procs[h].poll() is None:
            raise TestFailure(f"{h}: nlbctld is already running")
        if h not in self.powered:
            raise TestFailure(f"{h} is powered off")
        log = open(self.log_path(h), "ab")
        self.logs[h] = log
        self.procs[h] = subprocess.Popen(
            self.in_ns(h, "wine", self.nlbctld, "--console", "--config",
                       wine_path(self.config_path(h))),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.wine_env(h), start_new_session=True)
        if mark:
            self.mark_fault(f"start {h}")

    def start_all(self):
        self.write_configs()
        for h in self.NAMES:
            self.start(h)

    def running(self, host):
        p = self.procs.get(self._host(host))
        return bool(p and p.poll() is None)

    def kill(self, host, mark=True):
        """SIGKILL of host's nlbctld (by its pid): a crash, no goodbye."""
        h = self._host(host)
        p = self.procs.pop(h, None)
        if p and p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        log = self.logs.pop(h, None)
        if log:
            log.close()
        if mark:
            self.mark_fault(f"kill {h}")

    def restart(self, host):
        self.kill(host)
        self.start(host, mark=True)

    def power_off(self, host):
        """Every Windows process of the host ends at once (wineserver -k)."""
        h = self._host(host)
        self.mark_fault(f"power off {h}")
        self.kill(h, mark=False)
        _quiet(self.in_ns(h, "wineserver", "-k"), timeout=20, env=self.wine_env(h))
        deadline = time.monotonic() + 10
        while namespace_pids(self.ns[h]) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.powered.discard(h)
        self.mark_fault(f"power off {h}")

    def power_on(self, host, start_daemon=True):
        h = self._host(host)
        self._boot(h)
        if start_daemon:
            self.start(h)
        self.mark_fault(f"power on {h}")

    def dump_logs(self, tail=6000):
        for h in self.NAMES:
            path = self.log_path(h)
            if os.path.exists(path):
                print(f"----- {h} nlbctld.log -----")
                with open(path, errors="replace") as f:
                    print(f.read()[-tail:])

    # ---- commands inside a host ------------------------------------------------------
    def exec(self, host, *args, timeout=30, check=False):
        """A Linux command inside host's namespace."""
        return _run(self.in_ns(host, *args), timeout=timeout, check=check)

    def wine(self, host, *args, timeout=60):
        """A Windows program of host (e.g. 'sc', 'query', ...): (rc, stdout, stderr)."""
        try:
            r = subprocess.run(self.in_ns(host, "wine", *args), capture_output=True, text=True,
                               timeout=timeout, env=self.wine_env(host),
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"{host}: wine {' '.join(args)}: no answer in {timeout} s")
        return r.returncode, r.stdout, r.stderr

    def nlbctl(self, *args, host="coord", timeout=60):
        """nlbctl on host (its local pipe, default name): (rc, stdout, stderr)."""
        return self.wine(host, self.nlbctl_exe, *args, timeout=timeout)

    def status(self, host="coord"):
        rc, out, err = self.nlbctl("status", "--json", host=host)
        if rc != 0:
            raise TestFailure(f"{host}: nlbctl status --json exited {rc}: {err.strip()}")
        try:
            return json.loads(out)
        except ValueError:
            raise TestFailure(f"{host}: nlbctl status --json printed {out!r}")

    def can_reach(self, a, b, port=9, timeout=1.0):
        """True if a TCP connect from host a to host b's address gets an answer
        (accepted or refused) within timeout."""
        code = ("import socket,sys\n"
                "s=socket.socket();s.settimeout(float(sys.argv[3]))\n"
                "try:\n s.connect((sys.argv[1],int(sys.argv[2])));print('open')\n"
                "except ConnectionRefusedError:\n print('refused')\n"
                "except OSError as e:\n print('no',e)\n")
        r = self.exec(a, sys.executable, "-c", code, self.addr[self._host(b)], str(port),
                      str(timeout), timeout=timeout + 20)
        return r.stdout.startswith(("open", "refused"))

    # ---- the sim NLB, one per node host --------------------------------------------------
    def sim_dir(self, node):
        return os.path.join(self.prefixes[self._host(node)], "drive_c", "ProgramData",
                            "nlbctl", "sim")

    def sim_file(self, node):
        return os.path.join(self.sim_dir(node), f"{node}_{self.vip}_{self.port}.state")

    def set_port_state(self, node, state):
        """Drift: changes the sim NLB behind the agent's back."""
        self.mark_fault(f"drift {node} {state}")
        os.makedirs(self.sim_dir(node), exist_ok=True)
        with open(self.sim_file(node), "w") as f:
            f.write(f"{state}\r\n")

    # ---- faults --------------------------------------------------------------------------
    def mark_fault(self, what="fault"):
        for w in list(self.watches):
            w.fault(what)

    def cut_link(self, host):
        h = self._host(host)
        self._ip(self.switch_ns, "link", "set", self.veth(h), "down")
        self.links_down.add(h)
        self.mark_fault(f"cut {h}")

    def restore_link(self, host):
        h = self._host(host)
        self._ip(self.switch_ns, "link", "set", self.veth(h), "up")
        self.links_down.discard(h)
        self.mark_fault(f"restore {h}")

    def cut_sip(self, host):
        """h's SIP network card unplugged (sip_net): no SIP in or out, while
        its links to the coordinator and the peer (eth0) stay up."""
        h = self._host(host)
        self._ip(self.switch_ns, "link", "set", self.sip_veth(h), "down")
        self.mark_fault(f"cut SIP {h}")

    def restore_sip(self, host):
        h = self._host(host)
        self._ip(self.switch_ns, "link", "set", self.sip_veth(h), "up")
        self.mark_fault(f"restore SIP {h}")

    def partition(self, a, b, both_ways=True):
        """Drops packets between hosts a and b only (a to b; and b to a unless
        both_ways is False). Other pairs still talk."""
        a, b = self._host(a), self._host(b)
        if a == b:
            raise TestFailure("partition needs two different hosts")
        self.drops.add((a, b))
        if both_ways:
            self.drops.add((b, a))
        self._apply_firewall(a)
        self._apply_firewall(b)
        self.mark_fault(f"partition {a}{'<' if both_ways else ''}->{b}")

    def heal(self, a=None, b=None):
        """Removes the drops between a and b (both ways); with no arguments, all."""
        if a is None:
            touched = {h for pair in self.drops for h in pair}
            self.drops.clear()
        else:
            a, b = self._host(a), self._host(b)
            self.drops -= {(a, b), (b, a)}
            touched = {a, b}
        for h in touched:
            self._apply_firewall(h)
        self.mark_fault("heal")

    def _firewall_tool(self):
        if self.firewall:
            return self.firewall
        if shutil.which("nft"):
            r = self.exec("coord", "nft", "list", "tables")
            if r.returncode == 0:
                self.firewall = "nft"
                return self.firewall
        if shutil.which("iptables"):
            r = self.exec("coord", "iptables", "-w", "-L", "OUTPUT", "-n")
            if r.returncode == 0:
                self.firewall = "iptables"
                return self.firewall
        raise Skip("no usable nftables or iptables for partitions")

    def _apply_firewall(self, h):
        """Rewrites h's whole rule set from self.drops (atomic with nft)."""
        outs = sorted(self.addr[d] for s, d in self.drops if s == h)
        ins = sorted(self.addr[s] for s, d in self.drops if d == h)
        if self._firewall_tool() == "nft":
            t = f"table inet {FIREWALL_TABLE}"
            script = f"{t} {{}}\ndelete {t}\n"
            if outs or ins:
                script += (f"{t} {{\n"
                           f" chain input {{ type filter hook input priority 0; policy accept;\n"
                           + "".join(f"  ip saddr {x} drop\n" for x in ins) + " }\n"
                           f" chain output {{ type filter hook output priority 0; policy accept;\n"
                           + "".join(f"  ip daddr {x} drop\n" for x in outs) + " }\n}\n")
            r = _run(self.in_ns(h, "nft", "-f", "-"), input=script, check=False)
            if r.returncode != 0:
                raise TestFailure(f"{h}: nft refused the rules: {r.stderr.strip()}\n{script}")
        else:
            cmds = [["-F", "INPUT"], ["-F", "OUTPUT"]]
            cmds += [["-A", "INPUT", "-s", x, "-j", "DROP"] for x in ins]
            cmds += [["-A", "OUTPUT", "-d", x, "-j", "DROP"] for x in outs]
            for c in cmds:
                _run(self.in_ns(h, "iptables", "-w", *c))

    def netem(self, host, delay_ms=0, jitter_ms=0, loss_pct=0.0):
        """Delay/loss on host's link, both directions (tc netem on both veth ends)."""
        h = self._host(host)
        spec = ["delay", f"{delay_ms}ms"] + ([f"{jitter_ms}ms"] if jitter_ms else [])
        if loss_pct:
            spec += ["loss", f"{loss_pct}%"]
        for ns, dev in ((self.switch_ns, self.veth(h)), (self.ns[h], "eth0")):
            r = _run(["ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", dev, "root",
                      "netem", *spec], check=False)
            if r.returncode != 0:
                if "unknown" in r.stderr.lower() or "not supported" in r.stderr.lower():
                    raise Skip(f"tc netem is not available here: {r.stderr.strip()}")
                raise TestFailure(f"tc netem on {dev}: {r.stderr.strip()}")
        self.mark_fault(f"netem {h}")

    def clear_netem(self, host):
        h = self._host(host)
        for ns, dev in ((self.switch_ns, self.veth(h)), (self.ns[h], "eth0")):
            _run(["ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root"],
                 check=False)
        self.mark_fault(f"clear netem {h}")


class SplitBrainWatch:
    """Samples both nodes' sim files every `interval` s in the background.
    Every sample with two ports enabled is kept in `overlaps`; it counts as a
    violation of I1 only if no fault was marked in the `settle` seconds
    before it (I1: once settled, one NLB command time after a change, at most
    one node enabled). Faults injected through Hosts mark themselves; a test
    marks others with fault()."""

    def __init__(self, hosts, settle=1.0, interval=0.01):
        self.hosts, self.settle, self.interval = hosts, settle, interval
        self.violations = []   # (time, enabled nodes, seconds since the last fault or None)
        self.overlaps = []     # (time, enabled nodes)
        self.faults = []       # (time, what)
        self.samples = 0
        self._last_fault = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def fault(self, what="fault"):
        with self._lock:
            self._last_fault = time.monotonic()
            self.faults.append((self._last_fault, what))

    def _run(self):
        while not self._stop.is_set():
            enabled = self.hosts.enabled_nodes()
            now = time.monotonic()
            self.samples += 1
            if len(enabled) > 1:
                self.overlaps.append((now, enabled))
                with self._lock:
                    since = None if self._last_fault is None else now - self._last_fault
                if since is None or since >= self.settle:
                    self.violations.append((now, enabled, since))
            self._stop.wait(self.interval)

    def longest_overlap(self):
        """Longest run of consecutive overlapping samples, in seconds."""
        best, start, prev = 0.0, None, None
        for t, _ in self.overlaps:
            if prev is None or t - prev > 5 * self.interval + 0.05:
                start = t
            best = max(best, t - start)
            prev = t
        return best

    def start(self):
        self.hosts.watches.append(self)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self in self.hosts.watches:
            self.hosts.watches.remove(self)

    def check(self):
        if self.violations:
            raise TestFailure(f"I1: two ports enabled after the {self.settle} s settle window "
                              f"in {len(self.violations)} of {self.samples} samples; first: "
                              f"{self.violations[:3]}; faults: {self.faults}")

    def summary(self):
        return (f"{self.samples} samples, {len(self.overlaps)} with two enabled "
                f"(longest {self.longest_overlap():.3f} s), {len(self.violations)} violations "
                f"after a {self.settle} s settle window, {len(self.faults)} faults marked")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


# ---- the reaper: `hosts.py --reaper RUN_ID [PREFIX...]` -------------------------------

def _reaper_main(argv):
    run_id, prefixes = argv[0], argv[1:]
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    try:
        sys.stdin.buffer.read()  # EOF when the test process ends, however it ends
    except OSError:
        pass
    names = [ns for ns in list_namespaces() if ns.startswith(f"{NS_PREFIX}-{run_id}-")]
    for ns in sorted(names, key=lambda n: n.endswith("-sw")):  # hosts first, switch last
        problems = destroy_namespace(ns)  # finds each Wine prefix from its processes
        print(f"reaper: removed {ns}" + (f" ({'; '.join(problems)})" if problems else ""),
              flush=True)
    for p in prefixes:
        if os.path.isdir(p):
            shutil.rmtree(p, ignore_errors=True)
            print(f"reaper: removed {p}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--reaper":
        _reaper_main(sys.argv[2:])
    elif len(sys.argv) == 2 and sys.argv[1] == "--cleanup-stale":
        print("\n".join(cleanup_stale()) or "nothing to clean")
    else:
        print("usage: hosts.py --cleanup-stale   (the harness is a module for the tests)")
        sys.exit(2)
