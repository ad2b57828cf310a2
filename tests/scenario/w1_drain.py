#!/usr/bin/env python3
"""A drained switchover on the sim backend: with [nlb] drain_ms set, the old
primary's rule is drained (DrainEx: no new connections, existing ones
finish) while the new primary's is enabled, and disabled once drain_ms has
passed. The switchover itself does not wait for the drain. A failover
(the primary's application dies) never drains. I1 (two rules enabled) is
sampled throughout; a draining rule is not an enabled one.

Then the early end (issue #4), on a second cluster with a long drain_ms
(20 s): the sim NLB reports 2 connections left on the draining rule, the
drain goes on; the test sets the count to 0 and the old primary disables
its rule within about a second, not after drain_ms. Without a count (the
first part) the sim cannot tell, and the drain lasts its full drain_ms.

usage: w1_drain.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until  # noqa: E402
from w1_switchover import settled  # noqa: E402

DRAIN_MS = 3000
LONG_DRAIN_MS = 20000
EARLY_END_S = 2.0  # count 0 -> rule disabled: a few read-backs (every 125 ms) and Wine


def full_drain_and_failover(build_dir, work):
    """No connection count: the drain lasts drain_ms; a failover never drains."""
    cluster = Cluster(build_dir, work, tag="drain", app=True,
                      extra={"nlb": f"drain_ms = {DRAIN_MS}"})
    try:
        with cluster, SplitBrainWatch(cluster) as watch:
            cluster.start_all()
            wait_until("election of node1", lambda: settled(cluster, "node1"), timeout=30)

            t0 = time.monotonic()
            rc, out, err = cluster.nlbctl("switchover")
            took = time.monotonic() - t0
            if rc != 0:
                raise TestFailure(f"switchover: exit {rc}: {err}")
            ports = cluster.ports()
            print(f"switchover returned after {took:.2f} s: {out.strip()}; ports {ports}")
            if ports != {"node1": "draining", "node2": "enabled"}:
                raise TestFailure(f"expected node1 draining, node2 enabled: {ports}")
            if took > DRAIN_MS / 1000:
                raise TestFailure("the switchover waited for the drain")
            wait_until("node1's drain to end", lambda: cluster.port_state("node1") == "disabled",
                       timeout=DRAIN_MS / 1000 + 5, interval=0.05)
            drained = time.monotonic() - t0
            print(f"node1 disabled {drained:.2f} s after the switchover (drain_ms {DRAIN_MS}, "
                  "no connection count)")
            if drained < DRAIN_MS / 1000 - 0.2:
                raise TestFailure(f"the drain ended early: {drained:.2f} s")

            # A failure does not drain: node2's application dies.
            wait_until("node1's application up", lambda: cluster.status()["nodes"][0]["app"]
                       == "healthy")
            cluster.kill_app("node2")
            wait_until("node2's rule disabled", lambda: cluster.port_state("node2") != "enabled",
                       timeout=5, interval=0.005)
            if cluster.port_state("node2") != "disabled":
                raise TestFailure(f"a failed primary drained: {cluster.ports()}")
            wait_until("node1 primary", lambda: settled(cluster, "node1"), timeout=10)
            print("failover after an application failure: disabled at once, no drain")
        if watch.violations:
            raise TestFailure(f"two rules enabled at once: {watch.violations[:3]}")
        print(f"I1 held in all {watch.samples} samples")
    except Exception:
        cluster.dump_logs()
        raise


def drain_ends_when_no_connections_remain(build_dir, work):
    """A long drain_ms, cut short once the sim's count of connections is 0."""
    cluster = Cluster(build_dir, work, tag="drainc", app=True,
                      extra={"nlb": f"drain_ms = {LONG_DRAIN_MS}"})
    try:
        with cluster, SplitBrainWatch(cluster) as watch:
            cluster.start_all()
            wait_until("election of node1", lambda: settled(cluster, "node1"), timeout=30)
            # Two connections open on node1 when its rule starts draining.
            cluster.set_connections("node1", 2)

            t0 = time.monotonic()
            rc, out, err = cluster.nlbctl("switchover")
            if rc != 0:
                raise TestFailure(f"switchover: exit {rc}: {err}")
            ports = cluster.ports()
            if ports != {"node1": "draining", "node2": "enabled"}:
                raise TestFailure(f"expected node1 draining, node2 enabled: {ports}")
            # The count is read every 125 ms: connections left keep it draining.
            time.sleep(1.5)
            if cluster.port_state("node1") != "draining":
                raise TestFailure(f"node1 stopped draining with 2 connections left: "
                                  f"{cluster.ports()}")
            cluster.set_connections("node1", 1)
            time.sleep(0.5)
            if cluster.port_state("node1") != "draining":
                raise TestFailure(f"node1 stopped draining with 1 connection left: "
                                  f"{cluster.ports()}")

            t_zero = time.monotonic()
            cluster.set_connections("node1", 0)
            wait_until("node1's drain to end early",
                       lambda: cluster.port_state("node1") == "disabled",
                       timeout=LONG_DRAIN_MS / 1000, interval=0.02)
            after_zero = time.monotonic() - t_zero
            total = time.monotonic() - t0
            print(f"node1 disabled {after_zero:.2f} s after its count reached 0, "
                  f"{total:.2f} s into a drain_ms of {LONG_DRAIN_MS} ms")
            if after_zero > EARLY_END_S:
                raise TestFailure(f"the drain went on {after_zero:.2f} s after no connections "
                                  f"remained (limit {EARLY_END_S} s)")
            if cluster.port_state("node2") != "enabled":
                raise TestFailure(f"node2 does not serve: {cluster.ports()}")
            with open(os.path.join(cluster.work, "node1.log"), errors="replace") as f:
                log = f.read()
            if "no connections remain after" not in log:
                raise TestFailure("node1's log does not say why the drain ended")
            print("node1's log: " + next(line.strip() for line in log.splitlines()
                                         if "no connections remain after" in line))
        if watch.violations:
            raise TestFailure(f"two rules enabled at once: {watch.violations[:3]}")
        print(f"I1 held in all {watch.samples} samples")
    except Exception:
        cluster.dump_logs()
        raise


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    full_drain_and_failover(build_dir, os.path.join(work, "full"))
    drain_ends_when_no_connections_remain(build_dir, os.path.join(work, "counted"))
    print("PASS")


if __name__ == "__main__":
    main()
