#!/usr/bin/env python3
"""The fault matrix on three real hosts: coordinator, node1 and node2 in their
own network namespaces, each its own Wine prefix (hosts.py). Each agent
watches a stand-in application (standin.exe on its C: drive, started by the
agent). Every case starts from node1 primary, both applications up, and
samples both sim NLB files every 10 ms throughout: two enabled ports after
the settle window following a fault fail the case (I1), not only the end.

usage: fault_matrix.py CASE BUILD_DIR WORK_DIR     (exit 77: skipped, no namespaces)
cases: primary_app backup_app primary_link coord_primary_partition peer_link
       coordinator_stop agent_restart
"""
import json
import os
import re
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hosts import Hosts, SplitBrainWatch, namespace_pids, run_script  # noqa: E402
from harness import TestFailure, wait_until  # noqa: E402

QUIET_S = 6  # "nothing changes" is watched this long (more than 2x the 2.5 s loss time)


def node_of(st, name):
    return next(n for n in st["nodes"] if n["name"] == name)


def coord_status(hosts):
    try:
        return hosts.status("coord")
    except TestFailure:
        return None


def serving(hosts, primary, linked=True):
    """Status once `primary` serves alone and stable (both links up if linked)."""
    st = coord_status(hosts)
    if not st or st["primary"] != primary or st["phase"] != "stable":
        return False
    if hosts.enabled_nodes() != [primary]:
        return False
    if linked and any(node_of(st, n)["link"] != "up" for n in hosts.NODES):
        return False
    return st


def app_is(hosts, node, word):
    st = coord_status(hosts)
    return bool(st) and node_of(st, node)["app"] == word


def kill_app(hosts, node):
    """SIGKILL of the node's stand-in application, found in its namespace."""
    killed = []
    for pid in namespace_pids(hosts.ns[node]):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if b"standin.exe" in cmd:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    if not killed:
        raise TestFailure(f"{node}'s application is not running")
    hosts.mark_fault(f"kill {node}'s application")


