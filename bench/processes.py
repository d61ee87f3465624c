"""The servers under test as child processes: started, awaited until they
serve, measured (resident memory), and stopped; their output goes to a log
file whose end is shown when something fails."""

import asyncio
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_START_SECONDS = 600.0  # scim2-server builds 100,000 users before it serves
_STOP_SECONDS = 15.0
_LOG_TAIL_LINES = 20
LOAD_GENERATOR = "load generator"


@dataclass
class Process:
    """A started server: its process, its log, and what it said when ready."""

    name: str
    process: asyncio.subprocess.Process
    log: Path
    announced: dict[str, Any] = field(default_factory=dict)

    def rss_mb(self) -> float:
        """Resident memory now (VmRSS, Linux), in MiB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time so far (Linux /proc/PID/stat)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without ROSTER_* settings, plus `extra`:
    the servers run with their defaults unless a benchmark says otherwise."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_")}
    return kept | (extra or {})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# Waits until the process serves; the default reads a {"ready": ...} line.
Ready = Callable[[Process], Awaitable[None]]


@asynccontextmanager
async def started(
    name: str,
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    ready: Ready | None = None,
) -> AsyncIterator[Process]:
    """Run `command` until the block ends (SIGTERM, then kill)."""
    log = Path(tempfile.mkstemp(prefix=f"roster-bench-{name}-", suffix=".log")[1])
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE if ready is None else output,
            stderr=output,
            env=env if env is not None else environment(),
        )
    handle = Process(name, process, log)
    try:
        await asyncio.wait_for((ready or _announced)(handle), _START_SECONDS)
        yield handle
    except BaseException:
        tail = log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        print(f"the log of {name} ends:", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        await _stop(process)
        log.unlink(missing_ok=True)


async def _announced(handle: Process) -> None:
    assert handle.process.stdout is not None
    line = await handle.process.stdout.readline()
    if not line:
        raise RuntimeError(f"{handle.name} exited with {await handle.process.wait()}")
    handle.announced = json.loads(line)


async def wait_for_port(handle: Process, port: int) -> None:
    """Until something accepts connections on 127.0.0.1:`port`."""
    while True:
        if handle.process.returncode is not None:
            raise RuntimeError(f"{handle.name} exited with {handle.process.returncode}")
        with suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.1)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), _STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()


class CpuMeter:
    """CPU seconds the processes spent between `start` and `stop`, and the
    wall time: their share of the machine while a row ran."""

    def __init__(self, processes: Sequence[Process]) -> None:
        self._processes = processes
        self._started: list[float] = []
        self._own = 0.0
        self._wall = 0.0

    def start(self) -> None:
        self._started = [p.cpu_seconds() for p in self._processes]
        self._own = time.process_time()
        self._wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        """Each process's CPU use while running, in cores (1.0: one core
        busy), and the load generator's (this process)."""
        wall = time.perf_counter() - self._wall
        used = {
            p.name: (p.cpu_seconds() - before) / wall
            for p, before in zip(self._processes, self._started, strict=True)
        }
        return used | {LOAD_GENERATOR: (time.process_time() - self._own) / wall}
