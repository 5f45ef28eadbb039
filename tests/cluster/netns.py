"""A virtual cluster on one Linux machine: N "hosts", each a network namespace with its
own address, its own hostname, /dev/shm and SysV IPC, and an sshd, joined by a bridge.

Layout (nothing is added to the machine's own network namespace, so no traffic can reach
any other address):

* `dn-<pid>-sw`: a namespace holding the bridge `br0` (the switch);
* `dn-<pid>-<i>`: host i, interface `eth0` = `10.213.0.<i+1>/24`, loopback up; the other
  end of its veth pair (`p<i>`) is a port of the bridge;
* optionally host names every host resolves (/etc/netns/<ns>/hosts, as cluster DNS);
* per host an sshd listening on that address only, in its own UTS, IPC and mount
  namespaces (hostname `dn-host<i>`, a private tmpfs on /dev/shm: two real hosts share
  none of these, and neither the kvstore's shared-memory path nor MPI's (UCX found SysV
  shared memory when the IPC namespace was shared) may bridge them);
* a temp dir with the host keys, one client key, its authorized_keys, an `ssh_config`
  (`StrictHostKeyChecking no`, known hosts to /dev/null) and `bin/ssh`, a wrapper running
  `/usr/bin/ssh -F ssh_config "$@"`; put that `bin` first on PATH and the launcher's plain
  `ssh HOST ...` reaches the virtual hosts.

The filesystem stays shared, as the ssh launcher requires. Links can be shaped
(`tc qdisc tbf`, both directions) and set down/up. `close()` kills every process left in
the namespaces (all of them started through this harness), then deletes the namespaces;
it runs from a `finally`, and from atexit should the test process end another way.

`available()` says in one line why no cluster can be made here (not root, no `ip`, no
sshd, `ip netns add` refused), so the tests skip with that reason.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Dict, List, Optional, Sequence

SUBNET = "10.213.0"
SSHD = "/usr/sbin/sshd"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(("ip",) + args, capture_output=True, text=True, check=check, timeout=30)


def available() -> Optional[str]:
    """None where a cluster can be made, else a one-line reason why not."""
    if os.geteuid() != 0:
        return "virtual cluster needs root (network namespaces)"
    if not shutil.which("ip") or not shutil.which("tc"):
        return "virtual cluster needs iproute2 (ip, tc)"
    if not os.access(SSHD, os.X_OK) or not shutil.which("ssh"):
        return "virtual cluster needs openssh-server and ssh (apt-get install openssh-server)"
    probe = f"dn-{os.getpid()}-probe"
    res = _ip("netns", "add", probe, check=False)
    if res.returncode != 0:
        return f"cannot make network namespaces: {res.stderr.strip() or res.returncode}"
    _ip("netns", "del", probe, check=False)
    return None


class Cluster:
    """`n` virtual hosts; use as a context manager (teardown whatever happens)."""

    def __init__(
        self,
        n: int,
        rate: Optional[str] = None,
        sshd: bool = True,
        names: Optional[Dict[str, int]] = None,
    ):
        self.n = n
        self.prefix = f"dn-{os.getpid()}-{int(time.monotonic() * 1000) % 100000}"
        self.switch = f"{self.prefix}-sw"
        self.names = [f"{self.prefix}-{i}" for i in range(n)]
        self.addrs = [f"{SUBNET}.{i + 1}" for i in range(n)]
        self.tmp = tempfile.mkdtemp(prefix="dn-cluster-")
        self.bindir = os.path.join(self.tmp, "bin")
        self._sshd: List[subprocess.Popen] = []
        self._made: List[str] = []
        atexit.register(self.close)
        try:
            self._build(rate)
            self._resolve(names or {})
            if sshd:
                self._start_sshd()
        except BaseException:
            self.close()
            raise

    # ---- building -------------------------------------------------------------------
    def _build(self, rate: Optional[str]) -> None:
        for ns in [self.switch] + self.names:
            _ip("netns", "add", ns)
            self._made.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        for i, ns in enumerate(self.names):
            # Both ends are created straight inside their namespaces: nothing in ours.
            _ip(
                "-n",
                self.switch,
                "link",
                "add",
                f"p{i}",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            )
            _ip("-n", self.switch, "link", "set", f"p{i}", "master", "br0", "up")
            _ip("-n", ns, "addr", "add", f"{self.addrs[i]}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
        if rate:
            self.shape(rate)

    def _resolve(self, names: Dict[str, int]) -> None:
        """Host names (name -> host index) every host resolves, as cluster DNS would:
        `ip netns exec` mounts /etc/netns/<ns>/hosts over /etc/hosts."""
        if not names:
            return
        lines = "127.0.0.1 localhost\n" + "".join(
            f"{self.addrs[i]} {name}\n" for name, i in names.items()
        )
        for ns in self.names:
            os.makedirs(f"/etc/netns/{ns}", exist_ok=True)
            with open(f"/etc/netns/{ns}/hosts", "w", encoding="ascii") as f:
                f.write(lines)

    def shape(self, rate: str) -> None:
        """Limit every link to `rate` (tc syntax, e.g. '1gbit') in both directions."""
        for i, ns in enumerate(self.names):
            for where, dev in ((ns, "eth0"), (self.switch, f"p{i}")):
                subprocess.run(
                    [
                        "ip",
                        "netns",
                        "exec",
                        where,
                        "tc",
                        "qdisc",
                        "replace",
                        "dev",
                        dev,
                        "root",
                        "tbf",
                        "rate",
                        rate,
                        "burst",
                        "512kb",
                        "latency",
                        "50ms",
                    ],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )

    def _keys(self) -> None:
        key = os.path.join(self.tmp, "id")
        for path in (key, os.path.join(self.tmp, "host_key")):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path],
                check=True,
                capture_output=True,
                timeout=60,
            )
        shutil.copy(key + ".pub", os.path.join(self.tmp, "authorized_keys"))
        with open(os.path.join(self.tmp, "ssh_config"), "w", encoding="ascii") as f:
            f.write(
                f"Host *\n  User root\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
                "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                "  LogLevel ERROR\n  ConnectTimeout 10\n  ServerAliveInterval 5\n"
            )
        os.makedirs(self.bindir)
        wrapper = os.path.join(self.bindir, "ssh")
        with open(wrapper, "w", encoding="ascii") as f:
            f.write(f'#!/bin/sh\nexec /usr/bin/ssh -F {self.tmp}/ssh_config "$@"\n')
        os.chmod(wrapper, 0o755)

    def _start_sshd(self) -> None:
        self._keys()
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        for i, ns in enumerate(self.names):
            cfg = os.path.join(self.tmp, f"sshd_config.{i}")
            with open(cfg, "w", encoding="ascii") as f:
                f.write(
                    f"ListenAddress {self.addrs[i]}\nHostKey {self.tmp}/host_key\n"
                    f"AuthorizedKeysFile {self.tmp}/authorized_keys\n"
                    "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nStrictModes no\nUsePAM no\n"
                    f"UseDNS no\nPidFile {self.tmp}/sshd.{i}.pid\nMaxStartups 100\n"
                    "MaxSessions 100\nClientAliveInterval 2\nClientAliveCountMax 2\n"
                )
            boot = (
                f"mount -t tmpfs -o size=1g tmpfs /dev/shm && hostname dn-host{i} && "
                f"exec {SSHD} -D -e -f {cfg}"
            )
            self._sshd.append(
                subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        ns,
                        "unshare",
                        "--uts",
                        "--ipc",
                        "--mount",
                        "--propagation",
                        "private",
                        "sh",
                        "-c",
                        boot,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=open(os.path.join(self.tmp, f"sshd.{i}.log"), "w"),
                )
            )
        deadline = time.monotonic() + 30
        for i in range(self.n):
            while self.ssh(i, ["true"], check=False).returncode != 0:
                if time.monotonic() > deadline or self._sshd[i].poll() is not None:
                    log = open(os.path.join(self.tmp, f"sshd.{i}.log")).read()
                    raise RuntimeError(f"sshd on {self.addrs[i]} did not start: {log}")
                time.sleep(0.2)

    # ---- using ----------------------------------------------------------------------
    def env(self, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        """`base` (default os.environ) with the ssh wrapper first on PATH."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = self.bindir + os.pathsep + env.get("PATH", "")
        return env

    def argv(self, i: int, argv: Sequence[str]) -> List[str]:
        """`argv` run inside host i's network namespace."""
        return ["ip", "netns", "exec", self.names[i]] + list(argv)

    def ssh(
        self, i: int, argv: Sequence[str], check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess:
        """Run a command on host i over ssh from host 0 (what the launcher does)."""
        cmd = self.argv(
            0, [os.path.join(self.bindir, "ssh"), "-o", "BatchMode=yes", self.addrs[i]] + list(argv)
        )
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def link(self, i: int, up: bool) -> None:
        """Set host i's link down or up (its end of the cable)."""
        _ip("-n", self.names[i], "link", "set", "eth0", "up" if up else "down")

    def pids(self, i: int) -> List[int]:
        """Every process in host i's namespace other than its listening sshd."""
        out = _ip("netns", "pids", self.names[i], check=False).stdout.split()
        # ip netns exec, unshare and sh all exec: each Popen's pid is its sshd listener.
        listeners = {p.pid for p in self._sshd}
        return sorted(int(p) for p in out if int(p) not in listeners)

    def job_pids(self) -> Dict[str, List[int]]:
        """{host address: pids} of processes left on the hosts (sshd sessions, jobs)."""
        return {self.addrs[i]: self.pids(i) for i in range(self.n) if self.pids(i)}

    # ---- teardown -------------------------------------------------------------------
    def close(self) -> None:
        """Kill what runs in the namespaces, delete them and the temp dir; idempotent."""
        for p in self._sshd:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        self._sshd = []
        for ns in reversed(self._made):
            for pid in _ip("netns", "pids", ns, check=False).stdout.split():
                try:  # only processes inside our own namespaces: started by this harness
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            _ip("netns", "del", ns, check=False)
            shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
        self._made = []
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
