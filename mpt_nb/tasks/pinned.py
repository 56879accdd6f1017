"""The data supply for files from public GitHub repositories: each file pinned by repository, commit, path and sha256.

A task that reads such a file names it with a ``PinnedFile`` in a table beside the task. ``fetch_file`` returns its
path in the data cache (``data_dir()/github/<owner>/<repo>/<commit>/<path>``), bringing it on first use from

- a *mirror*: a local folder laid out as ``<owner>/<repo>/<commit>/<path>`` (``$MPT_NB_MIRROR``; by default the
  ``shared/data/github`` folder beside the checkout, where every developer machine and CI keeps one), else
- GitHub: the raw file at the pinned commit (needs the internet; what Colab uses).

A mirror replaces the URL's prefix and nothing else. Every file is checked against its sha256 before it is kept, and
written atomically, so the cache holds whole, verified files or nothing. The files are never committed to this
repository: each keeps its own licence, named with it.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_path

__all__ = [
    "FETCH_COMMAND",
    "FETCH_HINT",
    "MIRROR_ENV",
    "DataFileError",
    "PinnedFile",
    "cached_path",
    "data_dir",
    "fetch_file",
    "mirror_dir",
    "missing_files",
]

MIRROR_ENV = "MPT_NB_MIRROR"
FETCH_COMMAND = "python -m mpt_nb fetch-data [--mirror PATH]"  # the short form, for one-line notices
FETCH_HINT = (
    f"run {FETCH_COMMAND} where GitHub can be reached (Colab, a laptop online), or set {MIRROR_ENV} to a folder "
    "laid out as <owner>/<repo>/<commit>/<path> that holds the files"
)
_RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
# The checkout's sibling folder that mirrors the pinned files on developer machines and CI.
_DEFAULT_MIRROR = Path(__file__).resolve().parents[3] / "shared" / "data" / "github"
_TIMEOUT_S = 30


class DataFileError(RuntimeError):
    """A pinned file cannot be had, or what arrived is not the pinned file (the message is one line naming the fix)."""


@dataclass(frozen=True)
class PinnedFile:
    """One file of a public GitHub repository at a fixed commit, with its sha256, licence and citation."""

    repo: str  # "owner/name"
    commit: str  # 40 hex digits
    path: str  # inside the repository, "/"-separated
    sha256: str
    licence: str
    citation: str

    def __post_init__(self) -> None:
        if self.repo.count("/") != 1 or len(self.commit) != 40 or len(self.sha256) != 64:
            raise ValueError(f"a pinned file needs owner/name, a 40-digit commit and a sha256; got {self}")

    @property
    def relative(self) -> str:
        """``<owner>/<repo>/<commit>/<path>``: where the file sits in a mirror and in the cache."""
        return f"{self.repo}/{self.commit}/{self.path}"

    @property
    def url(self) -> str:
        """The raw file on GitHub at the pinned commit."""
        return _RAW_URL.format(repo=self.repo, commit=self.commit, path=self.path)


def data_dir() -> Path:
    """Where fetched data live: ``$MPT_NB_DATA``, else ``~/.cache/mpt_nb``."""
    return Path(os.environ.get("MPT_NB_DATA") or Path.home() / ".cache" / "mpt_nb")


def mirror_dir() -> Path | None:
    """The local mirror: ``$MPT_NB_MIRROR`` (set but empty: none), else ``shared/data/github`` beside the checkout
    when that folder exists, else None (files come from GitHub)."""
    configured = os.environ.get(MIRROR_ENV)
    if configured is not None:
        return Path(configured) if configured else None
    return _DEFAULT_MIRROR if _DEFAULT_MIRROR.is_dir() else None


def cached_path(file: PinnedFile) -> Path:
    """Where the verified copy of ``file`` is kept."""
    return data_dir() / "github" / file.relative


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_verified(path: Path, file: PinnedFile) -> bool:
    return path.is_file() and _sha256(path.read_bytes()) == file.sha256


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
        return response.read()


def fetch_file(
    file: PinnedFile, *, mirror: Path | str | None = "default", download: Callable[[str], bytes] = _download
) -> Path:
    """The path of the verified copy of ``file``, brought from the mirror or GitHub on first use.

    ``mirror``: a folder laid out as ``<owner>/<repo>/<commit>/<path>``, None for none, or "default"
    (``mirror_dir()``). ``download`` fetches a URL's bytes (replaced in tests).
    """
    dest = cached_path(file)
    if _is_verified(dest, file):
        return dest
    mirror = mirror_dir() if mirror == "default" else (Path(mirror) if mirror is not None else None)
    if mirror is not None and (mirror / file.relative).is_file():
        where = str(mirror / file.relative)
        data = (mirror / file.relative).read_bytes()
    else:
        where = file.url
        try:
            data = download(file.url)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            looked = f" nor in the mirror {mirror}" if mirror is not None else ""
            raise DataFileError(
                f"{file.relative} is not in the data cache{looked}, and GitHub cannot be reached ({reason}); "
                f"connect to the internet, or set {MIRROR_ENV} to a folder laid out as <owner>/<repo>/<commit>/<path> "
                "that holds it"
            ) from None
    got = _sha256(data)
    if got != file.sha256:
        raise DataFileError(
            f"{where} has sha256 {got}, not the pinned {file.sha256}: it is not the file the task was built from; "
            "replace it with the file at the pinned commit"
        )
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return dest


def missing_files(files: Iterable[PinnedFile], *, mirror: Path | str | None = "default") -> list[PinnedFile]:
    """The files among ``files`` that are neither cached nor in the mirror (they would need GitHub)."""
    mirror = mirror_dir() if mirror == "default" else (Path(mirror) if mirror is not None else None)
    return [
        f for f in files
        if not cached_path(f).is_file() and not (mirror is not None and (mirror / f.relative).is_file())
    ]
