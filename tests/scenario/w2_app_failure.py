#!/usr/bin/env python3
"""W2 on loopback: each agent watches its own stand-in application (a process
it starts). Killing the primary's application makes its agent disable its
port at once (it waits on the process handle) and the coordinator promote
the backup; the failover time is printed. The restarted application makes
its node an eligible backup, with no failback. Killing the backup's
application changes nothing for the primary. I1 is sampled throughout.

usage: w2_app_failure.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until  # noqa: E402


def node_status(cluster, node):
    st = cluster.status()
    return st, next(n for n in st["nodes"] if n["name"] == node)


def serving(cluster, primary):
    try:
        st = cluster.status()
    except TestFailure:
        return False
    return (st["primary"] == primary and st["phase"] == "stable"
            and cluster.enabled_nodes() == [primary])


def app_healthy(cluster, node, healthy):
    try:
        _, n = node_status(cluster, node)
    except TestFailure:
        return False
    return n["app"] == ("healthy" if healthy else "unhealthy")


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="w2", app=True)
    try:
        with cluster, SplitBrainWatch(cluster) as watch:
            cluster.start_all()
            wait_until("election of node1", lambda: serving(cluster, "node1"), timeout=30)
            wait_until("both applications up", lambda: app_healthy(cluster, "node2", True))
            epoch0 = cluster.status()["epoch"]
            print(f"elected: node1 primary at epoch {epoch0}; applications running")

            # The primary's application dies.
            t0 = time.monotonic()
            cluster.kill_app("node1")
            wait_until("node1's port disabled", lambda: cluster.port_state("node1") == "disabled",
                       timeout=5, interval=0.005)
            t_disabled = time.monotonic() - t0
            wait_until("node2's port enabled", lambda: cluster.port_state("node2") == "enabled",
                       timeout=10, interval=0.005)
            t_enabled = time.monotonic() - t0
            print(f"primary's application killed: its port disabled after {t_disabled * 1000:.0f} ms, "
                  f"node2's enabled after {t_enabled * 1000:.0f} ms")
            wait_until("node2 primary and settled", lambda: serving(cluster, "node2"))
            st = cluster.status()
            if st["epoch"] <= epoch0:
                raise TestFailure(f"failover did not take a new epoch: {st['epoch']}")

            # Its agent starts the application again: an eligible backup, no failback.
            wait_until("node1's application back", lambda: app_healthy(cluster, "node1", True))
            time.sleep(3)
            if not serving(cluster, "node2"):
                raise TestFailure(f"the primary changed after node1 recovered: {cluster.status()}")
            print("node1's application restarted: node1 is an eligible backup, node2 stays primary")

            # The backup's application dies: nothing changes for the primary.
            epoch1 = cluster.status()["epoch"]
            cluster.kill_app("node1")
            wait_until("node1 reported unhealthy", lambda: app_healthy(cluster, "node1", False),
                       timeout=5, interval=0.02)
            if not serving(cluster, "node2") or cluster.status()["epoch"] != epoch1:
                raise TestFailure(f"killing the backup's application changed the pair: "
                                  f"{cluster.status()}")
            wait_until("node1's application back again", lambda: app_healthy(cluster, "node1", True))
            print("backup's application killed and restarted: no change")

            rc, out, err = cluster.nlbctl("history")
            if rc != 0 or "application on node1" not in out:
                raise TestFailure(f"nlbctl history: rc {rc}: {out} {err}")
            print("coordinator history:\n" + out)
            rc, out, err = cluster.nlbctl("history", instance="node1")
            if rc != 0 or "the application failed" not in out:
                raise TestFailure(f"node1 history: rc {rc}: {out} {err}")
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
