"""Downloads with checksums, written atomically: a partial file never looks complete."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

from genzoo.data.errors import DatasetError


def md5sum(path: Path, chunk: int = 1 << 20, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def looks_like_html(path: Path) -> bool:
    """True when a 'download' is an HTML page (a quota or virus-scan page instead of the file)."""
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def check_file(path: Path, md5: str | None, hint: str) -> None:
    """Raise a DatasetError naming `path` if it is missing, an HTML page or fails its checksum
    (`md5`: an MD5 or SHA-256 hex digest, or None)."""
    if not path.is_file():
        raise DatasetError(f"missing dataset file {path}. {hint}")
    if looks_like_html(path):
        raise DatasetError(
            f"{path} is an HTML page, not the dataset file (the host refused the "
            f"download). Delete it and fetch the file by hand. {hint}"
        )
    # A 64-digit checksum is SHA-256 (as published for some archives), a 32-digit one MD5.
    algorithm = "sha256" if md5 is not None and len(md5) == 64 else "md5"
    if md5 is not None and (actual := md5sum(path, algorithm=algorithm)) != md5:
        raise DatasetError(
            f"{path} fails its checksum ({algorithm} {actual}, expected {md5}): the file is "
            f"corrupt or incomplete. Delete it and download again. {hint}"
        )


def download(urls: list[str], dest: Path, md5: str | None, hint: str = "") -> Path:
    """Fetch the first URL that works into `dest` and verify it; keep an existing verified file."""
    if dest.is_file():
        check_file(dest, md5, hint)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, out)
            check_file(tmp, md5, hint)
            tmp.replace(dest)  # atomic on one filesystem
            return dest
        except (OSError, DatasetError) as err:
            errors.append(f"{url}: {err}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DatasetError(
        f"could not download {dest.name} to {dest}:\n  "
        + "\n  ".join(errors)
        + (f"\n{hint}" if hint else "")
    )
