#!/usr/bin/env python3
"""The nlbctl demo: the seed's whole story with SIP traffic running.

Three hosts (network namespaces, each its own Windows under Wine) with two
networks each, as in the seed: the coordinator (witness) and two SIP nodes
whose agents drive the simulated NLB and watch a stand-in SIP server. SIPp
sends OPTIONS (20/s) and INVITE/BYE calls (5/s) to the VIP, which a
dispatcher delivers to the node whose NLB rule is enabled, as NLB does.

Steps: election, manual switchover, switch back, application crash, host
cut off and back, SIP network card unplugged (its NLB ignoring commands) and
back. After each: who is primary, every port state, and the SIP outage seen
through the VIP; at the end a timeline.

Without root (no namespaces) it falls back to the loopback demo: election,
switchover, switch back and application crash, without SIP traffic.

usage: demo.py BUILD_DIR    (scripts/demo.sh builds first and calls this)
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "scenario"))
from harness import Cluster, wait_until  # noqa: E402


def show(cluster, title):
    st = cluster.status()
    print(f"\n=== {title} ===")
    print(f"primary: {st['primary'] or '(none)'}   epoch: {st['epoch']}   phase: {st['phase']}")
    for node in st["nodes"]:
        print(f"  {node['name']:<6} {node['mode']:<8} port {node['port_actual']:<9}"
              f"(sim NLB file says: {cluster.port_state(node['name'])})")
    return st


def settled(cluster, primary):
    try:
        st = cluster.status()
    except Exception:
        return False
    return (st["primary"] == primary and st["phase"] == "stable"
            and cluster.enabled_nodes() == [primary])


def loopback_demo(build_dir):
    wine_dir = os.path.join(build_dir, "wine")
    prefix = os.path.join(wine_dir, "demo")
    work = os.path.join(build_dir, "demo")
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(work)
    print("Preparing a Wine prefix for the demo (a simulated Windows host)...")
    subprocess.run([os.path.join(ROOT, "tests", "wine-prefix.sh"), "copy", wine_dir, prefix],
                   check=True, stdout=subprocess.DEVNULL)
    os.environ["WINEPREFIX"] = prefix
    cluster = Cluster(build_dir, work, tag="demo", app=True)
    try:
        with cluster:
            print("Starting the coordinator and the agents of node1 and node2 "
                  "(node1 is preferred)...")
            cluster.start_all()
            wait_until("the election", lambda: settled(cluster, "node1"), timeout=30)
            show(cluster, "1. after the election")

            print("\n$ nlbctl switchover")
            t0 = time.monotonic()
            rc, out, err = cluster.nlbctl("switchover")
            print(f"{(out or err).strip()}   [exit code {rc}, {time.monotonic() - t0:.2f} s]")
            if rc != 0:
                raise SystemExit(f"demo: the switchover failed (exit code {rc})")
            wait_until("the switchover", lambda: settled(cluster, "node2"), timeout=10)
            show(cluster, "2. after the switchover")

            print("\n$ nlbctl switchover --to node1")
            t0 = time.monotonic()
            rc, out, err = cluster.nlbctl("switchover", "--to", "node1")
            print(f"{(out or err).strip()}   [exit code {rc}, {time.monotonic() - t0:.2f} s]")
            if rc != 0:
                raise SystemExit(f"demo: the switchover failed (exit code {rc})")
            wait_until("the switchover", lambda: settled(cluster, "node1"), timeout=10)
            show(cluster, "3. after the switch back")

            print("\nKilling node1's application (the SIP server, in production)...")
            t0 = time.monotonic()
            cluster.kill_app("node1")
            wait_until("node2 serving", lambda: cluster.port_state("node2") == "enabled",
                       timeout=10, interval=0.005)
            print(f"node2's port enabled {(time.monotonic() - t0) * 1000:.0f} ms after the kill")
            wait_until("the failover", lambda: settled(cluster, "node2"), timeout=10)
            show(cluster, "4. after the application crash on node1")

            print("\n$ nlbctl history   (the coordinator's decisions, newest first)")
            rc, out, err = cluster.nlbctl("history")
            print(out.rstrip())

            print("\n$ nlbctl status   (the coordinator's view, as an administrator sees it)")
            rc, out, err = cluster.nlbctl("status")
            print(out.rstrip())
            print(f"\nLogs of the three services are in {work}")
    finally:
        subprocess.run(["wineserver", "-k"], env=dict(os.environ, WINEPREFIX=prefix),
                       stderr=subprocess.DEVNULL, check=False)


def main():
    build_dir = os.path.abspath(sys.argv[1])
    import demo_hosts  # noqa: E402 - beside this file
    try:
        demo_hosts.run(build_dir)
    except demo_hosts.Skip as e:
        print(f"Three-host demo not possible here ({e}); the loopback demo instead.\n")
        loopback_demo(build_dir)


if __name__ == "__main__":
    main()
