#!/usr/bin/env python3
"""Bad input to nlbctld.exe and nlbctl.exe gets a clear message naming what is
wrong and where, and the documented exit code; never a crash or a hang.

usage: cli_errors.py BUILD_DIR WORK_DIR
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TEST_KEY, TestFailure, wine_path  # noqa: E402

failures = []


def run(exe, *args):
    r = subprocess.run(["wine", exe, *args], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, WINEDEBUG="-all"))
    return r.returncode, r.stdout, r.stderr


def expect(what, result, code, *needles):
    rc, out, err = result
    text = out + err
    missing = [n for n in needles if n not in text]
    if rc != code or missing:
        failures.append(f"{what}: expected exit {code} and {needles}; got {rc}: {text.strip()!r}")
    else:
        print(f"ok  {what}: exit {rc}: {text.strip().splitlines()[0] if text.strip() else ''}")


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    nlbctld = os.path.join(build_dir, "service", "nlbctld.exe")
    nlbctl = os.path.join(build_dir, "nlbctl", "nlbctl.exe")

    def conf(name, text):
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(text)
        return wine_path(path)

    key = f"[security]\nkey = {TEST_KEY}\n"
    good = conf("good.ini", "[nlbctld]\nrole = coordinator\n[pair]\nnode1 = a\nnode2 = b\n" + key)
    expect("valid config", run(nlbctld, "--check", "--config", good), 0, "valid", "coordinator")
    missing = wine_path(os.path.join(work, "absent.ini"))
    expect("missing config file", run(nlbctld, "--check", "--config", missing), 2,
           "absent.ini", "cannot read")
    expect("missing config file, console", run(nlbctld, "--console", "--config", missing), 2,
           "absent.ini")
    bad_key = conf("badkey.ini", "[nlbctld]\nrole = coordinator\n[pair]\nnode1 = a\n"
                   "node2 = b\nnoed3 = c\n")
    expect("unknown key", run(nlbctld, "--check", "--config", bad_key), 2,
           "badkey.ini:6:", "[pair]", "noed3")
    bad_value = conf("badvalue.ini", "[nlbctld]\nrole = agent\n[agent]\nnode = a\n"
                     "coordinator = 192.0.2.5:7400\n[nlb]\nvip = 192.0.2.10\nport = 70000\n"
                     "sim_dir = C:\\sim\n" + key)
    expect("bad value", run(nlbctld, "--console", "--config", bad_value), 2,
           "badvalue.ini:8:", "[nlb] port", "70000")
    missing_key = conf("nokey.ini", "[nlbctld]\nrole = agent\n")
    expect("missing required key", run(nlbctld, "--check", "--config", missing_key), 2,
           "nokey.ini", "[agent] node")
    no_key = conf("nosecret.ini", "[nlbctld]\nrole = coordinator\n[pair]\nnode1 = a\nnode2 = b\n")
    expect("no pre-shared key", run(nlbctld, "--check", "--config", no_key), 2,
           "nosecret.ini", "[security] key", "no pre-shared key")
    expect("unknown argument", run(nlbctld, "--frobnicate"), 1, "--frobnicate")
    expect("--config without a path", run(nlbctld, "--check", "--config"), 1, "--config")
    expect("service mode from a console", run(nlbctld, "--config", good), 1,
           "Service Control Manager", "--console")
    expect("nlbctld --version", run(nlbctld, "--version"), 0, "nlbctld")

    expect("nlbctl without a command", run(nlbctl), 1, "usage")
    expect("nlbctl unknown command", run(nlbctl, "frobnicate"), 1, "frobnicate")
    expect("nlbctl status, service not running", run(nlbctl, "--pipe", f"absent{os.getpid()}",
                                                       "status"), 2, "not running")
    expect("nlbctl switchover, service not running",
           run(nlbctl, "--pipe", f"absent{os.getpid()}", "switchover"), 2, "not running")
    expect("nlbctl bad timeout", run(nlbctl, "switchover", "--timeout", "0"), 1, "--timeout")
    expect("nlbctl bad status option", run(nlbctl, "status", "--xml"), 1, "--xml")
    expect("nlbctl --help", run(nlbctl, "--help"), 0, "exit codes")
    expect("nlbctl history, service not running",
           run(nlbctl, "--pipe", f"absent{os.getpid()}", "history"), 2, "not running")
    expect("nlbctl history bad option", run(nlbctl, "history", "--xml"), 1, "--xml")

    if failures:
        raise TestFailure("\n".join(failures))
    print("PASS")


if __name__ == "__main__":
    main()
