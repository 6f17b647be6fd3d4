"""Zips a Lambda bootstrap so that the same binary always gives the same bytes.

    python3 scripts/release_zip.py BOOTSTRAP ZIP

`cargo lambda build --output-format zip` stamps the entry with the build time, so two builds of
one commit give two zips. Here the one entry has a fixed time (1980-01-01, the earliest a zip
can hold), a fixed mode (0755, which Lambda needs to execute it) and a fixed compression level.
"""

import os
import sys
import zipfile


def main(bootstrap: str, out: str) -> None:
    entry = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    entry.create_system = 3  # Unix, so that the mode below is read
    entry.external_attr = 0o100755 << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    with open(bootstrap, "rb") as f:
        binary = f.read()
    partial = out + ".partial"
    with zipfile.ZipFile(partial, "w") as archive:
        archive.writestr(entry, binary, compresslevel=9)
    os.replace(partial, out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
