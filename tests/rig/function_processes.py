"""Prints the PIDs of processes started by the local-process executor of the LocalStack whose
temporary directory (where function code is unpacked) is argv[1], one per line."""

import os
import sys


def function_processes(tmp: str) -> list[int]:
    """The PIDs of the executor's function processes whose code is under tmp."""
    root = os.path.realpath(tmp)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        except OSError:
            continue
        task_root = env.get(b"LAMBDA_TASK_ROOT", b"").decode()
        if b"AWS_LAMBDA_RUNTIME_API" in env and task_root.startswith(root + os.sep):
            found.append(int(pid))
    return found


if __name__ == "__main__":
    for pid in function_processes(sys.argv[1]):
        print(pid)
