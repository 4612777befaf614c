"""Storage in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2…) for many machines.

Credentials, region and endpoint come the way boto3 reads them (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``, profiles, instance
roles): nothing of ours holds or logs them.

Guarantees, as for a folder: a key holds its complete bytes or nothing. Small writes are one
``PutObject``; a write that outgrows one part becomes a multipart upload streamed part by part
(never spooled to disk), aborted on any failure; the lifecycle rule set by
:func:`configure_bucket` removes uploads a dead process could not abort. Every object records
its SHA-256 (metadata ``sha256``, computed on the way): the worker's
:class:`~app.storage.cache.ObjectCache` verifies downloads against it. A multipart object gets
it by a server-side copy onto itself right after completing, since the hash is only known at
the end; an object without it is refused by readers.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from app.storage.base import CHUNK, KeyMissing, StorageError, StorageUnavailable, check_key
from app.storage.cache import ObjectCache

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, ObjectIdentifierTypeDef

PART_BYTES = 8 << 20
"""Multipart part size (S3's minimum is 5 MiB for all parts but the last)."""
SHA256_META = "sha256"
INCOMPLETE_UPLOAD_DAYS = 1
_MISSING = {"404", "NoSuchKey", "NotFound"}
_TRANSIENT = {"500", "502", "503", "504", "InternalError", "ServiceUnavailable", "SlowDown"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix/")`` (prefix may be empty).

    Raises:
        StorageError: no bucket name.
    """
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise StorageError(f"storage URL {url!r} names no bucket: use s3://bucket/prefix")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def make_client() -> S3Client:
    """A client configured the boto3 way; path-style addressing for a custom endpoint (MinIO
    and most S3-compatible servers have no per-bucket DNS names)."""
    custom = bool(os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"))
    config = Config(
        s3={"addressing_style": "path" if custom else "auto"},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=60,
    )
    client: S3Client = boto3.session.Session().client("s3", config=config)
    return client


@contextmanager
def s3_errors(what: str) -> Iterator[None]:
    """Turn boto errors into ours: unreachable → StorageUnavailable (retry later), a missing
    key → KeyMissing, anything else refused → StorageError with S3's code."""
    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", "?"))
        if code in _MISSING:
            raise KeyMissing(f"{what}: not in storage") from None
        if code in _TRANSIENT:
            raise StorageUnavailable(f"object storage is unavailable ({what}): {code}") from None
        raise StorageError(f"object storage refused {what}: {code}") from None
    except NoCredentialsError:
        raise StorageError(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a profile)"
        ) from None
    except (BotoConnectionError, HTTPClientError) as error:
        kind = type(error).__name__
        raise StorageUnavailable(f"object storage is unreachable ({what}): {kind}") from None
    except BotoCoreError as error:
        raise StorageError(f"object storage failed ({what}): {type(error).__name__}") from None


class _S3Writer:
    """Buffers up to one part; the first full part starts a multipart upload.

    Parts go up from a helper thread, one at a time, while the next part fills: the caller (the
    API's event loop, feeding request chunks) waits only when S3 is slower than the client.
    """

    def __init__(self, client: S3Client, bucket: str, name: str) -> None:
        self._s3, self._bucket, self._name = client, bucket, name
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._upload_id = ""
        self._completed = False
        self._parts: list[CompletedPartTypeDef] = []
        self._sender: ThreadPoolExecutor | None = None
        self._in_flight: Future[None] | None = None
        self.size = 0
        self.sha256 = ""

    def write(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)
        self._buffer.extend(chunk)
        while len(self._buffer) >= PART_BYTES:
            part = bytes(self._buffer[:PART_BYTES])
            del self._buffer[:PART_BYTES]
            self._wait()  # the previous part is up (or its error is raised here)
            if self._sender is None:
                self._start()
                self._sender = ThreadPoolExecutor(1, thread_name_prefix="s3-part")
            self._in_flight = self._sender.submit(self._send, part, len(self._parts) + 1)

    def _start(self) -> None:
        with s3_errors(f"uploading {self._name}"):
            started = self._s3.create_multipart_upload(Bucket=self._bucket, Key=self._name)
        self._upload_id = started["UploadId"]

    def _send(self, data: bytes, number: int) -> None:
        with s3_errors(f"uploading {self._name}"):
            sent = self._s3.upload_part(
                Bucket=self._bucket, Key=self._name, UploadId=self._upload_id,
                PartNumber=number, Body=data,
            )  # fmt: skip
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})

    def _wait(self) -> None:
        pending, self._in_flight = self._in_flight, None
        if pending is not None:
            pending.result()

    def commit(self) -> None:
        digest = self._hash.hexdigest()
        meta = {SHA256_META: digest}
        if not self._upload_id:
            with s3_errors(f"storing {self._name}"):
                self._s3.put_object(
                    Bucket=self._bucket, Key=self._name, Body=bytes(self._buffer), Metadata=meta
                )
        else:
            self._wait()
            if self._buffer:
                self._send(bytes(self._buffer), len(self._parts) + 1)
            with s3_errors(f"storing {self._name}"):
                self._s3.complete_multipart_upload(
                    Bucket=self._bucket, Key=self._name, UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )  # fmt: skip
                self._completed = True
                self._s3.copy_object(
                    Bucket=self._bucket, Key=self._name, Metadata=meta,
                    CopySource={"Bucket": self._bucket, "Key": self._name},
                    MetadataDirective="REPLACE",
                )  # fmt: skip
            self._close()
        self._buffer, self._upload_id, self._completed = bytearray(), "", False
        self.sha256 = digest

    def abort(self) -> None:
        """Drop the buffer and the parts; an object completed without its hash is deleted."""
        self._buffer = bytearray()
        with suppress(Exception):  # its error was raised (or is moot): only the parts matter
            self._wait()
        self._close()
        with s3_errors(f"aborting the upload of {self._name}"):
            if self._completed:
                self._s3.delete_object(Bucket=self._bucket, Key=self._name)
            elif self._upload_id:
                self._s3.abort_multipart_upload(
                    Bucket=self._bucket, Key=self._name, UploadId=self._upload_id
                )
        self._upload_id, self._completed = "", False

    def _close(self) -> None:
        if self._sender is not None:
            self._sender.shutdown(wait=True)
            self._sender = None


