"""Client memory: a large file uploads through ``omnidex.client.Client`` in bounded memory.

Starts ``omnidex serve`` in its own process, then uploads a generated file (1 GB by default)
from a second process and prints that process's peak memory (RSS) next to its memory before
the upload. Target: peak under 200 MB.

Run: ``python -m benchmarks.client_upload --help``.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

MB = 1024 * 1024


def upload(url: str, path: Path) -> None:
    """The client's process: upload ``path``, print RSS before and the peak after, in MB."""
    from omnidex.client import Client

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with Client(url, timeout=600) as client:
        [doc] = client.upload([path])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{before:.0f} {peak:.0f} {seconds:.1f} {doc.id}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--mb", type=int, default=1024, help="size of the generated file in MB (default 1024)"
    )
    parser.add_argument("--upload", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upload:
        upload(args.upload[0], Path(args.upload[1]))
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "big.bin"
        with big.open("wb") as out:
            block = os.urandom(MB)  # incompressible, and not a sparse file
            for _ in range(args.mb):
                out.write(block)
        env = dict(os.environ, OMNIDEX_DATA_DIR=str(Path(folder) / "data"), OMNIDEX_WORKERS="0",
                   OMNIDEX_VISUAL_SEARCH="false", OMNIDEX_LOG_LEVEL="WARNING")  # fmt: skip
        server = subprocess.Popen(
            [sys.executable, "-m", "omnidex.cli", "serve", "--port", str(port)], env=env
        )
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            command = [sys.executable, "-m", "benchmarks.client_upload", "--upload", url, str(big)]
            before, peak, seconds, _ = subprocess.run(
                command, check=True, capture_output=True, text=True
            ).stdout.split()
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"uploaded {args.mb} MB in {float(seconds):.1f} s through omnidex.client.Client")
    print(f"client process memory: {before} MB before the upload, peak {peak} MB (target < 200 MB)")


if __name__ == "__main__":
    main()
