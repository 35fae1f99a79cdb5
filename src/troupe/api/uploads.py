"""Taking uploaded files into the blob store within the byte limit."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from starlette.datastructures import UploadFile

from troupe.errors import TroupeError
from troupe.store.blobs import BlobStore

CHUNK_BYTES = 1024 * 1024


def save_upload(
    upload: UploadFile, blobs: BlobStore, key: str, max_bytes: int, param: str = "video"
) -> str:
    """Copy the upload to `key`; an empty or oversized upload leaves nothing behind."""
    target = blobs.path(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    tmp = Path(tmp_name)
    try:
        size = _copy_limited(upload, fd, max_bytes, param)
        if size == 0:
            raise TroupeError("unsupported_media", f"the uploaded {param} is empty", param=param)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return blobs.publish(key)


def _copy_limited(upload: UploadFile, fd: int, max_bytes: int, param: str) -> int:
    size = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := upload.file.read(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise TroupeError(
                    "file_too_large",
                    f"the upload is over the limit of {max_bytes} bytes",
                    param=param,
                )
            out.write(chunk)
    return size
