#!/usr/bin/env python3
"""W4 and W5 on loopback. W4: the primary's SIP path is cut (its SIP NIC
unplugged) while its links to the coordinator and the peer stay up; its NLB
host leaves the cluster and ignores commands, as the seed describes (sim
fault 'disconnected'), so its rule stays enabled. Its SIP server (sip_app,
started by its agent) stops receiving SIP and reports SERVICE_UNAVAILABLE to
the agent over the pipe (WIRE_APP_STATUS) after --silence-ms; the agent
reads its port 'disconnected' (out of the cluster: not serving), and the
coordinator takes that as the old primary's disable and promotes the backup;
the VIP traffic then reaches node2. The outage (cut -> first answer via
node2) is measured and printed.
W5: the path returns with node1's rule still enabled; node1's agent (backup)
disables it at its next retry, with no second switchover; node1 is an
eligible backup again, with no failback; the backup gets no VIP traffic
after that repair. I1 is sampled throughout; two enabled rules are allowed
only inside the W5 repair window (one NLB command time plus the heartbeat
retry after the host's return).

Layout: vip.Dispatcher emulates NLB on 127.0.0.1:<vip port>; each node's
sip_app listens on 127.0.0.1:<its own port>. Load: SIPp sending OPTIONS to
the VIP at 20/s (a Python sender if sipp is not installed, with the reason
printed).

Passive monitoring needs a steady trickle of SIP: an idle server cannot tell
"nobody calls" from "nothing reaches me". The backup gets no VIP traffic at
all, so the dispatcher also sends OPTIONS pings straight to every node whose
path is not cut (what the coordinator's active monitoring does in the
product). The last step checks that, with those pings only and no load at
all, the primary does not report SERVICE_UNAVAILABLE.

usage: w4_sip_path.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until, wine_path  # noqa: E402
from sipp import OPTIONS_XML  # noqa: E402 - also the bench's, through this module
from vip import Dispatcher, OptionsSender, free_udp_port  # noqa: E402

SILENCE_MS = 1500
RATE = 20



class Load:
    """SIPp (preferred) or the Python OPTIONS sender, to the VIP, bounded."""

    def __init__(self, work, vip_port):
        self.work, self.vip_port = work, vip_port
        self.proc = self.sender = self.out = None

    def start(self):
        sipp = shutil.which("sipp")
        if sipp:
            xml = os.path.join(self.work, "options.xml")
            with open(xml, "w") as f:
                f.write(OPTIONS_XML)
            self.out = open(os.path.join(self.work, "sipp.out"), "wb")
            self.proc = subprocess.Popen(
                [sipp, f"127.0.0.1:{self.vip_port}", "-sf", xml, "-i", "127.0.0.1",
                 "-r", str(RATE), "-rp", "1000", "-m", str(RATE * 120), "-timeout", "150s",
                 "-nr", "-nostdin", "-trace_err", "-error_file",
                 os.path.join(self.work, "sipp_errors.log")],
                cwd=self.work, stdout=self.out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
            print(f"load: SIPp (pid {self.proc.pid}) sending OPTIONS to 127.0.0.1:{self.vip_port} "
                  f"at {RATE}/s")
        else:
            print("load: sipp not found on PATH (scripts/bootstrap.sh installs sip-tester); "
                  "falling back to the Python OPTIONS sender")
            self.sender = OptionsSender(self.vip_port, rate=RATE, count=RATE * 120).start()

    def running(self):
        if self.proc:
            return self.proc.poll() is None
        return bool(self.sender and self.sender.running())

    def stop(self):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            self.proc = None
        if self.out:
            self.out.close()
            self.out = None
        if self.sender:
            self.sender.stop()
            print(f"load: python sender sent {self.sender.sent}, {self.sender.answered} answered")
            self.sender = None


def sip_exe(cluster, node):
    """Each node's own copy, so its processes can be found (and killed) by name."""
    path = os.path.join(cluster.work, "apps", f"sip-{cluster.tag}-{node}.exe")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copy(os.path.join(cluster.build_dir, "tests", "apps", "sip_app.exe"), path)
    return path


