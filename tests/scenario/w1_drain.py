#!/usr/bin/env python3
"""A drained switchover on the sim backend: with [nlb] drain_ms set, the old
primary's rule is drained (DrainEx: no new connections, existing ones
finish) while the new primary's is enabled, and disabled once drain_ms has
passed. The switchover itself does not wait for the drain. A failover
(the primary's application dies) never drains. I1 (two rules enabled) is
sampled throughout; a draining rule is not an enabled one.

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


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
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
            print(f"node1 disabled {drained:.2f} s after the switchover (drain_ms {DRAIN_MS})")
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
    print("PASS")


if __name__ == "__main__":
    main()
