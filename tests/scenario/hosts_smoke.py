#!/usr/bin/env python3
"""Three hosts in network namespaces (coordinator, node1, node2), each its own
Wine prefix with its wineserver inside the namespace.

1. The network itself: every host reaches the others; cutting node2's link
   isolates node2 only; a coord<->node1 partition leaves node1<->node2 and
   coord<->node2 working; restore and heal bring everything back.
2. The election over the hosts' network: node1 primary, exactly one port
   enabled, status agrees with each host's own sim NLB file.
3. `nlbctl switchover` run inside the coordinator's namespace flips roles and
   ports; a second one (--to node1) flips them back.
4. node2's (the backup's) link is cut: the coordinator stops hearing node2,
   node1 keeps serving; the link comes back: node2 talks again and is still
   backup, node1 still primary, epoch unchanged.
I1 is sampled every 10 ms throughout (1 s settle window after each fault).

usage: hosts_smoke.py BUILD_DIR WORK_DIR   (exit 77 = skipped: no namespaces here)
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hosts import Hosts, Skip, SplitBrainWatch, cleanup_stale, run_script  # noqa: E402
from harness import TestFailure, wait_until  # noqa: E402


def node_of(st, name):
    for n in st["nodes"]:
        if n["name"] == name:
            return n
    raise TestFailure(f"status has no node {name}: {st}")


def settled(hosts, primary):
    """The coordinator's status once `primary` serves alone, stable, and both
    nodes are linked; else False."""
    try:
        st = hosts.status("coord")
    except TestFailure:
        return False  # not answering yet
    want = {n: ("enabled" if n == primary else "disabled") for n in hosts.NODES}
    if hosts.ports() != want or st["primary"] != primary or st["phase"] != "stable":
        return False
    if any(node_of(st, n)["link"] != "up" for n in hosts.NODES):
        return False
    return st


def check_agreement(hosts, st):
    """The coordinator's status and each agent's own status (asked on its
    host) match each host's sim file."""
    ports = hosts.ports()
    for n in hosts.NODES:
        node = node_of(st, n)
        if node["port_actual"] != ports[n]:
            raise TestFailure(f"coordinator says {n} port is {node['port_actual']}, "
                              f"{n}'s sim file says {ports[n]}")
        want_mode = "primary" if n == st["primary"] else "backup"
        if node["mode"] != want_mode or node["link"] != "up":
            raise TestFailure(f"coordinator's view of {n}: {node}")
        agent = hosts.status(n)
        if agent["nodes"][0]["port_actual"] != ports[n]:
            raise TestFailure(f"agent {n} reports port {agent['nodes'][0]['port_actual']}, "
                              f"its sim file says {ports[n]}")
        if agent["nodes"][0]["mode"] != want_mode or agent.get("coordinator_link") != "up":
            raise TestFailure(f"agent {n}'s own status: {agent}")


def expect_reach(hosts, pairs, want):
    for a, b in pairs:
        if want:
            wait_until(f"{a} to reach {b}", lambda: hosts.can_reach(a, b), timeout=10,
                       interval=0.2)
        elif hosts.can_reach(a, b, timeout=0.5):
            raise TestFailure(f"{a} still reaches {b}")


def network_check(hosts):
    t0 = time.monotonic()
    everyone = [("coord", "node1"), ("coord", "node2"), ("node1", "node2"),
                ("node1", "coord"), ("node2", "coord"), ("node2", "node1")]
    expect_reach(hosts, everyone, True)

    hosts.cut_link("node2")
    expect_reach(hosts, [("coord", "node2"), ("node1", "node2"), ("node2", "coord")], False)
    expect_reach(hosts, [("coord", "node1"), ("node1", "coord")], True)
    hosts.restore_link("node2")
    expect_reach(hosts, everyone, True)

    hosts.partition("coord", "node1")
    expect_reach(hosts, [("coord", "node1"), ("node1", "coord")], False)
    expect_reach(hosts, [("node1", "node2"), ("node2", "node1"), ("coord", "node2"),
                         ("node2", "coord")], True)
    hosts.heal("coord", "node1")
    expect_reach(hosts, everyone, True)
    print(f"network: reachability, cut/restore and partition/heal ok "
          f"({hosts.firewall}), {time.monotonic() - t0:.1f} s")


