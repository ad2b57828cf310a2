#!/usr/bin/env python3
"""Soak and restart storms on loopback (label soak).

For SECONDS (default 60; NLBCTL_SOAK_S or --seconds for a long run), with
a coordinator and two agents under Wine (sim NLB, stand-in applications):

  storm    node2's agent killed (SIGKILL) and restarted after 0.2-1.0 s
           (SCM recovery restarts a crashed service within isolation_ms),
           either application killed (its agent restarts it), node2's agent
           frozen (SIGSTOP) and thawed - its links go silent, no FIN - for
           0.5-4 s as backup, 0.2-1.2 s as primary (a primary's agent hung
           past isolation_ms is the documented "dead agent cannot fence"
           limit: NLB goes on serving on its host), manual switchovers; at
           random, bounded.
  then     the coordinator killed and restarted three times.

Checked all along: I1 (two enabled rules) at every 10 ms sample - none
allowed, the storm stays within the design's single faults; the
coordinator's epoch never goes backwards, also across its restarts (the
status, sampled every 0.5 s, and its epoch file). Checked between the end
of warm-up and the end of the storm, for the processes that live through
it (the coordinator and node1's agent): no growth of threads or open
descriptors (sockets, files, pipes: Wine gives each a Linux descriptor;
Windows handle counts are not visible from Linux), and resident memory
growth under 8 MiB. At the end the pair settles on one healthy primary.

usage: soak.py BUILD_DIR WORK_DIR [--seconds N] [--seed S]
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, SplitBrainWatch, TestFailure, wait_until  # noqa: E402
from w1_switchover import settled  # noqa: E402

RSS_GROWTH_KIB = 8 * 1024


def proc_stats(pid):
    """(threads, open descriptors, VmRSS KiB) of a Linux process."""
    threads = rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return threads, len(os.listdir(f"/proc/{pid}/fd")), rss


def wine_pid(cluster, name):
    """The Linux pid of the Wine process running this instance's nlbctld."""
    cfg = os.path.basename(cluster.config_path(name))
    r = subprocess.run(["pgrep", "-f", f"nlbctld.exe.*{cfg}"], capture_output=True, text=True)
    pids = [int(p) for p in r.stdout.split()]
    # the `wine` launcher and the process itself may both match: the one
    # with the most threads runs the service
    return max(pids, key=lambda p: proc_stats(p)[0]) if pids else None


class EpochWatch:
    """Samples the coordinator's epoch; it must never go backwards."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.last = 0
        self.samples = 0
        self.backwards = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.5):
            try:
                epoch = self.cluster.status()["epoch"]
            except Exception:  # noqa: BLE001 - a coordinator being restarted
                continue
            self.samples += 1
            if epoch < self.last:
                self.backwards.append((self.last, epoch))
            self.last = max(self.last, epoch)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)
        return False


def storm(cluster, rng, seconds, counts):
    frozen = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            k = rng.random()
            if k < 0.3:
                cluster.kill("node2")
                time.sleep(rng.uniform(0.2, 1.0))
                cluster.start("node2")
                counts["agent restarts"] += 1
            elif k < 0.55:
                node = rng.choice(cluster.NODES)
                if cluster.app_pids(node):
                    cluster.kill_app(node)
                    counts["application kills"] += 1
            elif k < 0.75:
                pid = wine_pid(cluster, "node2")
                # A silent link, not a hung agent: a primary frozen past
                # isolation_ms would be the "dead agent cannot fence" case
                # (NLB keeps serving on its host), outside the design.
                try:
                    primary = cluster.status()["primary"] == "node2"
                except Exception:  # noqa: BLE001
                    primary = True
                if pid:
                    os.kill(pid, signal.SIGSTOP)
                    frozen.append(pid)
                    time.sleep(rng.uniform(0.2, 1.2) if primary else rng.uniform(0.5, 4.0))
                    os.kill(pid, signal.SIGCONT)
                    frozen.remove(pid)
                    counts["agent freezes"] += 1
            else:
                rc, _, _ = cluster.nlbctl("switchover", "--timeout", "10", timeout=30)
                counts[f"switchovers (exit {rc})"] = counts.get(f"switchovers (exit {rc})", 0) + 1
            time.sleep(rng.uniform(0.3, 2.0))
    finally:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def one_healthy_primary(cluster):
    try:
        st = cluster.status()
    except Exception:  # noqa: BLE001
        return False
    p = st["primary"]
    return bool(p) and settled(cluster, p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("work")
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("NLBCTL_SOAK_S", "60")))
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    if not 10 <= args.seconds <= 24 * 3600:
        ap.error("--seconds must be 10 .. 86400")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    rng = random.Random(args.seed)
    print(f"soak: {args.seconds:.0f} s of storm, seed {args.seed} (replay: --seed {args.seed})")
    cluster = Cluster(args.build_dir, args.work, tag="soak", app=True)
    counts = {"agent restarts": 0, "application kills": 0, "agent freezes": 0}
    try:
        with cluster, SplitBrainWatch(cluster) as watch, EpochWatch(cluster) as epochs:
            cluster.start_all()
            wait_until("election of node1", lambda: settled(cluster, "node1"), timeout=40)
            time.sleep(3)  # warm-up: links, first reconciles
            long_lived = {name: wine_pid(cluster, name) for name in ("coordinator", "node1")}
            before = {n: proc_stats(p) for n, p in long_lived.items()}

            storm(cluster, rng, args.seconds, counts)
            wait_until("one healthy primary after the storm",
                       lambda: one_healthy_primary(cluster), timeout=30)
            time.sleep(3)  # let reconnects and restarted applications settle
            after = {n: proc_stats(p) for n, p in long_lived.items()}

            for name in ("coordinator",):
                epoch_file = os.path.join(args.work, name, "epoch")
                for i in range(3):
                    e0 = cluster.status()["epoch"]
                    cluster.kill(name)
                    time.sleep(rng.uniform(0.2, 2.0))
                    cluster.start(name)
                    wait_until("the coordinator back", lambda: one_healthy_primary(cluster),
                               timeout=30)
                    e1 = cluster.status()["epoch"]
                    if e1 < e0:
                        raise TestFailure(f"the epoch went back across a coordinator restart: "
                                          f"{e0} -> {e1}")
                    counts["coordinator restarts"] = i + 1
                if os.path.exists(epoch_file):
                    print(f"coordinator's epoch file: {open(epoch_file).read().strip()}")

        print(f"faults injected: {counts}")
        for name in long_lived:
            (t0, f0, r0), (t1, f1, r1) = before[name], after[name]
            print(f"{name}: threads {t0} -> {t1}, descriptors {f0} -> {f1}, "
                  f"RSS {r0} -> {r1} KiB")
            if t1 > t0 + 1 or f1 > f0 + 4 or r1 - r0 > RSS_GROWTH_KIB:
                raise TestFailure(f"{name} grew during the storm: threads {t0} -> {t1}, "
                                  f"descriptors {f0} -> {f1}, RSS {r0} -> {r1} KiB")
        if epochs.backwards:
            raise TestFailure(f"the epoch went backwards: {epochs.backwards}")
        print(f"epoch sampled {epochs.samples} times, never backwards (last {epochs.last})")
        if watch.violations:
            raise TestFailure(f"two rules enabled at once in {len(watch.violations)} of "
                              f"{watch.samples} samples: {watch.violations[:3]}")
        print(f"I1 held in all {watch.samples} samples")
    except Exception:
        cluster.dump_logs()
        print(f"replay with --seed {args.seed}")
        raise
    print("PASS")


if __name__ == "__main__":
    main()
