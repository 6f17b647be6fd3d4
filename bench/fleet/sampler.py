"""The function processes of one LocalStack, and LocalStack itself, sampled from /proc while a
fleet runs."""

import os
import threading

from rig.function_processes import function_processes


class Sampler(threading.Thread):
    """Samples /proc for the function processes of this LocalStack (the executor's code dirs are
    under its temporary directory) and for LocalStack itself: count, RSS, CPU time."""

    def __init__(self, tmp: str, localstack_pid: int | None, interval: float = 0.25):
        super().__init__(daemon=True)
        self.tmp = tmp
        self.localstack_pid = localstack_pid
        self.interval = interval
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.max_alive = 0
            self.max_rss_sum = 0  # kB, the most the function processes held at one moment
            self.hwm: dict[int, int] = {}  # pid -> VmHWM kB
            self.cpu: dict[int, float] = {}  # pid -> CPU seconds, last seen

    def functions(self) -> list[int]:
        return function_processes(self.tmp)

    @staticmethod
    def status(pid: int) -> dict:
        values = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        values[key] = int(rest.split()[0])
        except OSError:
            pass
        return values

    @staticmethod
    def cpu_seconds(pid: int) -> float | None:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime, stime of the process and of its waited-for children
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def localstack(self) -> dict:
        if not self.localstack_pid:
            return {}
        return {"cpu": self.cpu_seconds(self.localstack_pid), **self.status(self.localstack_pid)}

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            pids = self.functions()
            total = 0
            with self.lock:
                for pid in pids:
                    st = self.status(pid)
                    total += st.get("VmRSS", 0)
                    self.hwm[pid] = max(self.hwm.get(pid, 0), st.get("VmHWM", 0))
                    cpu = self.cpu_seconds(pid)
                    if cpu is not None:
                        self.cpu[pid] = cpu
                self.max_alive = max(self.max_alive, len(pids))
                self.max_rss_sum = max(self.max_rss_sum, total)