class S3Storage:
    """Keys are object names under ``prefix`` in ``bucket``; reads for the worker go through
    ``cache``."""

    remote = True

    def __init__(
        self, bucket: str, prefix: str, cache: ObjectCache, client: S3Client | None = None
    ) -> None:
        self.bucket, self.prefix, self.cache = bucket, prefix, cache
        self.client = client or make_client()

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def describe(self) -> str:
        """Bucket, prefix and endpoint (no credentials)."""
        return f"s3://{self.bucket}/{self.prefix} at {self.client.meta.endpoint_url}"

    def writer(self, key: str) -> _S3Writer:
        """Start writing ``key`` (nothing is visible before commit)."""
        return _S3Writer(self.client, self.bucket, self._name(key))

    def stored_sha256(self, key: str) -> str:
        """The SHA-256 recorded with the object at write time."""
        with s3_errors(f"reading {key}"):
            head = self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        digest = head.get("Metadata", {}).get(SHA256_META, "")
        if len(digest) != 64:
            raise StorageError(f"{key} has no recorded SHA-256: write it again (storage migrate)")
        return digest

    def local_path(self, key: str) -> Path:
        """The verified copy in the local cache, downloaded first if the cache lacks it."""
        digest = self.stored_sha256(key)
        return self.cache.get(digest, lambda sink: self._download(key, sink))

    def fetch(self, key: str, target: Path) -> None:
        """Download ``key`` to ``target`` (atomically, verified against its SHA-256)."""
        digest = self.stored_sha256(key)
        self.cache.place(target, lambda sink: self._download(key, sink), digest)

    def _download(self, key: str, sink: Any) -> None:
        for chunk in self.iter_bytes(key):
            sink.write(chunk)

    def read_bytes(self, key: str) -> bytes:
        """The object's bytes, straight from the bucket (not cached)."""
        return b"".join(self.iter_bytes(key))

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """The object in chunks; the request is made before the first chunk is asked for, so
        a missing key raises here, not halfway through a response."""
        with s3_errors(f"reading {key}"):
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        return self._chunks(key, body)

    @staticmethod
    def _chunks(key: str, body: Any) -> Iterator[bytes]:
        with s3_errors(f"reading {key}"):
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        try:
            with s3_errors(f"looking up {key}"):
                self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except KeyMissing:
            return False
        return True

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Object names under ``prefix``, relative to the storage prefix."""
        pages = self.client.get_paginator("list_objects_v2")
        with s3_errors(f"listing {prefix or 'the bucket'}"):
            for page in pages.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield item["Key"].removeprefix(self.prefix)

    def delete(self, key: str) -> None:
        """Remove the object and every object below ``key/`` (a folder of examples)."""
        names = [self._name(key), *(self.prefix + k for k in self.keys(f"{check_key(key)}/"))]
        with s3_errors(f"deleting {key}"):
            for start in range(0, len(names), 1000):
                batch: list[ObjectIdentifierTypeDef] = [
                    {"Key": name} for name in names[start : start + 1000]
                ]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    def synthesis_dir(self) -> Path:
        """This machine's copy of the synthesis cache, inside the object cache's folder (so it
        counts towards ``GIR_CACHE_MAX_GB``)."""
        return self.cache.root / "synthesis"

    def check(self) -> None:
        """Write, read back and remove a probe object."""
        probe = f".ready-{os.uname().nodename}-{os.getpid()}"
        with s3_errors(f"checking s3://{self.bucket}/{self.prefix}"):
            self.client.put_object(Bucket=self.bucket, Key=self.prefix + probe, Body=b"ok")
            self.client.delete_object(Bucket=self.bucket, Key=self.prefix + probe)

    def incomplete_uploads(self) -> list[str]:
        """Object names with a multipart upload started and neither completed nor aborted."""
        with s3_errors("listing multipart uploads"):
            found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
        return [item["Key"] for item in found.get("Uploads", [])]

    def has_lifecycle_rule(self) -> bool:
        """Whether the bucket aborts incomplete multipart uploads by itself."""
        try:
            with s3_errors("reading the lifecycle rules"):
                rules = self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket)
        except StorageError:  # none configured (S3 answers NoSuchLifecycleConfiguration)
            return False
        return any("AbortIncompleteMultipartUpload" in rule for rule in rules.get("Rules", []))


def configure_bucket(storage: S3Storage) -> bool:
    """Create the bucket if missing and set the rule that aborts multipart uploads left
    incomplete for :data:`INCOMPLETE_UPLOAD_DAYS` (a crashed API process cannot abort its
    own); whether the bucket was created. The bucket is never made public."""
    client, bucket = storage.client, storage.bucket
    created = False
    with s3_errors(f"creating bucket {bucket}"):
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError:
            region = client.meta.region_name
            options: dict[str, Any] = {}
            if region and region != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": region}
            client.create_bucket(Bucket=bucket, **options)
            created = True
        rule = {
            "ID": "gir-abort-incomplete-uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": storage.prefix},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS},
        }
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": [rule]},  # type: ignore[list-item]
        )
    return created
