#!/usr/bin/env python3
"""`nlbctl port` and the exec and wmi backends, end to end under Wine.

- sim: enable, drain, disable, query, with --json, every change read back;
- exec (a fake nlb.exe from tests/apps): success, a failing command (exit
  code 7, the tool's output in the message), garbage output, a hang stopped
  at the time limit;
- wmi: Wine has no root\\MicrosoftNLB, so the command says NLB is not
  installed and exits 7;
- an agent whose exec backend hangs keeps answering `nlbctl status` while
  its NLB command is written off, and logs it.

usage: nlbctl_port.py BUILD_DIR WORK_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, TestFailure, wait_until, wine_path  # noqa: E402

failures = []


def nlbctl(build_dir, *args, env=None, timeout=60):
    e = dict(os.environ, WINEDEBUG="-all", **(env or {}))
    t0 = time.monotonic()
    r = subprocess.run(["wine", os.path.join(build_dir, "nlbctl", "nlbctl.exe"), *args],
                       capture_output=True, timeout=timeout, env=e, stdin=subprocess.DEVNULL)
    # nlbctl writes UTF-8 whatever it quotes; scripts decoding strictly
    # (PowerShell, Python) must not choke on a cut character.
    text = []
    for name, data in (("stdout", r.stdout), ("stderr", r.stderr)):
        try:
            text.append(data.decode("utf-8"))
        except UnicodeDecodeError as ex:
            failures.append(f"nlbctl {' '.join(args[:2])}: {name} is not valid UTF-8: {ex}: "
                            f"{data[max(0, ex.start - 40):ex.end + 40]!r}")
            text.append(data.decode("utf-8", "replace"))
    return r.returncode, text[0], text[1], time.monotonic() - t0


def expect(what, result, code, *needles):
    rc, out, err, took = result
    text = out + err
    missing = [n for n in needles if n not in text]
    if rc != code or missing:
        failures.append(f"{what}: expected exit {code} with {needles}; got {rc}: {text.strip()!r}")
    else:
        print(f"ok  {what} ({took:.2f} s): {text.strip().splitlines()[0]}")
    return result


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rule = "192.0.2.10:5060"

    # ---- sim ----
    sim = ["--backend", "sim", "--sim-dir", wine_path(work), "--node", "n1"]
    expect("sim query, no rule yet", nlbctl(build_dir, "port", "query", rule, *sim), 7,
           "no port rule")
    for action, state in (("enable", "enabled"), ("drain", "draining"), ("disable", "disabled")):
        expect(f"sim {action}", nlbctl(build_dir, "port", action, rule, *sim), 0, f"is {state}")
    rc, out, err, _ = expect("sim query --json", nlbctl(build_dir, "port", "query", rule, *sim,
                                                        "--json"), 0, '"state":"disabled"')
    if rc == 0 and json.loads(out)["ok"] is not True:
        failures.append(f"--json: {out}")
    expect("bad rule", nlbctl(build_dir, "port", "query", "192.0.2.10"), 1, "VIP:PORT")
    expect("bad action", nlbctl(build_dir, "port", "frob", rule), 1, "not an action")
    expect("bad backend", nlbctl(build_dir, "port", "query", rule, "--backend", "x"), 1, "--backend")

    # ---- exec, with the fake nlb.exe ----
    fake = wine_path(os.path.join(build_dir, "tests", "apps", "fake_nlb.exe"))
    state = os.path.join(work, "fake.state")
    ex = ["--backend", "exec", "--exec-command", f'"{fake}" %ACTION% %VIP%:%PORT%',
          "--exec-query", f'"{fake}" queryport %VIP%:%PORT%']
    env = {"FAKE_NLB_STATE": wine_path(state)}
    expect("exec enable", nlbctl(build_dir, "port", "enable", rule, *ex, env=env), 0, "is enabled")
    expect("exec query", nlbctl(build_dir, "port", "query", rule, *ex, env=env), 0, "is enabled")
    expect("exec failing command", nlbctl(build_dir, "port", "disable", rule, *ex,
                                          env=dict(env, FAKE_NLB_MODE="fail")), 7, "exit code 3")
    # The garbage is random each run: several runs, so a cut inside a
    # character (seen once in CI) is likely to show.
    for _ in range(5):
        expect("exec garbage output", nlbctl(build_dir, "port", "query", rule, *ex,
                                             env=dict(env, FAKE_NLB_MODE="garbage")), 7)
    # The error quotes the tool's output: control characters and all, the
    # JSON must still parse.
    rc, out, err, _ = nlbctl(build_dir, "port", "query", rule, *ex, "--json",
                             env=dict(env, FAKE_NLB_MODE="garbage"))
    try:
        doc = json.loads(out)
        if rc != 7 or doc["ok"] is not False or not doc["error"]:
            failures.append(f"exec garbage --json: exit {rc}, {out!r}")
        else:
            print("ok  exec garbage output with --json: valid JSON, the error quoted")
    except ValueError as e:
        failures.append(f"exec garbage --json is not JSON ({e}): {out!r}")
    expect("exec command ignored", nlbctl(build_dir, "port", "disable", rule, *ex,
                                          env=dict(env, FAKE_NLB_MODE="ignore")), 7,
           "reads enabled")
    rc, out, err, took = nlbctl(build_dir, "port", "disable", rule, *ex, "--timeout", "2",
                                env=dict(env, FAKE_NLB_MODE="hang"))
    if rc != 5 or ("stopped" not in err and "did not finish" not in err) or took > 10:
        failures.append(f"exec hang: exit {rc} after {took:.1f} s: {err.strip()!r}")
    else:
        print(f"ok  exec hang stopped at the limit ({took:.2f} s): {err.strip().splitlines()[0]}")

    # ---- wmi: no NLB under Wine ----
    expect("wmi query without NLB", nlbctl(build_dir, "port", "query", rule), 7,
           "NLB is not installed")

    # ---- an agent whose NLB command hangs still answers status ----
    cluster = Cluster(build_dir, os.path.join(work, "agent"), tag="port", peer=False)
    with cluster:
        cluster.write_configs()
        with open(cluster.config_path("node1"), "a") as f:
            f.write(f"[nlb]\nbackend = exec\nexec_command = \"{fake}\" %ACTION% %VIP%:%PORT%\n"
                    f"exec_query = \"{fake}\" queryport %VIP%:%PORT%\n")
        # The sim_dir line the harness wrote is accepted beside exec.
        text = open(cluster.config_path("node1")).read().replace("backend = sim\n", "", 1)
        text = text.replace("[nlb]\nbackend = exec", "[nlb]\nbackend = exec", 1)
        open(cluster.config_path("node1"), "w").write(_merge_nlb(text))
        cluster.start("node1", env={"FAKE_NLB_STATE": wine_path(state), "FAKE_NLB_MODE": "hang"})
        answered = 0
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            try:
                t0 = time.monotonic()
                st = cluster.status(instance="node1")
                if time.monotonic() - t0 > 2:
                    failures.append("status took more than 2 s during the hang")
                answered += 1
            except TestFailure:
                pass
            time.sleep(0.3)
        log = open(os.path.join(cluster.work, "node1.log"), errors="replace").read()
        if answered < 5 or "has not returned within" not in log:
            failures.append(f"agent during a hung NLB command: {answered} status answers; log:\n"
                            f"{log[-1500:]}")
        else:
            print(f"ok  agent with a hung NLB command answered status {answered} times "
                  f"(port {st['nodes'][0]['port_actual']}) and logged the hang")
        kill_fakes_of(wine_path(state))

    if failures:
        raise TestFailure("\n".join(failures))
    print("PASS")


def kill_fakes_of(state):
    """Ends the fake nlb.exe processes this test started (their environment
    names our state file), by process id: never another test's."""
    mark = f"FAKE_NLB_STATE={state}".encode()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if mark not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"fake_nlb" not in f.read():
                    continue
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def _merge_nlb(text):
    """Folds a second [nlb] section into the first (keys must be unique)."""
    head, sep, rest = text.partition("[nlb]\n")
    first, sep2, second = rest.partition("[nlb]\n")
    lines = [line for line in first.splitlines(True) if not line.startswith("backend =")]
    return head + sep + "".join(lines) + second if sep2 else text


if __name__ == "__main__":
    main()