def unchanged_for(hosts, primary, epoch, seconds, linked=False):
    """Fails if, during `seconds`, the primary, its port or the epoch change."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if hosts.enabled_nodes() != [primary]:
            raise TestFailure(f"ports changed: {hosts.ports()}")
        st = coord_status(hosts)
        if st and (st["primary"] != primary or st["epoch"] != epoch):
            raise TestFailure(f"the coordinator changed the pair: {st}")
        time.sleep(0.1)


# ---- the cases -------------------------------------------------------------------

def case_primary_app(hosts, epoch):
    t0 = time.monotonic()
    kill_app(hosts, "node1")
    wait_until("node2's port enabled", lambda: hosts.port_state("node2") == "enabled",
               timeout=10, interval=0.005)
    print(f"primary's application killed: node2 serving after "
          f"{(time.monotonic() - t0) * 1000:.0f} ms")
    wait_until("node2 primary", lambda: serving(hosts, "node2"))
    wait_until("node1's application restarted", lambda: app_is(hosts, "node1", "healthy"))
    st = serving(hosts, "node2")
    unchanged_for(hosts, "node2", st["epoch"], 3)
    print("node1 recovered as an eligible backup; no failback")


def case_backup_app(hosts, epoch):
    kill_app(hosts, "node2")
    wait_until("node2 unhealthy", lambda: app_is(hosts, "node2", "unhealthy"), interval=0.02)
    unchanged_for(hosts, "node1", epoch, 2)
    wait_until("node2's application restarted", lambda: app_is(hosts, "node2", "healthy"))
    unchanged_for(hosts, "node1", epoch, 2)
    print("backup's application killed and restarted: the primary never changed")


def case_primary_link(hosts, epoch):
    t0 = time.monotonic()
    hosts.cut_link("node1")
    wait_until("node1 to fence itself", lambda: hosts.port_state("node1") == "disabled",
               timeout=10, interval=0.01)
    t_fenced = time.monotonic() - t0
    wait_until("node2's port enabled", lambda: hosts.port_state("node2") == "enabled",
               timeout=15, interval=0.01)
    t_promoted = time.monotonic() - t0
    print(f"node1's link cut: node1 disabled its own port after {t_fenced:.2f} s, "
          f"node2 enabled after {t_promoted:.2f} s")
    if t_promoted < t_fenced:
        raise TestFailure("node2 was enabled before node1 had fenced itself")
    hosts.restore_link("node1")
    st = wait_until("node1 back as backup", lambda: serving(hosts, "node2"), timeout=20)
    if node_of(st, "node1")["mode"] != "backup" or st["epoch"] <= epoch:
        raise TestFailure(f"after the restore: {st}")
    print(f"link restored: node1 rejoined as backup, node2 primary at epoch {st['epoch']}")


def case_coord_primary_partition(hosts, epoch):
    hosts.partition("coord", "node1")
    wait_until("the coordinator to lose node1",
               lambda: (coord_status(hosts) or {}).get("nodes") and
               node_of(coord_status(hosts), "node1")["link"] == "down", timeout=10)
    unchanged_for(hosts, "node1", epoch, QUIET_S)
    print(f"coordinator-primary partition: no failover in {QUIET_S} s (node2 still hears node1)")
    hosts.heal("coord", "node1")
    wait_until("node1 linked again", lambda: serving(hosts, "node1"), timeout=15)
    unchanged_for(hosts, "node1", epoch, 1)
    print("healed: node1 still primary, epoch unchanged")


def case_peer_link(hosts, epoch):
    hosts.partition("node1", "node2")
    unchanged_for(hosts, "node1", epoch, QUIET_S)
    st = coord_status(hosts)
    if any(node_of(st, n)["peer_link"] != "down" for n in hosts.NODES):
        raise TestFailure(f"the peer link still shows up: {st}")
    hosts.heal("node1", "node2")
    wait_until("the peer link back", lambda: all(
        node_of(coord_status(hosts), n)["peer_link"] == "up" for n in hosts.NODES), timeout=15)
    unchanged_for(hosts, "node1", epoch, 1)
    print(f"peer link cut for {QUIET_S} s and healed: no change")


def case_coordinator_stop(hosts, epoch):
    hosts.kill("coord")
    deadline = time.monotonic() + QUIET_S
    while time.monotonic() < deadline:
        if hosts.enabled_nodes() != ["node1"]:
            raise TestFailure(f"ports changed without the coordinator: {hosts.ports()}")
        time.sleep(0.1)
    hosts.start("coord", mark=True)
    st = wait_until("the coordinator back", lambda: serving(hosts, "node1"), timeout=20)
    if st["epoch"] != epoch:
        raise TestFailure(f"the restarted coordinator changed the epoch: {epoch} -> {st['epoch']}")
    print(f"coordinator stopped for {QUIET_S} s: no change; restarted: it adopted node1 at "
          f"epoch {epoch}")


def agent_status(hosts, node):
    """`nlbctl status --json` on the node itself (its agent), or None while
    its pipe does not answer."""
    try:
        return hosts.status(node)
    except TestFailure:
        return None


def case_agent_restart(hosts, epoch):
    before = hosts.status("node1")
    if before["role"] != "agent" or before["primary"] != "node1":
        raise TestFailure(f"node1's own status before the restart: {before}")
    epoch_before = before["epoch"]
    log = hosts.log_path("node1")
    log_offset = os.path.getsize(log)
    hosts.restart("node1")

    # The coordinator orders the restarted agent primary again within a few
    # ms of its HELLO (it was never failed over), faster than nlbctl can ask:
    # its own status may already say primary. What it did first is in its
    # history (kept in memory, so only since this start; newest first) and
    # its log (appended to; read from the restart on).
    first = wait_until("node1's agent to answer on its pipe",
                       lambda: agent_status(hosts, "node1"), timeout=20, interval=0.05)
    me = node_of(first, "node1")
    if first["epoch"] < epoch_before or me["epoch"] < epoch_before:
        raise TestFailure(f"node1 came back at epoch {first['epoch']}, below the {epoch_before} "
                          f"it held before the restart: {first}")
    if me["mode"] == "backup" and me["port_desired"] != "disabled":
        raise TestFailure(f"node1 came back as backup wanting its port {me['port_desired']}")
    rc, out, err = hosts.nlbctl("history", "--json", host="node1")
    if rc != 0:
        raise TestFailure(f"node1: nlbctl history --json exited {rc}: {err.strip()}")
    history = [e["change"] for e in json.loads(out)]
    if not history or history[-1] != "safe start as backup, port disabled":
        raise TestFailure(f"node1's first transition after its restart is not the safe start: "
                          f"{history}")
    for change in history[:-1]:
        if "-> primary" in change and "coordinator ordered primary" not in change:
            raise TestFailure(f"node1 became primary after its restart without an order: "
                              f"{history}")
    with open(log, errors="replace") as f:
        f.seek(log_offset)
        lines = f.read().splitlines()
    start = next((i for i, l in enumerate(lines) if "starting as backup with epoch" in l), None)
    if start is None:
        raise TestFailure(f"node1's log has no safe start after the restart: {lines[:20]}")
    started_at = int(re.search(r"with epoch (\d+)", lines[start]).group(1))
    if started_at < epoch_before:
        raise TestFailure(f"node1 started at epoch {started_at}, below {epoch_before}")
    port_lines = [l for l in lines[start:] if re.search(r"\bport (enabled|disabled|drain)", l)
                  and "read-back" in l]
    if not port_lines or "port disabled" not in port_lines[0]:
        raise TestFailure(f"node1's first NLB read-back after its restart is not 'disabled': "
                          f"{port_lines[:3]}")
    print(f"node1's agent restarted: safe start as backup at epoch {started_at} (held "
          f"{epoch_before} before), first read-back of its sim port: disabled; its first status "
          f"said {me['mode']} at epoch {first['epoch']}; history (newest first) {history}")

    st = wait_until("the pair settled again", lambda: serving(hosts, "node1") or
                    serving(hosts, "node2"), timeout=30)
    unchanged_for(hosts, st["primary"], st["epoch"], 2)
    print(f"settled: {st['primary']} primary at epoch {st['epoch']}, ports {hosts.ports()}, "
          f"unchanged for 2 s")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in CASES:
        print(__doc__)
        sys.exit(2)
    case, build_dir, work = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    app = {"application": {"path": "C:\\standin.exe"}}
    hosts = Hosts(build_dir, work, config_extra={"node1": app, "node2": app})
    with hosts:
        hosts.setup()
        for node in hosts.NODES:
            shutil.copy(os.path.join(build_dir, "tests", "apps", "standin_app.exe"),
                        os.path.join(hosts.prefixes[node], "drive_c", "standin.exe"))
        # I1's settle window: one NLB command time (nlb_timeout_ms, 600 ms).
        watch = SplitBrainWatch(hosts, settle=0.6)
        try:
            with watch:
                hosts.start_all()
                wait_until("election of node1", lambda: serving(hosts, "node1"), timeout=30)
                wait_until("both applications up", lambda: app_is(hosts, "node1", "healthy")
                           and app_is(hosts, "node2", "healthy"))
                # Several cases rely on the peer link (no failover while the
                # backup hears the primary): it must be up before any fault.
                wait_until("both peer links up", lambda: all(
                    node_of(coord_status(hosts) or {"nodes": []}, n)["peer_link"] == "up"
                    for n in hosts.NODES) if coord_status(hosts) else False)
                epoch = coord_status(hosts)["epoch"]
                print(f"start: node1 primary at epoch {epoch}, ports {hosts.ports()}")
                CASES[case](hosts, epoch)
            print(f"I1: {watch.summary()}")
            watch.check()
            # Break before make and fencing leave no moment with two enabled
            # ports in any of these cases, settle window or not.
            if watch.overlaps:
                raise TestFailure(f"two ports enabled at once in {len(watch.overlaps)} samples "
                                  f"(longest {watch.longest_overlap():.3f} s): "
                                  f"{watch.overlaps[:3]}; faults: {watch.faults}")
        except Exception:
            hosts.dump_logs()
            raise
    print("PASS")


if __name__ == "__main__":
    run_script(main)
