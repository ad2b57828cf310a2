#!/usr/bin/env python3
"""NLB itself misbehaving, on loopback with the sim backend's fault switches
(nlb_sim.c): a primary whose NLB ignores its disable, a hung NLB call, and a
backup whose NLB does not answer. Break before make holds in each: the new
primary is never enabled while the old one's disable is unconfirmed; the
agent keeps answering while a call hangs; and once NLB behaves again the
pair converges with exactly one rule enabled. I1 is sampled throughout.

usage: nlb_faults.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until  # noqa: E402
from w1_switchover import settled  # noqa: E402


def log_of(cluster, name):
    with open(os.path.join(cluster.work, f"{name}.log"), errors="replace") as f:
        return f.read()


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(build_dir, work, tag="nlbf")
    try:
        with cluster, SplitBrainWatch(cluster) as watch:
            cluster.start_all()
            wait_until("election of node1", lambda: settled(cluster, "node1"), timeout=30)

            # 1. The primary's NLB ignores the disable: no promotion; the
            #    switchover times out and node1 keeps the role.
            cluster.set_fault("node1", "ignore")
            rc, out, err = cluster.nlbctl("switchover", "--timeout", "3")
            if rc != 5 or "did not confirm its port disabled" not in err:
                raise TestFailure(f"ignored disable: exit {rc}: {out} {err}")
            if cluster.port_state("node2") != "disabled":
                raise TestFailure(f"node2 enabled while node1's disable was ignored: "
                                  f"{cluster.ports()}")
            cluster.set_fault("node1", None)
            wait_until("node1 primary again", lambda: settled(cluster, "node1"), timeout=20)
            if "accepted the command but the port reads enabled" not in log_of(cluster, "node1"):
                raise TestFailure("node1 did not log the ignored command")
            print("ignored disable: switchover refused after 3 s (exit 5), node1 kept the role")

            # 2. A hung NLB call on the primary: written off at nlb_timeout_ms,
            #    status keeps answering, the late disable completes the move.
            cluster.set_fault("node1", "slow 3000")
            t0 = time.monotonic()
            import subprocess
            proc = subprocess.Popen(["wine", cluster.nlbctl_exe, "--pipe",
                                     cluster.pipe("coordinator"), "switchover", "--timeout",
                                     "15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=cluster.env, stdin=subprocess.DEVNULL)
            answered = 0
            while proc.poll() is None and time.monotonic() - t0 < 20:
                t1 = time.monotonic()
                cluster.status(instance="node1")
                if time.monotonic() - t1 > 2:
                    raise TestFailure("node1's status took more than 2 s during the hang")
                answered += 1
                time.sleep(0.2)
            out, err = proc.communicate(timeout=10)
            cluster.set_fault("node1", None)
            if proc.returncode != 0:
                raise TestFailure(f"switchover over a slow NLB: exit {proc.returncode}: {err}")
            if "has not returned within" not in log_of(cluster, "node1"):
                raise TestFailure("node1 did not report the hung NLB command")
            wait_until("node2 primary", lambda: settled(cluster, "node2"), timeout=20)
            print(f"hung NLB call (3 s): written off, status answered {answered} times, "
                  f"switchover done after {time.monotonic() - t0:.1f} s")

            # 3. The new primary's NLB does not answer: nobody serves until it
            #    does, then the agent's retries enable it.
            cluster.set_fault("node1", "unreachable")
            rc, out, err = cluster.nlbctl("switchover", "--timeout", "3")
            if rc != 5:
                raise TestFailure(f"unreachable NLB: exit {rc}: {out} {err}")
            if cluster.port_state("node2") == "enabled" and cluster.port_state("node1") == "enabled":
                raise TestFailure(f"two enabled: {cluster.ports()}")
            cluster.set_fault("node1", None)
            wait_until("node1 serving once its NLB answers", lambda: settled(cluster, "node1"),
                       timeout=20)
            print("unreachable NLB on the new primary: enabled by retries once it answered")
        if watch.violations:
            raise TestFailure(f"two rules enabled at once: {watch.violations[:3]}")
        print(f"I1 held in all {watch.samples} samples")
    except Exception:
        cluster.dump_logs()
        raise
    print("PASS")


if __name__ == "__main__":
    main()
