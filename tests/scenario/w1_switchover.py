#!/usr/bin/env python3
"""W1 on loopback: a coordinator and two agents as Windows processes under
Wine. After the election exactly one sim port is enabled; `nlbctl switchover`
flips roles and ports, a second flips them back; `nlbctl status --json`
agrees with the sim files at every step; and no sample taken throughout ever
shows two enabled ports (break before make).

usage: w1_switchover.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until  # noqa: E402


def settled(cluster, primary):
    """True once status and sim files both say `primary` serves alone."""
    try:
        st = cluster.status()
    except TestFailure:
        return False  # not answering yet
    ports = cluster.ports()
    want = {n: ("enabled" if n == primary else "disabled") for n in cluster.NODES}
    if ports != want or st["primary"] != primary or st["phase"] != "stable":
        return False
    return st


def check_agreement(cluster, st):
    """Every node's port in `status --json` is what its sim file holds."""
    ports = cluster.ports()
    for node in st["nodes"]:
        if node["port_actual"] != ports[node["name"]]:
            raise TestFailure(f"status says {node['name']} port is {node['port_actual']}, "
                              f"sim file says {ports[node['name']]}")
        want_mode = "primary" if node["name"] == st["primary"] else "backup"
        if node["mode"] != want_mode or node["link"] != "up":
            raise TestFailure(f"status of {node['name']}: {node}")
    for node in cluster.NODES:
        agent = cluster.status(instance=node)
        if agent["nodes"][0]["port_actual"] != ports[node]:
            raise TestFailure(f"agent {node} reports port {agent['nodes'][0]['port_actual']}, "
                              f"sim file says {ports[node]}")


def switchover(cluster, expect_primary, *args):
    rc, out, err = cluster.nlbctl("switchover", *args)
    if rc != 0:
        raise TestFailure(f"nlbctl switchover exited {rc}: {err.strip()}")
    # The command returns only once the new primary's port is confirmed:
    # the sim file must already say so, without waiting.
    if cluster.port_state(expect_primary) != "enabled":
        raise TestFailure(f"switchover returned but {expect_primary}'s port is "
                          f"{cluster.port_state(expect_primary)}")
    print(f"  nlbctl switchover: {out.strip()}")
    st = wait_until(f"{expect_primary} primary and settled", lambda: settled(cluster, expect_primary))
    check_agreement(cluster, st)
    return st


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="w1")
    try:
        with cluster, SplitBrainWatch(cluster) as watch:
            cluster.start_all()
            st = wait_until("election of node1", lambda: settled(cluster, "node1"), timeout=30)
            check_agreement(cluster, st)
            print(f"elected: node1 primary at epoch {st['epoch']}, ports {cluster.ports()}")
            epoch0 = st["epoch"]

            st = switchover(cluster, "node2")
            print(f"after switchover: node2 primary at epoch {st['epoch']}, ports {cluster.ports()}")
            if st["epoch"] <= epoch0:
                raise TestFailure(f"epoch did not grow: {epoch0} -> {st['epoch']}")
            epoch1 = st["epoch"]

            st = switchover(cluster, "node1", "--to", "node1")
            print(f"after switch back: node1 primary at epoch {st['epoch']}, ports {cluster.ports()}")
            if st["epoch"] <= epoch1:
                raise TestFailure(f"epoch did not grow: {epoch1} -> {st['epoch']}")

            # Asking for the node that already serves is success, and changes nothing.
            rc, out, err = cluster.nlbctl("switchover", "--to", "node1")
            if rc != 0 or "already primary" not in out:
                raise TestFailure(f"switchover to the primary: rc {rc}, {out!r} {err!r}")
            if cluster.status()["epoch"] != st["epoch"]:
                raise TestFailure("a no-op switchover changed the epoch")

            # A node that is not in the pair is refused with exit code 4.
            rc, out, err = cluster.nlbctl("switchover", "--to", "node9")
            if rc != 4 or "node9" not in err:
                raise TestFailure(f"switchover to an unknown node: rc {rc}, {err!r}")
        if watch.violations:
            raise TestFailure(f"two ports enabled at once in {len(watch.violations)} of "
                              f"{watch.samples} samples: {watch.violations[:3]}")
        print(f"I1 held in all {watch.samples} samples")
    except Exception:
        cluster.dump_logs()
        raise
    print("PASS")


if __name__ == "__main__":
    main()
