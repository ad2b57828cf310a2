#!/usr/bin/env python3
"""Active SIP monitoring on loopback: the coordinator sends SIP OPTIONS to each
node's own SIP address ([sip_monitor] node1/node2) every interval.

1. Idle: no SIP load at all for many times fall x interval: no switchover
   (the probes are answered; nothing else is needed).
2. The primary's SIP server hangs (SIGSTOP: the process stays alive, so the
   agent's process monitor still sees it running, and it cannot report
   anything itself): its probes time out, and after `fall` failures in a row
   the coordinator fails over to node2. The detection time is printed.
3. The server resumes (SIGCONT): node1 answers again and is an eligible
   backup; no failback.
I1 is sampled throughout.

usage: sip_monitor.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until  # noqa: E402
from vip import free_udp_port  # noqa: E402
import w4_sip_path as w4  # noqa: E402
from w4_sip_path import app_healthy, kill_sip_apps, read, serving, signal_all, sip_pids  # noqa: E402

INTERVAL_MS, TIMEOUT_MS, RISE, FALL = 200, 150, 2, 3


def write_configs(cluster, node_ports):
    # No passive monitoring: this SIP server does not cooperate; only the
    # coordinator's probes can tell it hangs.
    w4.write_configs(cluster, node_ports, passive=False)
    with open(cluster.config_path("coordinator"), "a") as f:
        f.write(f"[sip_monitor]\nnode1 = 127.0.0.1:{node_ports['node1']}\n"
                f"node2 = 127.0.0.1:{node_ports['node2']}\ninterval_ms = {INTERVAL_MS}\n"
                f"timeout_ms = {TIMEOUT_MS}\nrise = {RISE}\nfall = {FALL}\n")


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="mon", app=False)
    node_ports = {node: free_udp_port() for node in cluster.NODES}
    stopped = []
    coord_log = os.path.join(work, "coordinator.log")
    try:
        try:
            with cluster, SplitBrainWatch(cluster) as watch:
                write_configs(cluster, node_ports)
                cluster.start("coordinator")
                for node in cluster.NODES:
                    cluster.start(node)
                wait_until("election of node1", lambda: serving(cluster, "node1"), timeout=40)
                for node in cluster.NODES:
                    wait_until(f"{node}'s SIP server running", lambda n=node: app_healthy(cluster, n),
                               timeout=20)
                if "SIP monitor: OPTIONS to node1 127.0.0.1" not in read(coord_log):
                    raise TestFailure("the coordinator did not log its SIP monitor settings")
                epoch0 = cluster.status()["epoch"]

                # 1. idle: probes only
                idle = 10 * FALL * INTERVAL_MS / 1000
                time.sleep(idle)
                if not serving(cluster, "node1") or cluster.status()["epoch"] != epoch0:
                    raise TestFailure(f"an idle pair changed with only probes: {cluster.status()}")
                if "stopped answering" in read(coord_log):
                    raise TestFailure("a probe verdict went down on an idle, healthy pair")
                print(f"idle for {idle:.1f} s with probes every {INTERVAL_MS} ms: no switchover")

                # 2. node1's SIP server hangs
                pids = sip_pids(cluster, "node1")
                if not pids:
                    raise TestFailure("node1's SIP server process not found")
                t_hang = time.monotonic()
                signal_all(pids, signal.SIGSTOP)
                stopped.extend(pids)
                wait_until("node2's port enabled", lambda: cluster.port_state("node2") == "enabled",
                           timeout=15, interval=0.01)
                took = time.monotonic() - t_hang
                wait_until("node2 primary and settled", lambda: serving(cluster, "node2"), timeout=15)
                log = read(coord_log)
                if "SIP monitor: node1 stopped answering" not in log:
                    raise TestFailure("the coordinator did not log node1's probe failures")
                if "does not answer SIP probes" not in log:
                    raise TestFailure("the failover reason does not name the SIP probes")
                if not app_healthy(cluster, "node1"):
                    raise TestFailure("node1's agent saw the hang itself: the test proves nothing")
                probes = {n["name"]: n["sip_probe"] for n in cluster.status()["nodes"]}
                if probes != {"node1": "not answering", "node2": "answering"}:
                    raise TestFailure(f"nlbctl status --json shows SIP probes {probes}")
                rc, out, _ = cluster.nlbctl("status")
                if "node1: SIP probes not answering" not in out:
                    raise TestFailure(f"nlbctl status does not show the probe verdict:\n{out}")
                bound = (FALL * INTERVAL_MS + TIMEOUT_MS) / 1000
                print(f"node1's SIP server hung (process alive, agent sees it running): node2's "
                      f"port enabled after {took * 1000:.0f} ms (detection bound fall x interval + "
                      f"timeout = {bound * 1000:.0f} ms, plus the switchover)")

                # 3. it resumes: an eligible backup again, no failback
                signal_all(stopped, signal.SIGCONT)
                stopped.clear()
                wait_until("node1 answers again",
                           lambda: "SIP monitor: node1 answers again" in read(coord_log), timeout=10)
                epoch1 = cluster.status()["epoch"]
                time.sleep(2)
                if not serving(cluster, "node2") or cluster.status()["epoch"] != epoch1:
                    raise TestFailure(f"the pair changed after node1 recovered: {cluster.status()}")
                print("node1's SIP server resumed: answers again, stays backup (no failback)")
        finally:
            signal_all(stopped, signal.SIGCONT)
            kill_sip_apps(cluster)
        if watch.violations:
            raise TestFailure(f"two ports enabled at once in {len(watch.violations)} of "
                              f"{watch.samples} samples")
        print(f"I1 held in all {watch.samples} samples")
    except Exception:
        cluster.dump_logs()
        raise
    print("PASS")


if __name__ == "__main__":
    main()
