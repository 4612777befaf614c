"""Benchmark: object storage (S3 over HTTP) against a local folder, as ratios from one run.

Starts moto's S3 server on a free loopback port (the same server the tests use) and measures,
for a folder and for the bucket:

1. upload throughput: ``--upload-mib`` MiB streamed through a storage writer in 1 MiB chunks,
   as the API does with a request body (multipart above 8 MiB, SHA-256 on the way), in MiB/s,
   and S3 ÷ folder;
2. worker cold start: the first load of every GT image (``local_path`` then PNG decode) of a
   ``--images``-image set, from the folder, from the bucket with an empty cache (download and
   verify) and again with the warm cache (a HEAD per key), each ÷ the folder's time.

    .venv/bin/python bench/storage.py [--upload-mib 64] [--images 20]

moto keeps objects in memory in a Python process on the same cores, so absolute S3 numbers
understate a real MinIO or S3; the ratios bound what the cache saves. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.storage import Storage, put_file
from app.storage.cache import ObjectCache
from app.storage.local import LocalStorage
from app.storage.s3 import S3Storage, configure_bucket
from gir_core.demo import write_demo_images
from gir_core.images import read_png_u8

CHUNK = bytes(1 << 20)


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """moto's server on a free port, with test credentials in this process's environment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    binary = Path(sys.executable).parent / "moto_server"
    server = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)  # fmt: skip
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def upload_seconds(storage: Storage, mib: int) -> float:
    """Seconds to stream ``mib`` MiB into one key and commit it."""
    start = time.perf_counter()
    writer = storage.writer("bench/upload.bin")
    for _ in range(mib):
        writer.write(CHUNK)
    writer.commit()
    return time.perf_counter() - start


def first_load_seconds(storage: Storage, keys: list[str]) -> float:
    """Seconds to get every key as a local file and decode it (a worker's first image pass)."""
    start = time.perf_counter()
    for key in keys:
        read_png_u8(storage.local_path(key))
    return time.perf_counter() - start


def main() -> None:
    """Print both comparisons."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upload-mib", type=int, default=64)
    parser.add_argument("--images", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gir-bench-") as tmp, moto_endpoint():
        root = Path(tmp)
        local = LocalStorage(root / "folder")
        bucket = S3Storage("bench", "gir/", ObjectCache(root / "cache", 10 << 30))
        configure_bucket(bucket)
        photos = write_demo_images(root / "photos", max_side=512)
        keys = [f"images/gt/{n}.png" for n in range(options.images)]
        for key, n in zip(keys, range(options.images), strict=True):
            for storage in (local, bucket):
                put_file(storage, key, photos[n % len(photos)])

        mib = options.upload_mib
        on_disk, on_s3 = upload_seconds(local, mib), upload_seconds(bucket, mib)
        print(f"upload {mib} MiB: folder {mib / on_disk:.0f} MiB/s, S3 {mib / on_s3:.0f} MiB/s, "
              f"S3/folder throughput ratio {on_disk / on_s3:.2f}")  # fmt: skip

        base = first_load_seconds(local, keys)
        cold = first_load_seconds(bucket, keys)
        warm = first_load_seconds(bucket, keys)
        print(f"first load of {len(keys)} images: folder {base * 1000:.0f} ms, "
              f"S3 cold cache {cold * 1000:.0f} ms ({cold / base:.1f}× the folder), "
              f"S3 warm cache {warm * 1000:.0f} ms ({warm / base:.1f}× the folder)")  # fmt: skip


if __name__ == "__main__":
    main()
