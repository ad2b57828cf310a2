"""SIPp (Debian's sip-tester) as a bounded load generator for the scenario
tests, the benchmark and the demo: a fixed number of calls at a fixed rate,
statistics in a CSV file every second, stopped by pid.

Scenarios: "options" (an OPTIONS request answered by 200, one transaction a
call) and "uac" (SIPp's built-in INVITE / 100 / 200 / ACK, a pause, BYE /
200: a whole call). Retransmissions are off (-nr) unless retransmit=True: a
request lost in a failover is a failed call, not hidden by a retry. (SIPp
retransmits a request of an XML scenario only if its <send> names a retrans
timer: the OPTIONS scenario does, T1 = 500 ms; -nr still turns it off.)
"""
import os
import shutil
import signal
import subprocess

OPTIONS_XML = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="nlbctl options">
  <send retrans="500">
    <![CDATA[

      OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" timeout="1000"/>
</scenario>
"""


class Sipp:
    def __init__(self, work, name, target, local_ip, scenario="options", rate=20, count=1000,
                 call_ms=1000, prefix=(), timeout_s=120, retransmit=False, transport="u1"):
        """target "ip:port"; prefix: argv put in front (e.g. ip netns exec NS)."""
        self.work, self.name, self.target, self.local_ip = work, name, target, local_ip
        self.scenario, self.rate, self.count, self.call_ms = scenario, rate, count, call_ms
        self.prefix, self.timeout_s = list(prefix), timeout_s
        self.retransmit = retransmit
        self.transport = transport  # SIPp -t: u1 (UDP), tn (a TCP connection per call)
        self.stat = os.path.join(work, f"sipp-{name}.csv")
        self.out_path = os.path.join(work, f"sipp-{name}.out")
        self.proc = self.out = None

    @staticmethod
    def available():
        return shutil.which("sipp") is not None

    def start(self):
        sipp = shutil.which("sipp")
        if not sipp:
            raise RuntimeError("sipp not found on PATH (scripts/bootstrap.sh installs sip-tester)")
        if self.scenario == "options":
            xml = os.path.join(self.work, "options.xml")
            with open(xml, "w") as f:
                f.write(OPTIONS_XML)
            scen = ["-sf", xml]
        else:
            # A call whose INVITE or BYE was lost fails after 3 s rather than
            # waiting for ever (no retransmissions).
            scen = ["-sn", "uac", "-d", str(self.call_ms), "-recv_timeout", "3000"]
        if self.transport != "u1":
            # A connection reset (NLB dropping it at a disable) fails the
            # calls on it, not the whole run.
            scen += ["-max_reconnect", "100000", "-reconnect_close", "true",
                     "-reconnect_sleep", "0"]
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            [*self.prefix, sipp, self.target, *scen, "-t", self.transport, "-i", self.local_ip,
             "-p", "0", "-max_socket", "1000",
             "-r", str(self.rate), "-rp", "1000", "-m", str(self.count),
             "-timeout", f"{self.timeout_s}s", *([] if self.retransmit else ["-nr"]), "-nostdin",
             "-trace_stat", "-stf", self.stat, "-fd", "1",
             "-trace_err", "-error_file", os.path.join(self.work, f"sipp-{self.name}-errors.log")],
            cwd=self.work, stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        return self

    def running(self):
        return bool(self.proc and self.proc.poll() is None)

    def wait(self, timeout):
        """True if SIPp ended by itself within timeout."""
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # SIGUSR1: SIPp's own "stop and write the statistics".
            self.proc.send_signal(signal.SIGUSR1)
            if not self.wait(5):
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.out:
            self.out.close()
            self.out = None

    def totals(self):
        """{created, successful, failed} from the last line of the stat file
        (None if SIPp wrote none yet)."""
        try:
            with open(self.stat) as f:
                rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
        except OSError:
            return None
        if len(rows) < 2:
            return None
        col = {name: i for i, name in enumerate(rows[0])}
        last = rows[-1]
        return {k: int(last[col[c]]) for k, c in (("created", "OutgoingCall(C)"),
                                                   ("successful", "SuccessfulCall(C)"),
                                                   ("failed", "FailedCall(C)"))}

    def output_tail(self, n=2000):
        try:
            with open(self.out_path, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""
