#!/usr/bin/env python3
"""Drain with SIP over TCP, where it matters: SIPp places INVITE/BYE calls
(1.5 s long, 8 per second), one TCP connection per call (-t tn), through the
VIP dispatcher, which keeps each connection on the node it opened on and
drops it when that node's rule is disabled, as NLB does.

1. A drained switchover ([nlb] drain_ms 4000): the calls in progress finish
   on the old primary while new ones open on the new primary: no failed
   call.
2. A failover (the primary's application killed) never drains: the rule
   goes straight to disabled and the new primary takes new calls; the calls
   that were on the dead application are lost (printed, not asserted:
   SIPp 3.6 ends a -t tn run at the first connection reset, so it cannot
   count what comes after).
I1 (two rules enabled) is sampled throughout; a draining rule is not an
enabled one.

usage: w1_drain_tcp.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until  # noqa: E402
from sipp import Sipp  # noqa: E402
from vip import Dispatcher, free_udp_port  # noqa: E402
import w4_sip_path as w4  # noqa: E402

DRAIN_MS = 4000
CALL_RATE, CALL_MS = 8, 1500


def calls_done(load):
    t = load.totals()
    return t["successful"] + t["failed"] if t else 0


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="dtcp", app=False,
                      extra={"nlb": f"drain_ms = {DRAIN_MS}"})
    node_ports = {node: free_udp_port() for node in cluster.NODES}
    disp = Dispatcher(cluster, node_ports, tcp=True)
    target = f"127.0.0.1:{disp.vip_port}"
    load = None
    try:
        with cluster, disp, SplitBrainWatch(cluster) as watch:
            w4.write_configs(cluster, node_ports)
            cluster.start("coordinator")
            for node in cluster.NODES:
                cluster.start(node)
            wait_until("election of node1", lambda: w4.serving(cluster, "node1"), timeout=40)
            for node in cluster.NODES:
                wait_until(f"{node}'s SIP server healthy",
                           lambda n=node: w4.app_healthy(cluster, n), timeout=20)

            # 1. drained switchover under TCP calls
            load = Sipp(work, "tcp-calls", target, "127.0.0.1", "uac", CALL_RATE,
                        CALL_RATE * 16, call_ms=CALL_MS, transport="tn", timeout_s=60).start()
            wait_until("calls flowing via node1", lambda: disp.answered["node1"] >= 3 * CALL_RATE,
                       timeout=20)
            rc, out, err = cluster.nlbctl("switchover")
            if rc != 0:
                raise TestFailure(f"switchover: exit {rc}: {err.strip()}")
            if cluster.ports() != {"node1": "draining", "node2": "enabled"}:
                raise TestFailure(f"expected node1 draining, node2 enabled: {cluster.ports()}")
            wait_until("node1's drain to end", lambda: cluster.port_state("node1") == "disabled",
                       timeout=DRAIN_MS / 1000 + 5, interval=0.05)
            if not load.wait(timeout=40):
                raise TestFailure(f"SIPp did not finish: {load.output_tail()}")
            t = load.totals()
            c = disp.counters()
            print(f"drained switchover (drain_ms {DRAIN_MS}) under {CALL_RATE} TCP calls/s of "
                  f"{CALL_MS} ms: {t}; connections {c['tcp']}")
            if not t or t["failed"] != 0 or t["successful"] < CALL_RATE * 10:
                raise TestFailure(f"a drained switchover lost calls: {t}; {load.output_tail()}")
            if c["tcp"]["opened"]["node2"] == 0 or c["tcp"]["dropped"]["node1"] != 0:
                raise TestFailure(f"connections were not drained: {c['tcp']}")
            load.stop()

            # 2. a failover does not drain
            wait_until("node1's SIP server healthy", lambda: w4.app_healthy(cluster, "node1"),
                       timeout=20)
            load = Sipp(work, "tcp-calls-2", target, "127.0.0.1", "uac", CALL_RATE,
                        CALL_RATE * 8, call_ms=CALL_MS, transport="tn", timeout_s=60).start()
            before = disp.answered["node2"]
            wait_until("calls flowing via node2",
                       lambda: disp.answered["node2"] >= before + 3 * CALL_RATE, timeout=20)
            for pid in w4.sip_pids(cluster, "node2"):
                os.kill(pid, signal.SIGKILL)
            seen = set()

            def disabled():
                seen.add(cluster.port_state("node2"))
                return cluster.port_state("node2") == "disabled"
            wait_until("node2's rule disabled", disabled, timeout=5, interval=0.002)
            if "draining" in seen:
                raise TestFailure(f"a failover drained: node2's rule went through {seen}")
            wait_until("node1 primary", lambda: w4.serving(cluster, "node1"), timeout=15)
            opened = disp.tcp_opened["node1"]
            probe = Sipp(work, "tcp-after", target, "127.0.0.1", "uac", CALL_RATE, CALL_RATE * 2,
                         call_ms=CALL_MS, transport="tn", timeout_s=30).start()
            if not probe.wait(timeout=30):
                raise TestFailure(f"SIPp did not finish: {probe.output_tail()}")
            t_before, t_after = load.totals(), probe.totals()
            load.stop()
            print(f"failover after an application crash: node2's rule went straight to disabled "
                  f"(no drain); calls on it: {t_before} (the dead application's calls are lost); "
                  f"new calls after: {t_after}, connections to node1 {disp.tcp_opened['node1'] - opened}")
            if not t_after or t_after["failed"] or t_after["successful"] < CALL_RATE * 2:
                raise TestFailure(f"new TCP calls fail after the failover: {t_after}; "
                                  f"{probe.output_tail()}")
        if watch.violations:
            raise TestFailure(f"two rules enabled at once: {watch.violations[:3]}")
        print(f"I1 held in all {watch.samples} samples")
    except Exception:
        cluster.dump_logs()
        if load:
            print(load.output_tail())
        raise
    finally:
        if load:
            load.stop()
        w4.kill_sip_apps(cluster)
    print("PASS")


if __name__ == "__main__":
    main()