def switchover(hosts, expect_primary, *args):
    t0 = time.monotonic()
    rc, out, err = hosts.nlbctl("switchover", *args, host="coord")
    if rc != 0:
        raise TestFailure(f"nlbctl switchover exited {rc}: {err.strip()}")
    if hosts.port_state(expect_primary) != "enabled":
        raise TestFailure(f"switchover returned but {expect_primary}'s port is "
                          f"{hosts.port_state(expect_primary)}")
    took = time.monotonic() - t0
    st = wait_until(f"{expect_primary} primary and settled",
                    lambda: settled(hosts, expect_primary))
    check_agreement(hosts, st)
    print(f"switchover{' ' + ' '.join(args) if args else ''}: {out.strip()} "
          f"({took:.2f} s); epoch {st['epoch']}, ports {hosts.ports()}")
    return st


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    cleanup_stale()  # a dead run's wineservers may still use prefixes under work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    hosts = Hosts(build_dir, work)
    try:
        with hosts:
            hosts.setup()
            t = hosts.timings
            print(f"setup: network {t['network']:.2f} s; " + "; ".join(
                f"{h} copy {t[h]['copy']:.1f} s + wine {t[h]['wine']:.1f} s" for h in hosts.NAMES)
                + f"; all (in parallel) {t['setup']:.1f} s")
            print(f"config features: {hosts.features or hosts.detect_features()}")
            network_check(hosts)

            with SplitBrainWatch(hosts, settle=1.0) as watch:
                t0 = time.monotonic()
                hosts.start_all()
                st = wait_until("election of node1", lambda: settled(hosts, "node1"), timeout=45)
                check_agreement(hosts, st)
                print(f"elected: node1 primary at epoch {st['epoch']} after "
                      f"{time.monotonic() - t0:.1f} s, ports {hosts.ports()}")
                epoch = st["epoch"]

                st = switchover(hosts, "node2")
                if st["epoch"] <= epoch:
                    raise TestFailure(f"epoch did not grow: {epoch} -> {st['epoch']}")
                st2 = switchover(hosts, "node1", "--to", "node1")
                if st2["epoch"] <= st["epoch"]:
                    raise TestFailure(f"epoch did not grow: {st['epoch']} -> {st2['epoch']}")
                epoch = st2["epoch"]

                # The backup's cable is pulled, then plugged back in.
                hosts.cut_link("node2")
                t0 = time.monotonic()

                def coordinator_lost_node2():
                    n2 = node_of(hosts.status("coord"), "node2")
                    ms = n2["last_heard_ms"]
                    return n2 if n2["link"] == "down" or ms is None or ms >= 2500 else False
                n2 = wait_until("the coordinator to stop hearing node2", coordinator_lost_node2,
                                timeout=20, interval=0.25)
                if hosts.ports() != {"node1": "enabled", "node2": "disabled"}:
                    raise TestFailure(f"during node2's cut the ports are {hosts.ports()}")
                print(f"node2 cut off: coordinator sees link {n2['link']}, last heard "
                      f"{n2['last_heard_ms']} ms ago ({time.monotonic() - t0:.1f} s after the "
                      f"cut); ports {hosts.ports()}")

                hosts.restore_link("node2")
                t0 = time.monotonic()

                def node2_back():
                    st = settled(hosts, "node1")
                    if not st:
                        return False
                    n2 = node_of(st, "node2")
                    if n2["mode"] != "backup" or (n2["last_heard_ms"] or 10 ** 9) > 1500:
                        return False
                    if hosts.status("node2").get("coordinator_link") != "up":
                        return False
                    return st
                st = wait_until("node2 to talk again as backup", node2_back, timeout=30,
                                interval=0.25)
                check_agreement(hosts, st)
                if st["epoch"] != epoch:
                    raise TestFailure(f"the cut of the backup changed the epoch: "
                                      f"{epoch} -> {st['epoch']} ({st['last_change']})")
                print(f"node2 back after {time.monotonic() - t0:.1f} s: backup, node1 still "
                      f"primary, epoch {st['epoch']} unchanged, ports {hosts.ports()}")
            watch.check()
            print(f"I1: {watch.summary()}")
    except Skip:
        raise
    except BaseException:
        hosts.dump_logs()
        raise
    print("PASS")


if __name__ == "__main__":
    run_script(main)
