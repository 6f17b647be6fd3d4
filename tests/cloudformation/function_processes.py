"""Prints the PIDs of processes started by the local-process executor of the LocalStack whose
temporary directory (where function code is unpacked) is argv[1], one per line."""

import os
import sys

root = os.path.realpath(sys.argv[1])
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    except OSError:
        continue
    task_root = env.get(b"LAMBDA_TASK_ROOT", b"").decode()
    if b"AWS_LAMBDA_RUNTIME_API" in env and task_root.startswith(root + os.sep):
        print(pid)
