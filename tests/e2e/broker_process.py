"""Starts and stops a real ringbroker process for end-to-end tests.

The broker binary comes from $RINGBROKER_BIN (CTest sets it), the shard count from $RINGBROKER_SMP.
Each BrokerProcess gets its own free port and temporary data directory, so tests can run in parallel.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BrokerProcess:
    def __init__(self, overrides=None, smp=None):
        self.binary = os.environ.get("RINGBROKER_BIN", "ringbroker")
        self.smp = smp or int(os.environ.get("RINGBROKER_SMP", "1"))
        self.port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="rb-e2e-")
        self.overrides = dict(overrides or {})
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "broker.log")
        self.binary_args = []

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self, timeout=30):
        args = [self.binary, *self.binary_args, "--smp", str(self.smp),
                "--override", f"listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "--override", f"log.dirs={os.path.join(self.data_dir, 'log')}",
                "--override", "broker.id=0"]
        for k, v in self.overrides.items():
            args += ["--override", f"{k}={v}"]
        self.log = open(self.log_path, "ab")
        env = dict(os.environ)
        # Under AddressSanitizer freed memory sits in a quarantine (256 MiB by default), which would
        # read as growth in the memory-bound checks; keep it small.
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=16").lstrip(":")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"broker exited with {self.proc.returncode}:\n{self.read_log()}")
            if self._answers_api_versions():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"broker did not listen within {timeout}s:\n{self.read_log()}")

    def _answers_api_versions(self):
        """True when a broker answers on the port. Accepting is not enough: right after a kill -9 the
        dead broker's listening socket can linger (its io_uring is torn down after exit) and accept
        connections it will never serve."""
        request = struct.pack(">hhih", 18, 0, 1, 5) + b"probe"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(struct.pack(">i", len(request)) + request)
                return len(s.recv(8)) > 0
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise RuntimeError("broker did not stop on " + str(sig))
        finally:
            self.proc = None
            self.log.close()
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-8000:]
        except OSError:
            return ""

    def cleanup(self):
        if self.proc is not None:
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
