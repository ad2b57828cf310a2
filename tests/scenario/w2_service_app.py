#!/usr/bin/env python3
"""W2 with the application as a Windows service: each agent watches its own
stand-in service by name. `net stop` of the primary's service reaches its
agent through NotifyServiceStatusChangeW (no polling): the agent disables its
port and the coordinator promotes the backup. `net start` makes the node an
eligible backup again, with no failback.

usage: w2_service_app.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until, wine_path  # noqa: E402
from w2_app_failure import app_healthy, serving  # noqa: E402


def wine(cluster, *args, check=True):
    r = subprocess.run(["wine", *args], capture_output=True, text=True, timeout=60,
                       env=cluster.env, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise TestFailure(f"wine {' '.join(args)}: exit {r.returncode}: {r.stdout} {r.stderr}")
    return r


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tag = f"svc{os.getpid()}"
    services = {node: f"standin{tag}{node}" for node in ("node1", "node2")}
    standin = wine_path(os.path.join(build_dir, "tests", "apps", "standin_app.exe"))
    cluster = Cluster(build_dir, work, tag="w2s")
    created = []
    try:
        for node, name in services.items():
            wine(cluster, "sc", "create", name, "binpath=", f'"{standin}" --service')
            created.append(name)
            wine(cluster, "net", "start", name)
        for name in services.values():
            wait_until(f"service {name} running", lambda: "RUNNING" in wine(
                cluster, "sc", "query", name, check=False).stdout, timeout=20)
        cluster.write_configs()
        for node, name in services.items():
            with open(cluster.config_path(node), "a") as f:
                f.write(f"[application]\nservice = {name}\n")
        with cluster, SplitBrainWatch(cluster) as watch:
            cluster.start("coordinator")
            for node in cluster.NODES:
                cluster.start(node)
            wait_until("election of node1", lambda: serving(cluster, "node1"), timeout=30)
            wait_until("both services seen running", lambda: app_healthy(cluster, "node2", True))

            t0 = time.monotonic()
            wine(cluster, "net", "stop", services["node1"])
            wait_until("node2's port enabled", lambda: cluster.port_state("node2") == "enabled",
                       timeout=10, interval=0.01)
            print(f"net stop of node1's service: node2 serving "
                  f"{(time.monotonic() - t0) * 1000:.0f} ms after net stop began")
            wait_until("node2 primary", lambda: serving(cluster, "node2"))
            if cluster.port_state("node1") != "disabled":
                raise TestFailure("node1's port is not disabled")

            wine(cluster, "net", "start", services["node1"])
            wait_until("node1's service seen running", lambda: app_healthy(cluster, "node1", True))
            time.sleep(2)
            if not serving(cluster, "node2"):
                raise TestFailure(f"failback without preempt: {cluster.status()}")
            print("net start of node1's service: node1 is an eligible backup, no failback")
        if watch.violations:
            raise TestFailure(f"two ports enabled at once: {watch.violations[:3]}")
        print(f"I1 held in all {watch.samples} samples")
    except Exception:
        cluster.dump_logs()
        raise
    finally:
        for name in created:
            wine(cluster, "net", "stop", name, check=False)
            wine(cluster, "sc", "delete", name, check=False)
    print("PASS")


if __name__ == "__main__":
    main()
