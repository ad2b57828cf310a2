#!/usr/bin/env python3
"""W4 and W5 on three network-namespace hosts with two networks each (the
seed's two-NIC hosts, hosts.py sip_net): eth0 carries the coordinator and
peer links, eth1 the SIP LAN. SIPp (in the SIP LAN's client namespace) sends
OPTIONS and INVITE/BYE calls to the VIP, which vip.Dispatcher delivers to the
node whose sim NLB rule is enabled, as NLB does.

Each node runs the stand-in SIP server (started by its agent) bound to its
eth1 address, with passive monitoring (SERVICE_UNAVAILABLE after 1.5 s of
silence); the coordinator probes both nodes' SIP addresses (active
monitoring, 200 ms, fall 3), which is also the trickle that keeps an idle
server from calling itself unavailable.

1. Idle: no load for several times the silence limit: no switchover.
2. Load: traffic reaches node1 only.
3. W4: node1's SIP card is unplugged (its eth1 down), its NLB host leaves
   the cluster and ignores commands (sim fault 'disconnected'), so its rule
   stays enabled. The pair switches over; the outage seen through the VIP is
   printed.
4. W5: the card returns with node1's rule still enabled: node1's agent
   disables it without a second switchover; node1 gets no VIP traffic after
   that; node1 is an eligible backup, no failback.
I1 is sampled throughout (a fault marked; the returning stale rule is the
one moment two rules may read enabled, within the settle window).

usage: w4_hosts.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hosts import SIP_LAN_ADDR, Hosts, SplitBrainWatch, run_script  # noqa: E402
from harness import TestFailure, wait_until  # noqa: E402
from fault_matrix import app_is, coord_status, serving  # noqa: E402
from sipp import Sipp  # noqa: E402
from vip import Dispatcher  # noqa: E402

SIP_PORT = 5060
SILENCE_MS = 1500
PROBE = {"interval_ms": 200, "timeout_ms": 150, "rise": 2, "fall": 3}
OPTIONS_RATE, CALL_RATE = 20, 5


def config_extra(hosts):
    extra = {"coord": {"sip_monitor": {
        "node1": f"{hosts.sip_addr['node1']}:{SIP_PORT}",
        "node2": f"{hosts.sip_addr['node2']}:{SIP_PORT}",
        "vip": f"{hosts.vip}:{SIP_PORT}", **PROBE}}}
    for node in hosts.NODES:
        extra[node] = {"application": {
            "path": "C:\\sip_app.exe",
            "args": (f"--port {SIP_PORT} --bind {hosts.sip_addr[node]} --agent-pipe nlbctld "
                     f"--silence-ms {SILENCE_MS} --log C:\\sip_app.log")}}
    return extra


def sip_log(hosts, node):
    try:
        with open(os.path.join(hosts.prefixes[node], "drive_c", "sip_app.log"),
                  errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    hosts = Hosts(build_dir, work, sip_net=True, switchover_timeout_ms=10000)
    hosts.config_extra = config_extra(hosts)
    loads = []
    with hosts:
        hosts.setup()
        for node in hosts.NODES:
            shutil.copy(os.path.join(build_dir, "tests", "apps", "sip_app.exe"),
                        os.path.join(hosts.prefixes[node], "drive_c", "sip_app.exe"))
        # I1's settle window after the card returns: the agent's next retry
        # of its disable (one heartbeat, 500 ms) plus one NLB command time.
        watch = SplitBrainWatch(hosts, settle=1.1)
        disp = None
        try:
            with watch:
                hosts.start_all()
                wait_until("election of node1", lambda: serving(hosts, "node1"), timeout=40)
                for node in hosts.NODES:
                    wait_until(f"{node}'s SIP server healthy",
                               lambda n=node: app_is(hosts, n, "healthy"), timeout=20)
                epoch0 = coord_status(hosts)["epoch"]
                coord_log = open(hosts.log_path("coord"), errors="replace").read()
                if "SIP monitor: OPTIONS to node1 192.0.2.11:5060" not in coord_log:
                    raise TestFailure("the coordinator did not start its SIP monitor")

                # 1. idle, probes only
                idle = 4 * SILENCE_MS / 1000
                time.sleep(idle)
                st = coord_status(hosts)
                if not serving(hosts, "node1") or st["epoch"] != epoch0:
                    raise TestFailure(f"an idle pair (probes only) changed: {st}")
                if "SERVICE_UNAVAILABLE" in open(hosts.log_path("node1"), errors="replace").read():
                    raise TestFailure("node1's idle SIP server reported SERVICE_UNAVAILABLE")
                print(f"idle {idle:.1f} s (silence limit {SILENCE_MS} ms), coordinator probes "
                      f"only: no switchover")

                # 2. load through the VIP
                disp = Dispatcher(hosts, {n: (hosts.sip_addr[n], SIP_PORT) for n in hosts.NODES},
                                  vip_port=SIP_PORT, probe_interval=0, vip_host=hosts.vip,
                                  local_host=SIP_LAN_ADDR,
                                  netns=hosts.netns_path(hosts.sip_ns)).start()
                prefix = ["ip", "netns", "exec", hosts.sip_ns]
                target = f"{hosts.vip}:{SIP_PORT}"
                loads = [Sipp(work, "options", target, SIP_LAN_ADDR, "options", OPTIONS_RATE,
                              OPTIONS_RATE * 90, prefix=prefix).start(),
                         Sipp(work, "calls", target, SIP_LAN_ADDR, "uac", CALL_RATE,
                              CALL_RATE * 90, call_ms=1000, prefix=prefix).start()]
                wait_until("40 answers via node1", lambda: disp.answered["node1"] >= 40,
                           timeout=20)
                if disp.delivered["node2"]:
                    raise TestFailure(f"the backup got VIP traffic: {disp.counters()}")
                print(f"SIPp: OPTIONS {OPTIONS_RATE}/s and INVITE/BYE calls {CALL_RATE}/s to "
                      f"the VIP; traffic reaches node1 only: {disp.counters()['delivered']}")

                # 3. W4
                t_cut = time.monotonic()
                hosts.cut_sip("node1")
                hosts.set_fault("node1", "disconnected")
                wait_until("node2's port enabled", lambda: hosts.port_state("node2") == "enabled",
                           timeout=20, interval=0.01)
                t_enabled = time.monotonic() - t_cut
                wait_until("an answer via node2", lambda: disp.first_answer_after("node2", t_cut),
                           timeout=10, interval=0.01)
                outage = disp.first_answer_after("node2", t_cut) - t_cut
                wait_until("node2 primary and settled", lambda: serving(hosts, "node2"),
                           timeout=20)
                epoch1 = coord_status(hosts)["epoch"]
                if hosts.rule_state("node1") != "enabled":
                    raise TestFailure(f"node1's NLB was to ignore commands, yet its rule reads "
                                      f"{hosts.rule_state('node1')}")
                clog = open(hosts.log_path("coord"), errors="replace").read()
                signals = [s for s, needle in (
                    ("SIP probes", "SIP monitor: node1 stopped answering"),
                    ("SERVICE_UNAVAILABLE", "application on node1 (primary) failed"),
                    ("out of the cluster", "node1 (primary) is out of the cluster")) if needle in clog]
                print(f"W4: node1's SIP card unplugged, its NLB ignoring commands (rule left "
                      f"enabled): node2 enabled after {t_enabled * 1000:.0f} ms, OUTAGE through "
                      f"the VIP {outage * 1000:.0f} ms; signals seen by the coordinator: "
                      f"{', '.join(signals) or 'none logged'}")
                if not signals:
                    raise TestFailure("the coordinator logged no reason for the switchover")

                # 4. W5
                time.sleep(1.0)
                t_back = time.monotonic()
                # The card first, then NLB's host back in the cluster with its
                # rule as it was (enabled).
                hosts.restore_sip("node1")
                hosts.set_fault("node1", None)
                wait_until("node1's stale rule disabled by its agent",
                           lambda: hosts.rule_state("node1") == "disabled", timeout=5,
                           interval=0.01)
                repair = time.monotonic() - t_back
                n1 = disp.delivered["node1"]
                wait_until("node1 healthy again", lambda: app_is(hosts, "node1", "healthy"),
                           timeout=20)
                time.sleep(3)
                st = coord_status(hosts)
                if not serving(hosts, "node2") or st["epoch"] != epoch1:
                    raise TestFailure(f"a second switchover or failback after node1 returned: {st}")
                if disp.delivered["node1"] != n1:
                    raise TestFailure(f"node1 (backup) got VIP traffic after its rule was "
                                      f"disabled: {disp.counters()}")
                print(f"W5: node1's card back with its rule enabled; its agent disabled it after "
                      f"{repair * 1000:.0f} ms; no second switchover (epoch {epoch1}), node1 gets "
                      f"no VIP traffic, eligible backup, no failback")
            for load in loads:
                load.stop()
            totals = {load.name: load.totals() for load in loads}
            print(f"SIPp totals: {totals}")
            if not totals["calls"] or totals["calls"]["successful"] < 10:
                raise TestFailure(f"too few successful INVITE/BYE calls: {totals}; "
                                  f"{loads[1].output_tail()}")
            print(f"I1: {watch.summary()}")
            watch.check()
        except Exception:
            hosts.dump_logs()
            for node in hosts.NODES:
                print(f"----- {node} sip_app.log -----\n{sip_log(hosts, node)[-2000:]}")
            raise
        finally:
            for load in loads:
                load.stop()
            if disp:
                disp.stop()
    print("PASS")


if __name__ == "__main__":
    run_script(main)
