"""The three-host demo with SIP traffic (scripts/demo.py runs it)."""
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "scenario"))
from fault_matrix import coord_status, node_of  # noqa: E402
from harness import TestFailure, wait_until  # noqa: E402
from hosts import SIP_LAN_ADDR, Hosts, Skip, namespace_pids  # noqa: E402,F401
from sipp import Sipp  # noqa: E402
from vip import Dispatcher  # noqa: E402
from w4_hosts import SIP_PORT, config_extra  # noqa: E402

OPTIONS_RATE, CALL_RATE = 20, 5


class Demo:
    def __init__(self, build_dir):
        self.build_dir = build_dir
        self.work = os.path.join(build_dir, "demo-hosts")
        self.timeline = []
        self.hosts = self.disp = None
        self.loads = []

    # ---- what the administrator sees ------------------------------------------
    def show(self, title):
        st = coord_status(self.hosts)
        print(f"\n=== {title} ===")
        if not st:
            print("(the coordinator does not answer)")
            return
        print(f"primary: {st['primary'] or '(none)'}   epoch: {st['epoch']}   "
              f"phase: {st['phase']}")
        for node in st["nodes"]:
            print(f"  {node['name']:<6} {node['mode']:<8} app {node['app']:<10} "
                  f"port {node['port_actual']:<13} link {node['link']:<5} "
                  f"(NLB: {self.hosts.port_state(node['name'])})")
        print(f"  SIP through the VIP so far: {self.disp.counters()['answered']} answered "
              f"per node")

    def settled(self, primary):
        st = coord_status(self.hosts)
        return bool(st and st["primary"] == primary and st["phase"] == "stable"
                    and self.hosts.enabled_nodes() == [primary])

    def outage(self, t0, t1):
        """The longest gap between answers through the VIP in [t0, t1]."""
        times = sorted(t for n in self.hosts.NODES for t in self.disp.answer_times[n]
                       if t0 - 1.0 <= t <= t1)
        gaps = [b - a for a, b in zip(times, times[1:]) if b >= t0]
        return max(gaps) if gaps else None

    def failed_calls(self):
        total = 0
        for load in self.loads:
            t = load.totals()
            total += t["failed"] if t else 0
        return total

    def step(self, name, primary_after, action, timeout=30):
        """Runs action(), waits for primary_after to serve alone, records the
        SIP outage and failed transactions of the step."""
        failed0 = self.failed_calls()
        t0 = time.monotonic()
        detail = action() or ""
        wait_until(f"{primary_after} serving", lambda: self.hosts.port_state(primary_after)
                   == "enabled", timeout=timeout, interval=0.01)
        t_enabled = time.monotonic() - t0
        wait_until("the pair settled", lambda: self.settled(primary_after), timeout=timeout)
        time.sleep(2.2)  # answers resume; SIPp's 1 s statistics catch up
        gap = self.outage(t0, time.monotonic())
        row = (name, primary_after, t_enabled, gap, self.failed_calls() - failed0, detail)
        self.timeline.append(row)
        self.show(name)
        print(f"  -> {primary_after} enabled {t_enabled * 1000:.0f} ms after the step began; "
              f"longest SIP silence through the VIP: "
              f"{'-' if gap is None else f'{gap * 1000:.0f} ms'}")

    # ---- the steps ---------------------------------------------------------------
    def nlbctl(self, *args):
        print(f"\n$ nlbctl {' '.join(args)}")
        rc, out, err = self.hosts.nlbctl(*args)
        print(f"{(out or err).strip()}   [exit code {rc}]")
        return f"exit {rc}"

    def kill_sip_app(self, node):
        print(f"\nKilling the SIP server on {node}...")
        for pid in namespace_pids(self.hosts.ns[node]):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"sip_app.exe" in f.read():
                        os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass

    def cut_host(self, node):
        print(f"\nPulling both network cables of {node} (host lost): it fences itself "
              f"(disables its own port) after isolation_ms, the coordinator promotes the "
              f"other node after the loss time...")
        self.hosts.cut_link(node)
        self.hosts.cut_sip(node)

    def return_host(self, node):
        print(f"\n{node}'s cables are back: it learns the newer epoch and stays backup.")
        self.hosts.restore_link(node)
        self.hosts.restore_sip(node)
        wait_until(f"{node} back as backup", lambda: (coord_status(self.hosts) or {}).get(
            "nodes") and node_of(coord_status(self.hosts), node)["link"] == "up"
            and self.hosts.rule_state(node) == "disabled", timeout=30)

    def cut_sip(self, node):
        print(f"\nUnplugging {node}'s SIP network card (its NLB host leaves the cluster and "
              f"ignores commands; the coordinator and peer links stay up)...")
        self.hosts.cut_sip(node)
        self.hosts.set_fault(node, "disconnected")

    def return_sip(self, node):
        t0 = time.monotonic()
        self.hosts.restore_sip(node)
        self.hosts.set_fault(node, None)
        wait_until(f"{node}'s stale rule disabled", lambda: self.hosts.rule_state(node)
                   == "disabled", timeout=10, interval=0.01)
        print(f"\n{node}'s SIP card is back with its NLB rule still enabled; its agent "
              f"disabled it {(time.monotonic() - t0) * 1000:.0f} ms later (no second "
              f"switchover).")

    # ---- the whole -------------------------------------------------------------------
    def run(self):
        wine_dir = os.path.join(self.build_dir, "wine")
        os.environ["NLBCTL_WINE_DIR"] = wine_dir
        subprocess.run([os.path.join(ROOT, "tests", "wine-prefix.sh"), "template", wine_dir],
                       check=True)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.hosts = Hosts(self.build_dir, self.work, sip_net=True)
        self.hosts.config_extra = config_extra(self.hosts)
        with self.hosts:
            print("Making three hosts (coord, node1, node2): network namespaces with two "
                  "networks each, a Wine prefix each (about 20 s)...")
            self.hosts.setup()
            for node in self.hosts.NODES:
                shutil.copy(os.path.join(self.build_dir, "tests", "apps", "sip_app.exe"),
                            os.path.join(self.hosts.prefixes[node], "drive_c", "sip_app.exe"))
            try:
                self.story()
            finally:
                for load in self.loads:
                    load.stop()
                if self.disp:
                    self.disp.stop()
        self.print_timeline()
        print(f"\nLogs (nlbctld.log of each host, SIPp statistics) are under {self.work}")

    def story(self):
        h = self.hosts
        print("Starting the coordinator on coord and the agents on node1 and node2 "
              "(node1 preferred); each agent starts its SIP server...")
        h.start_all()
        self.disp = Dispatcher(h, {n: (h.sip_addr[n], SIP_PORT) for n in h.NODES},
                               vip_port=SIP_PORT, probe_interval=0, vip_host=h.vip,
                               local_host=SIP_LAN_ADDR, netns=h.netns_path(h.sip_ns)).start()
        wait_until("the election", lambda: self.settled("node1"), timeout=60)
        wait_until("both SIP servers up", lambda: all(
            node_of(coord_status(h), n)["app"] == "healthy" for n in h.NODES), timeout=30)
        prefix = ["ip", "netns", "exec", h.sip_ns]
        target = f"{h.vip}:{SIP_PORT}"
        count = 600  # seconds' worth; stopped at the end
        self.loads = [Sipp(self.work, "options", target, SIP_LAN_ADDR, "options", OPTIONS_RATE,
                           OPTIONS_RATE * count, prefix=prefix, timeout_s=count).start(),
                      Sipp(self.work, "calls", target, SIP_LAN_ADDR, "uac", CALL_RATE,
                           CALL_RATE * count, call_ms=1000, prefix=prefix,
                           timeout_s=count).start()]
        time.sleep(2)
        self.timeline.append(("election", "node1", None, None, 0, ""))
        self.show("1. election: node1 (preferred) is primary; SIPp sends OPTIONS "
                  f"{OPTIONS_RATE}/s and INVITE/BYE calls {CALL_RATE}/s to the VIP")

        self.step("2. manual switchover", "node2", lambda: self.nlbctl("switchover"))
        self.step("3. switch back", "node1", lambda: self.nlbctl("switchover", "--to", "node1"))
        self.step("4. application crash on node1", "node2", lambda: self.kill_sip_app("node1"))
        wait_until("node1's SIP server restarted by its agent", lambda: node_of(
            coord_status(h), "node1")["app"] == "healthy", timeout=30)
        self.step("5. host node2 cut off", "node1", lambda: self.cut_host("node2"))
        self.return_host("node2")
        self.show("5b. node2 back: backup, no failback")
        self.step("6. SIP card of node1 unplugged", "node2", lambda: self.cut_sip("node1"))
        self.return_sip("node1")
        time.sleep(2)
        self.show("6b. node1's SIP card back: its stale rule disabled, node2 keeps serving")

        print("\n$ nlbctl history   (the coordinator's decisions, newest first)")
        rc, out, err = h.nlbctl("history")
        print(out.rstrip())

    def print_timeline(self):
        print("\n=== timeline ===")
        print("| step | primary after | port enabled after | longest SIP silence | "
              "failed SIP transactions |")
        print("|---|---|---|---|---|")
        for name, primary, t_en, gap, failed, _ in self.timeline:
            print(f"| {name} | {primary} | "
                  f"{'-' if t_en is None else f'{t_en * 1000:.0f} ms'} | "
                  f"{'-' if gap is None else f'{gap * 1000:.0f} ms'} | {failed} |")
        totals = {load.name: load.totals() for load in self.loads}
        print(f"\nSIPp totals: {totals}")
        print("(SIPp runs without retransmissions, so each request lost in a step is a failed "
              "transaction; a real SIP client would retransmit after 500 ms.)")


def run(build_dir):
    Demo(build_dir).run()
