"""Start and stop a real ServiceLoop server process (gunicorn) for the load benchmark."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Server", "cpu_seconds", "free_port", "run_django"]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by the processes ``pids`` (Linux ``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_django(env: dict[str, str], *args: str) -> str:
    """Run ``benchmarks/_benchdb.py`` (Django-side set-up and checks) in the server's environment."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "_benchdb.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"_benchdb.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


@dataclass
class Server:
    """gunicorn (sync workers, or gthread with ``threads`` > 1); the log goes to ``log_path``."""

    env: dict[str, str]
    workers: int
    threads: int
    log_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.port = self.port or free_port()
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "serviceloop.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--worker-class",
                # One thread per worker: the plain synchronous worker. Its answers close the
                # connection, but gthread's keep-alive poller gave a 1.5-2x longer p99 here.
                "sync" if self.threads == 1 else "gthread",
                "--workers",
                str(self.workers),
                "--threads",
                str(self.threads),
                "--backlog",
                "2048",
                "--keep-alive",
                "30",
                "--timeout",
                "120",
                "--log-level",
                "warning",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
            finally:
                conn.close()
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s")

    def pids(self) -> list[int]:
        """The master and its workers (for profilers)."""
        if self.process is None:
            return []
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        return [self.process.pid, *map(int, out)]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