def sip_pids(cluster, node):
    name = os.path.basename(sip_exe(cluster, node))
    r = subprocess.run(["pgrep", "-f", name], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def signal_all(pids, sig):
    """Signals each process that is still there."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_sip_apps(cluster):
    for node in cluster.NODES:
        signal_all(sip_pids(cluster, node), signal.SIGKILL)


def write_configs(cluster, node_ports, passive=True):
    """Each agent runs its own sip_app; passive: it reports silence over the pipe."""
    cluster.write_configs()
    for node in cluster.NODES:
        coop = f"--agent-pipe {cluster.pipe(node)} --silence-ms {SILENCE_MS} " if passive else ""
        args = (f"--port {node_ports[node]} --bind 127.0.0.1 {coop}"
                f"--log {wine_path(os.path.join(cluster.work, f'sip-{node}.log'))}")
        with open(cluster.config_path(node), "a") as f:
            f.write(f"[application]\npath = {wine_path(sip_exe(cluster, node))}\nargs = {args}\n")


def status(cluster):
    try:
        return cluster.status()
    except (TestFailure, ValueError, subprocess.TimeoutExpired):
        return None


def serving(cluster, primary):
    st = status(cluster)
    return bool(st and st["primary"] == primary and st["phase"] == "stable"
                and cluster.enabled_nodes() == [primary])


def app_healthy(cluster, node):
    st = status(cluster)
    if not st:
        return False
    n = next((n for n in st["nodes"] if n["name"] == node), None)
    return bool(n and n["app"] == "healthy")


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="w4", app=False)
    t_restore, repair = float("inf"), 0.0
    node_ports = {node: free_udp_port() for node in cluster.NODES}
    disp = Dispatcher(cluster, node_ports)
    load = Load(work, disp.vip_port)
    try:
        try:
            with cluster, disp, SplitBrainWatch(cluster) as watch:
                write_configs(cluster, node_ports)
                cluster.start("coordinator")
                for node in cluster.NODES:
                    cluster.start(node)
                wait_until("election of node1", lambda: serving(cluster, "node1"), timeout=40)
                for node in cluster.NODES:
                    wait_until(f"{node}'s SIP server healthy", lambda n=node: app_healthy(cluster, n),
                               timeout=20)
                wait_until("probes answered by both SIP servers",
                           lambda: all(disp.probe_answers[n] > 0 for n in cluster.NODES))
                epoch0 = cluster.status()["epoch"]
                print(f"elected: node1 primary at epoch {epoch0}; SIP servers on ports {node_ports}, "
                      f"VIP 127.0.0.1:{disp.vip_port}")

                # Traffic flows to node1 only.
                load.start()
                n2_before = disp.delivered["node2"]
                wait_until("40 answers via node1", lambda: disp.answered["node1"] >= 40, timeout=20)
                if not load.running():
                    raise TestFailure(f"the load generator stopped early: {read(os.path.join(work, 'sipp.out'))[-2000:]}")
                if disp.delivered["node2"] != n2_before:
                    raise TestFailure(f"the backup got VIP traffic while node1 served: {disp.counters()}")
                print(f"traffic flows to node1 only: {disp.counters()}")

                # W4: node1's SIP NIC is unplugged: no SIP reaches it, and its
                # NLB host leaves the cluster and ignores commands (the seed:
                # "NLB does not react to reconfiguration commands"), so its
                # rule stays enabled. Its links to coordinator and peer stay up.
                t_cut = time.monotonic()
                disp.cut("node1")
                cluster.set_fault("node1", "disconnected")
                wait_until("node2's port enabled", lambda: cluster.port_state("node2") == "enabled",
                           timeout=SILENCE_MS / 1000 + 15, interval=0.01)
                t_enabled = time.monotonic() - t_cut
                if cluster.rule_state("node1") != "enabled":
                    raise TestFailure(f"node1's NLB was to ignore commands while cut off, yet its "
                                      f"rule reads {cluster.rule_state('node1')}")
                wait_until("an answer via node2", lambda: disp.first_answer_after("node2", t_cut),
                           timeout=10, interval=0.01)
                outage = disp.first_answer_after("node2", t_cut) - t_cut
                print(f"SIP path of node1 cut (its NLB ignoring commands, rule left enabled): "
                      f"node2's port enabled after {t_enabled * 1000:.0f} ms (silence limit "
                      f"{SILENCE_MS} ms); OUTAGE (cut -> first answer via node2): "
                      f"{outage * 1000:.0f} ms")
                wait_until("node2 primary and settled", lambda: serving(cluster, "node2"), timeout=15)
                epoch1 = cluster.status()["epoch"]
                if epoch1 <= epoch0:
                    raise TestFailure(f"the switchover did not take a new epoch: {epoch1}")
                node1_log = read(os.path.join(work, "node1.log"))
                if "SERVICE_UNAVAILABLE" not in node1_log:
                    raise TestFailure("node1's agent did not log the application's SERVICE_UNAVAILABLE")
                if "SERVICE_UNAVAILABLE" not in read(os.path.join(work, "sip-node1.log")):
                    raise TestFailure("node1's sip_app did not log SERVICE_UNAVAILABLE")

                # Settle window (one NLB command time), then the backup gets no SIP.
                time.sleep(1.0)
                n1_settled = disp.delivered["node1"]
                a2 = disp.answered["node2"]

                # W5: the path returns with node1's rule still enabled (stale).
                # Its agent, backup, keeps commanding the disable, so it lands
                # as soon as NLB answers again: no second switchover, and
                # node1 an eligible backup, no failback.
                t_restore = time.monotonic()
                cluster.set_fault("node1", None)
                disp.restore("node1")
                wait_until("node1's stale rule disabled by its agent",
                           lambda: cluster.rule_state("node1") == "disabled", timeout=5,
                           interval=0.01)
                repair = time.monotonic() - t_restore
                n1_settled = disp.delivered["node1"]
                print(f"W5: node1 back with its rule enabled; its agent disabled it after "
                      f"{repair * 1000:.0f} ms (heartbeat retry), no second switchover needed")
                wait_until("node1's SIP server healthy again", lambda: app_healthy(cluster, "node1"),
                           timeout=15)
                time.sleep(4)
                if not serving(cluster, "node2") or cluster.status()["epoch"] != epoch1:
                    raise TestFailure(f"the pair changed after node1's path returned: {cluster.status()}")
                if disp.delivered["node1"] != n1_settled:
                    raise TestFailure(f"the backup node1 got VIP traffic after the settle window: "
                                      f"{disp.counters()}")
                if disp.answered["node2"] <= a2 + RATE:
                    raise TestFailure(f"traffic does not flow via node2: {disp.counters()}")
                print("node1's SIP path restored: node1 an eligible backup, no failback, "
                      f"traffic stays on node2: {disp.counters()}")

                # Idle: no load at all, only the monitor's OPTIONS pings, for
                # four times the silence threshold.
                load.stop()
                time.sleep(SILENCE_MS / 1000 * 4)
                if not serving(cluster, "node2") or cluster.status()["epoch"] != epoch1:
                    raise TestFailure(f"an idle primary (pings only) lost its role: {cluster.status()}")
                if not app_healthy(cluster, "node2"):
                    raise TestFailure("an idle primary (pings only) reported SERVICE_UNAVAILABLE")
                if disp.delivered["node1"] != n1_settled:
                    raise TestFailure(f"the backup node1 got VIP traffic: {disp.counters()}")
                print(f"idle with monitor pings only for {SILENCE_MS * 4} ms: node2 stays "
                      "primary and healthy")
                print(f"dispatcher: {disp.counters()}")
        finally:
            load.stop()
            kill_sip_apps(cluster)
        # I1: two enabled ports only while node1's stale rule waited for its
        # agent's disable after the host's return (W5), the one NLB command
        # time plus heartbeat retry the invariant allows after a change.
        window = [v for v in watch.violations if t_restore <= v[0] <= t_restore + repair + 0.1]
        if len(window) != len(watch.violations):
            raise TestFailure(f"two ports enabled at once in {len(watch.violations)} of "
                              f"{watch.samples} samples, {len(watch.violations) - len(window)} "
                              f"outside the W5 repair window")
        print(f"I1 held in all {watch.samples} samples (both rules enabled in {len(window)} "
              f"samples of the {repair * 1000:.0f} ms W5 repair window only)")
    except Exception:
        cluster.dump_logs()
        for node in cluster.NODES:
            print(f"----- sip-{node}.log -----")
            print(read(os.path.join(work, f"sip-{node}.log"))[-3000:])
        print("----- sipp.out (tail) -----")
        print(read(os.path.join(work, "sipp.out"))[-2000:])
        raise
    print("PASS")


if __name__ == "__main__":
    main()
