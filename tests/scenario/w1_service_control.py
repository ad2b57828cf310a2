#!/usr/bin/env python3
"""nlbctld as a real service under Wine's SCM: config reload on PARAMCHANGE,
and the stop with handover that PRESHUTDOWN runs.

The service is agent node1 (sim NLB); the coordinator and node2 run in
consoles beside it, on a Wine host of its own (a copy of the template
prefix), so that the service's Event Log calls can be read: services.exe is
started with WINEDEBUG=fixme+advapi,+eventlog and its stderr (which the
service inherits) goes to a file, as in tests/installer/installer_test.py.

Wine's sc.exe has no `control` command, so the controls are sent with
tests/apps/svc_control.exe (ControlService). Wine's SCM never sends
PRESHUTDOWN and refuses it from ControlService (error 87, as Windows does);
the same handler branch is reached with nlbctld's own control 128, "stop
with handover" (README, "Service controls").

  1. accepted controls include PARAMCHANGE and PRESHUTDOWN; the service set
     its preshutdown timeout (10000 ms with the default nlb_timeout_ms);
  2. node1 primary; its config replaced with a broken one; PARAMCHANGE:
     refused (event 16, file:line [section] key in the text and the log),
     the service RUNNING, `nlbctl status` answers on the same pipe with the
     same role, mode and epoch, the port still enabled;
  3. a valid config with a live change (drain_ms = 1500) and a restart one
     (pipe renamed): PARAMCHANGE: applied (event 17 names [nlb] drain_ms),
     the pipe change reported for the next restart (event 18) and not
     half-applied (status still answers on the old pipe, same epoch); the
     drain really applies: a switchover to node2 drains node1's rule first;
  4. switch back to node1; control 128: event 5, node1's port disabled,
     node2's enabled, and the service says it handed over (it waited for
     node2's report) before it stopped, exit code 0;
  5. all along, the WMI status class could not be written (Wine has no
     root\nlbctl namespace: its mofcomp is a stub): exactly one warning,
     event 19, in the Event Log calls and the log file; the steps above
     show everything else worked.

usage: w1_service_control.py BUILD_DIR WORK_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, TestFailure, wait_until, wine_path  # noqa: E402

EVENT_TYPES = {1: "error", 2: "warning", 4: "information"}


def reported_events(services_log):
    """ReportEventW calls as Wine traced them: [(type, low 16 bits of ID, text)]."""
    with open(services_log, errors="replace") as f:
        lines = f.read().splitlines()
    events, pending = [], {}
    for line in lines:
        m = re.match(r"^([0-9a-f]+):fixme:advapi:ReportEventW \([0-9A-Fa-f]+,0x([0-9a-f]+),"
                     r"0x[0-9a-f]+,0x([0-9a-f]+),", line)
        if m:
            pending[m.group(1)] = (EVENT_TYPES.get(int(m.group(2), 16), m.group(2)),
                                   int(m.group(3), 16) & 0xFFFF)
            continue
        # Wine cuts long strings: L"..."...
        m = re.match(r'^([0-9a-f]+):(?:trace|warn|err):eventlog:ReportEventW L"(.*)"(?:\.\.\.)?$', line)
        if m and m.group(1) in pending:
            etype, eid = pending.pop(m.group(1))
            events.append((etype, eid, m.group(2)))
    return events


def main():
    build_dir, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    prefix = os.path.join(work, "prefix")
    services_log = os.path.join(work, "services.err")
    template = os.path.join(os.environ["NLBCTL_WINE_DIR"], "template")
    if not os.path.isfile(os.path.join(template, ".nlbctl-ready")):
        raise TestFailure(f"no template prefix at {template} (the wine_prefix fixture makes it)")
    os.environ["WINEPREFIX"] = prefix
    quiet = dict(os.environ, WINEDEBUG="-all")
    svc_control = os.path.join(build_dir, "tests", "apps", "svc_control.exe")
    svc = f"nlbctldctl{os.getpid()}"
    ok = False

    def wine(*args, check=True, timeout=60):
        r = subprocess.run(["wine", *args], capture_output=True, text=True, errors="replace",
                           timeout=timeout, env=quiet, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise TestFailure(f"wine {' '.join(args)} exited {r.returncode}: {r.stdout} {r.stderr}")
        return r

    def state():
        m = re.search(r"STATE\s*:\s*\d+\s+(\w+)", wine("sc", "query", svc, check=False).stdout)
        return m.group(1) if m else None

    def wait_event(etype, eid, text, timeout=15):
        def found():
            return any(e[0] == etype and e[1] == eid and text in e[2]
                       for e in reported_events(services_log))
        wait_until(f"event {eid} ({etype}) with {text!r}", found, timeout=timeout)
        print(f"event {eid} ({etype}): ...{text}...")

    try:
        subprocess.run(["cp", "-a", template, prefix], check=True)  # never hard links
        subprocess.run(["setsid", "wineserver", "-p"], env=quiet, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                       timeout=30)
        with open(services_log, "w") as err:
            subprocess.run(["setsid", "wine", "cmd", "/c", "exit"],
                           env=dict(os.environ, WINEDEBUG="-all,fixme+advapi,+eventlog"),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                           timeout=60, check=True)
        cluster = Cluster(build_dir, work, tag="ctl")
        with cluster:
            cluster.write_configs()
            cfg_path = cluster.config_path("node1")
            with open(cfg_path) as f:
                good = f.read()
            log_path = os.path.join(work, "node1", "nlbctld.log")
            cluster.start("coordinator")
            cluster.start("node2")
            binpath = f'"{wine_path(cluster.nlbctld)}" --config "{wine_path(cfg_path)}"'
            wine("sc", "create", svc, "binpath=", binpath)
            wine("net", "start", svc)
            wait_until("the service RUNNING", lambda: state() == "RUNNING", timeout=30)

            print("1. controls accepted and the preshutdown timeout")
            out = wine(svc_control, svc, "interrogate").stdout
            m = re.search(r"controls accepted 0x([0-9a-f]+)", out)
            accepted = int(m.group(1), 16) if m else 0
            if accepted & 0x8 == 0 or accepted & 0x100 == 0:
                raise TestFailure(f"PARAMCHANGE (0x8) and PRESHUTDOWN (0x100) not accepted: {out}")
            out = wine(svc_control, svc, "preshutdown-timeout").stdout
            if "preshutdown timeout: 10000" not in out:
                raise TestFailure(f"preshutdown timeout: {out}")
            r = wine(svc_control, svc, "preshutdown", check=False)
            print(f"controls accepted 0x{accepted:x}; {out.strip()}; ControlService(PRESHUTDOWN) "
                  f"exit {r.returncode} (Wine, like Windows, lets only the SCM send it)")

            def primary_is(node):
                def check():
                    try:
                        st = cluster.status()
                    except TestFailure:
                        return False
                    n2 = next(x for x in st["nodes"] if x["name"] == "node2")
                    return (st["primary"] == node and st["phase"] == "stable"
                            and n2["link"] == "up" and n2["peer_link"] == "up")
                return check
            wait_until("node1 primary, node2 linked", primary_is("node1"), timeout=30)
            before = cluster.status(instance="node1")
            print(f"node1 primary at epoch {before['epoch']}")

            print("2. a broken config: refused, the old one stays in force")
            broken = good + "[timing]\nheartbeat_ms = fast\n"
            bad_line = broken.count("\n")
            with open(cfg_path, "w") as f:
                f.write(broken)
            wine(svc_control, svc, "paramchange")
            where = f"node1.ini:{bad_line}: [timing] heartbeat_ms"
            wait_event("error", 16, where)
            with open(log_path, errors="replace") as f:
                if where not in f.read():
                    raise TestFailure(f"the log file does not name {where}")
            if state() != "RUNNING":
                raise TestFailure(f"after a refused reload the service is {state()}")
            after = cluster.status(instance="node1")
            for k in ("role", "primary", "epoch"):
                if after[k] != before[k]:
                    raise TestFailure(f"status {k} changed from {before[k]} to {after[k]}")
            if cluster.port_state("node1") != "enabled":
                raise TestFailure(f"node1's port is {cluster.port_state('node1')}")
            print(f"refused; still RUNNING, role {after['role']}, primary {after['primary']}, "
                  f"epoch {after['epoch']}, port enabled")

            print("3. a valid change: drain_ms applied, the pipe for the next restart")
            changed = good.replace(f"pipe = {cluster.pipe('node1')}\n",
                                   f"pipe = {cluster.pipe('node1')}-renamed\n")
            changed = changed.replace("[nlb]\n", "[nlb]\ndrain_ms = 1500\n")
            if changed.count("renamed") != 1 or "drain_ms" not in changed:
                raise TestFailure("could not edit the config")
            with open(cfg_path, "w") as f:
                f.write(changed)
            wine(svc_control, svc, "paramchange")
            wait_event("information", 17, "applied [nlb] drain_ms")
            wait_event("warning", 18, "[nlbctld] pipe changed, takes effect at the next restart")
            after = cluster.status(instance="node1")  # the old pipe still answers
            if after["epoch"] != before["epoch"] or after["primary"] != "node1":
                raise TestFailure(f"after the reload: {after}")
            rc, out, err = cluster.nlbctl("switchover", "--to", "node2")
            if rc != 0:
                raise TestFailure(f"switchover to node2: rc {rc}: {out} {err}")
            wait_event("information", 125, "draining the port for 1500 ms before disabling it")
            print(f"node1's rule after the switchover: {cluster.port_state('node1')}; "
                  "it drains for the reloaded drain_ms before its disable")
            wait_until("node1 disabled", lambda: cluster.port_state("node1") == "disabled",
                       timeout=10)

            print("4. stop with handover (the PRESHUTDOWN path)")
            rc, out, err = cluster.nlbctl("switchover", "--to", "node1")
            if rc != 0:
                raise TestFailure(f"switchover back to node1: rc {rc}: {out} {err}")
            wait_until("node1 primary again", primary_is("node1"), timeout=30)
            t0 = time.monotonic()
            wine(svc_control, svc, "128")
            wait_until("the service STOPPED", lambda: state() == "STOPPED", timeout=20)
            took = time.monotonic() - t0
            out = wine("sc", "query", svc, check=False).stdout
            if not re.search(r"SERVICE_EXIT_CODE\s*:\s*0\b", out):
                raise TestFailure(f"exit code after the handover stop:\n{out}")
            if cluster.port_state("node1") != "disabled" or cluster.port_state("node2") != "enabled":
                raise TestFailure(f"ports after the handover: {cluster.ports()}")
            wait_event("information", 5, "the host is shutting down: node node1 (primary)")
            wait_event("information", 5, "handed over: port disabled here, the peer serves")
            print(f"handed over to node2 and stopped in {took:.2f} s")

            print("5. the WMI status class: Wine has no root\\nlbctl; one warning, nothing else")
            ids = [e for e in reported_events(services_log) if e[1] == 19]
            if len(ids) != 1 or ids[0][0] != "warning" or "root\\\\nlbctl" not in ids[0][2]:
                raise TestFailure(f"expected exactly one event 19 (warning) naming root\\nlbctl, "
                                  f"got {ids}")
            with open(log_path, errors="replace") as f:
                n = f.read().count("the WMI status class root\\nlbctl Nlbctl_Status is not available")
            if n != 1:
                raise TestFailure(f"the WMI warning is in the log {n} times, want once")
            print(f"event 19 once: ...{ids[0][2][:120]}...")
        ok = True
    except Exception:
        for name in ("node1/nlbctld.log", "coordinator.log", "node2.log"):
            p = os.path.join(work, name)
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    print(f"----- {name} -----\n{f.read()[-4000:]}")
        raise
    finally:
        wine("net", "stop", svc, check=False)
        wine("sc", "delete", svc, check=False)
        subprocess.run(["wineserver", "-k"], env=quiet, timeout=30, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["wineserver", "-w"], env=quiet, timeout=30, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if ok:
            shutil.rmtree(prefix, ignore_errors=True)
        else:
            print(f"the host is kept for a look: WINEPREFIX={prefix}")
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
