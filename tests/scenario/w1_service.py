#!/usr/bin/env python3
"""nlbctld.exe as a real Windows service in a Wine prefix: `sc create`,
`net start`, `nlbctl status`, `net stop`; its port ends disabled.

The service is an agent (node1); a coordinator runs beside it in a console so
the agent really becomes primary and enables its port before the stop. A
second service with a broken config must fail to start and record the
config exit code (2) as its service-specific exit code.

usage: w1_service.py BUILD_DIR WORK_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, TestFailure, wait_until, wine_path  # noqa: E402


def run(cluster, *args, timeout=60, check=True):
    r = subprocess.run(["wine", *args], capture_output=True, text=True, timeout=timeout,
                       env=cluster.env, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise TestFailure(f"wine {' '.join(args)} exited {r.returncode}: {r.stdout} {r.stderr}")
    return r


def _linked(cluster, node):
    try:
        st = cluster.status()
    except TestFailure:
        return False
    n = next(x for x in st["nodes"] if x["name"] == node)
    return n["link"] == "up" and n["app"] == "healthy" and st["phase"] == "stable"


def query_state(cluster, name):
    out = run(cluster, "sc", "query", name, check=False).stdout
    m = re.search(r"STATE\s*:\s*\d+\s+(\w+)", out)
    return m.group(1) if m else out.strip()


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="svc")
    svc = f"nlbctldtest{os.getpid()}"
    bad = f"nlbctldbad{os.getpid()}"
    created = []
    try:
        with cluster:
            cluster.write_configs()
            cluster.start("coordinator")
            binpath = f'"{wine_path(cluster.nlbctld)}" --config "{wine_path(cluster.config_path("node1"))}"'
            run(cluster, "sc", "create", svc, "binpath=", binpath)
            created.append(svc)
            r = run(cluster, "net", "start", svc)
            print(f"net start: {r.stdout.strip()}")
            if query_state(cluster, svc) != "RUNNING":
                raise TestFailure(f"after net start, sc query says {query_state(cluster, svc)}")

            def node1_primary():
                try:
                    st = cluster.status(instance="node1")
                except TestFailure:
                    return False
                return st if st["primary"] == "node1" else False
            st = wait_until("the service to become primary", node1_primary, timeout=30)
            rc, out, err = cluster.nlbctl("status", instance="node1")
            if rc != 0 or "node1" not in out:
                raise TestFailure(f"nlbctl status: rc {rc}: {out} {err}")
            print(out)
            if cluster.port_state("node1") != "enabled":
                raise TestFailure(f"primary's port is {cluster.port_state('node1')}")

            # node2 joins as backup; stopping node1's service then hands over
            # at once (its last report says it is stopping, port disabled),
            # not after the 2.5 s loss time.
            cluster.start("node2")
            wait_until("node2 linked as backup", lambda: _linked(cluster, "node2"), timeout=30)
            t0 = time.monotonic()
            r = run(cluster, "net", "stop", svc)
            print(f"net stop: {r.stdout.strip()}")
            wait_until("the service to stop", lambda: query_state(cluster, svc) == "STOPPED")
            if cluster.port_state("node1") != "disabled":
                raise TestFailure(f"after net stop the port is {cluster.port_state('node1')}")
            wait_until("node2 serving", lambda: cluster.port_state("node2") == "enabled",
                       timeout=10, interval=0.01)
            took = time.monotonic() - t0
            print(f"port disabled after net stop; node2 serving {took:.2f} s after net stop began")
            if took > 2.0:
                raise TestFailure(f"failover after a service stop took {took:.2f} s: the "
                                  "stopping agent's last report should make it immediate")
            rc, out, err = cluster.nlbctl("status", instance="node1")
            if rc != 2 or "not running" not in err:
                raise TestFailure(f"status of a stopped service: rc {rc}, {err!r}")

            # A broken config: the start fails and the SCM records exit code 2.
            with open(os.path.join(work, "bad.ini"), "w") as f:
                f.write("[nlbctld]\nrole = agent\n[nlb]\nport = not-a-port\n")
            binpath = f'"{wine_path(cluster.nlbctld)}" --config "{wine_path(os.path.join(work, "bad.ini"))}"'
            run(cluster, "sc", "create", bad, "binpath=", binpath)
            created.append(bad)
            # Wine's `net start` reports success for a service that stops while
            # starting (Windows reports error 1066); the SCM's record is what
            # this test checks.
            run(cluster, "net", "start", bad, check=False)
            wait_until("the broken service to stop", lambda: query_state(cluster, bad) == "STOPPED")
            out = run(cluster, "sc", "query", bad, check=False).stdout
            if not re.search(r"SERVICE_EXIT_CODE\s*:\s*2\b", out):
                raise TestFailure(f"broken config: expected service exit code 2 in:\n{out}")
            print("broken config refused with service exit code 2")
            # %ProgramData%\nlbctl\nlbctld.log; Wine gives services
            # C:\users\Public as %ProgramData%, consoles C:\ProgramData.
            drive_c = os.path.join(os.environ["WINEPREFIX"], "drive_c")
            logs = [os.path.join(drive_c, d, "nlbctl", "nlbctld.log")
                    for d in ("ProgramData", os.path.join("users", "Public"))]
            logs = [p for p in logs if os.path.exists(p)]
            if not logs:
                raise TestFailure("no nlbctld.log under %ProgramData%")
            log = max(logs, key=os.path.getmtime)
            with open(log, errors="replace") as f:
                text = f.read()
            if "bad.ini:4: [nlb] port" not in text:
                raise TestFailure(f"the config error is not in {log}:\n{text[-2000:]}")
            print("config error logged with file, line and key")
    except Exception:
        cluster.dump_logs()
        raise
    finally:
        for name in created:
            run(cluster, "net", "stop", name, check=False)
            run(cluster, "sc", "delete", name, check=False)
    print("PASS")


if __name__ == "__main__":
    main()
