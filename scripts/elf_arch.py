"""Fails unless BINARY is a 64-bit little-endian ELF executable for the Lambda ARCH.

python3 scripts/elf_arch.py BINARY ARCH     (ARCH: x86_64 or arm64)
"""

import struct
import sys

MACHINES = {"x86_64": 0x3E, "arm64": 0xB7}


def main(path: str, arch: str) -> None:
    with open(path, "rb") as f:
        head = f.read(20)
    machine = MACHINES[arch]
    assert head[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert head[4] == 2 and head[5] == 1, f"{path} is not a 64-bit little-endian ELF"
    e_type, e_machine = struct.unpack_from("<HH", head, 16)
    assert e_type in (2, 3), f"{path} is not an executable (e_type {e_type})"
    assert e_machine == machine, f"{path} is for machine {e_machine:#x}, not {arch} ({machine:#x})"
    print(f"{path}: ELF executable for {arch}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in MACHINES:
        sys.exit(__doc__)
    main(*sys.argv[1:])
