"""Files the server reads for a user: a local path under an allowed folder, or a URL (fsspec).

An upload is capped at ``max_upload_bytes`` because the browser sends all of it; a file already on
the server, or in a bucket it can read, needs no such cap, so big tables are given by path or URL.
Both are off unless the operator turns them on, because a shared dashboard that opens any path
reads the server's own files, and one that fetches any URL is a server-side request forgery hole
(it can reach the cloud's metadata service and the private network behind the firewall):

- ``EXPLORER_DATA_DIR``: the one folder (and what is below it) whose files may be named. Paths are
  resolved, following links and ``..``, before they are checked: one that leaves the folder is refused.
- ``EXPLORER_URL_SCHEMES``: the URL schemes that may be fetched, e.g. "s3,gs,https". ``file://`` and
  chained URLs (``a::b``) are always refused; http(s) hosts that resolve to a loopback, private,
  link-local or otherwise non-public address are refused, and redirects are not followed.

:func:`open_source` returns a :class:`~explorer.data.files.ServerFile` that :func:`explorer.data.load`
reads like an upload, except that ``max_upload_bytes`` does not apply (``max_decoded_bytes``, ``max_rows`` and
``max_load_seconds`` do) and that tables are streamed from it in batches, with progress.
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from explorer.data.files import ReadProgress, ServerFile, open_regular_file
from explorer.errors import InputError
from explorer.limits import Limits

ENV_DATA_DIR = "EXPLORER_DATA_DIR"
ENV_URL_SCHEMES = "EXPLORER_URL_SCHEMES"
NEVER_SCHEMES = frozenset({"file", "local"})  # the server's own disk: only through EXPLORER_DATA_DIR
HTTP_SCHEMES = frozenset({"http", "https"})
MAX_SPEC_CHARS = 2_000


@dataclass(frozen=True)
class SourcePolicy:
    """What :func:`open_source` may open. The defaults allow nothing (see the module's docstring).

    ``data_dir``: local paths are allowed under this folder only. ``url_schemes``: the URL schemes
    allowed (lower case, without "://"). ``any_path`` / ``any_url``: no folder rule / every scheme
    fsspec knows but file:// (for the CLI, run by the owner of the machine; never for the dashboard).
    """

    data_dir: Path | None = None
    url_schemes: frozenset[str] = frozenset()
    any_path: bool = False
    any_url: bool = False

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> SourcePolicy:
        """The policy ``EXPLORER_DATA_DIR`` and ``EXPLORER_URL_SCHEMES`` set (unset or empty: off).
        A data folder that does not exist, or a scheme that is never allowed, raises InputError."""
        environ = os.environ if environ is None else environ
        folder = (environ.get(ENV_DATA_DIR) or "").strip()
        data_dir = None
        if folder:
            data_dir = Path(os.path.realpath(os.path.expanduser(folder)))
            if not data_dir.is_dir():
                raise InputError(
                    f"{ENV_DATA_DIR}={folder!r} is not a folder; set it to the folder whose files "
                    "may be loaded, or unset it."
                )
        listed = (environ.get(ENV_URL_SCHEMES) or "").split(",")
        schemes = frozenset(s.strip().lower().removesuffix("://") for s in listed if s.strip())
        refused = sorted(schemes & NEVER_SCHEMES)
        if refused:
            raise InputError(
                f"{ENV_URL_SCHEMES} lists {', '.join(refused)}, which reads the server's own disk; "
                f"remove it and set {ENV_DATA_DIR} to the folder that may be read instead."
            )
        return cls(data_dir=data_dir, url_schemes=schemes)

    @classmethod
    def unrestricted(cls) -> SourcePolicy:
        """Any local path and any URL scheme but file:// (the command line, run by the machine's owner)."""
        return cls(any_path=True, any_url=True)

    @property
    def allows_paths(self) -> bool:
        return self.any_path or self.data_dir is not None

    @property
    def allows_urls(self) -> bool:
        return self.any_url or bool(self.url_schemes)

    @property
    def enabled(self) -> bool:
        """True when anything at all may be opened."""
        return self.allows_paths or self.allows_urls

    def describe(self) -> str:
        """One sentence on what may be opened, for the dashboard's help text."""
        parts = []
        if self.allows_paths:
            parts.append(
                "any path on the server"
                if self.any_path
                else "paths of files in the server's data folder (relative to it)"
            )
        if self.allows_urls:
            parts.append(
                "URLs of any scheme"
                if self.any_url
                else "URLs starting " + ", ".join(f"{s}://" for s in sorted(self.url_schemes))
            )
        return "You can give " + " or ".join(parts) + "." if parts else "Nothing on the server can be opened."


IPV6_HOST_RE = re.compile(r"\[[0-9A-Fa-f:.%]*\]")  # "[::1]": its colons are no chain


def is_url(spec: str) -> bool:
    """True when ``spec`` names a URL ("s3://bucket/key", "memory://x") rather than a local path."""
    return "://" in spec or _chained(spec)


def _chained(spec: str) -> bool:
    """fsspec's chained URLs ("simplecache::s3://...") join several file systems with "::"."""
    return "::" in IPV6_HOST_RE.sub("", spec)


def open_source(
    spec: str,
    limits: Limits | None = None,
    on_progress: ReadProgress | None = None,
    *,
    policy: SourcePolicy | None = None,
) -> ServerFile | Path:
    """Open what ``spec`` names for :func:`explorer.data.load`: a :class:`ServerFile`, or the
    resolved :class:`Path` of a folder of images under the data folder.

    ``spec`` is a local path (relative ones are taken inside the data folder) or a URL whose scheme
    ``policy`` allows (default: :meth:`SourcePolicy.from_env`). Anything not allowed raises
    :class:`InputError` saying why and what the operator can change.
    """
    limits = limits or Limits()
    policy = policy if policy is not None else SourcePolicy.from_env()
    spec = (spec or "").strip()
    if not spec:
        raise InputError("give a path or a URL to read.")
    if len(spec) > MAX_SPEC_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in spec):
        raise InputError(
            f"that path or URL is not usable (over {MAX_SPEC_CHARS:,} characters, or it holds control "
            "characters); check what was pasted."
        )
    if is_url(spec):
        return _open_url(spec, limits, on_progress, policy)
    return _open_path(spec, limits, on_progress, policy)


# ------------------------------------------------------------------------------------------- paths
def _open_path(spec: str, limits: Limits, on_progress: ReadProgress | None, policy: SourcePolicy) -> ServerFile | Path:
    if not policy.allows_paths:
        raise InputError(
            f"reading files on the server is off here; an operator can allow one folder with "
            f"{ENV_DATA_DIR}=/path/to/folder (see docs/SECURITY.md)."
        )
    given = Path(os.path.expanduser(spec)) if policy.any_path else Path(spec)
    root = None if policy.any_path or policy.data_dir is None else Path(os.path.realpath(policy.data_dir))
    if root is not None and not given.is_absolute():
        given = root / given
    real = Path(os.path.realpath(given))  # every link and ".." resolved
    if root is not None and not real.is_relative_to(root):
        raise InputError(
            f"{spec}: is outside the server's data folder once its links and '..' are followed; "
            "give a path inside that folder."
        )
    if real.is_dir():
        if root is not None:
            _refuse_links_out(real, root, spec)
        return real
    try:
        raw = open_regular_file(real)
    except InputError as e:  # named as the user wrote it: the server's own folders are not shown
        raise InputError(str(e).replace(str(real), spec)) from None
    return ServerFile(raw, real.name, spec, os.fstat(raw.fileno()).st_size, limits, on_progress)


def _refuse_links_out(folder: Path, root: Path, spec: str) -> None:
    """A folder of images is read file by file: refuse it when a link inside it leads out of ``root``."""
    for here, dirs, files in os.walk(folder):  # links to folders are not followed (nor by the image loader)
        for entry in dirs + files:
            path = Path(here) / entry
            if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(root):
                shown = posixpath.join(spec.rstrip("/"), path.relative_to(folder).as_posix())
                raise InputError(
                    f"{shown}: is a link that leads outside the server's data folder; remove it, or "
                    "give a folder without such links."
                )


# -------------------------------------------------------------------------------------------- URLs
def _open_url(spec: str, limits: Limits, on_progress: ReadProgress | None, policy: SourcePolicy) -> ServerFile:
    if _chained(spec):
        raise InputError(f"{spec}: chained URLs (with '::') are not read; give one plain URL.")
    scheme = spec.split("://", 1)[0].lower()
    if scheme in NEVER_SCHEMES:
        instead = "its path" if policy.any_path else "a path under the data folder"
        raise InputError(f"{spec}: {scheme}:// URLs are never read; give {instead} instead.")
    if not policy.allows_urls:
        raise InputError(
            f"reading URLs is off here; an operator can allow some schemes with "
            f"{ENV_URL_SCHEMES}=s3,gs,https (see docs/SECURITY.md)."
        )
    if not policy.any_url and scheme not in policy.url_schemes:
        allowed = ", ".join(f"{s}://" for s in sorted(policy.url_schemes))
        raise InputError(
            f"{spec}: {scheme}:// URLs are not allowed here (allowed: {allowed}); an operator can "
            f"change {ENV_URL_SCHEMES}."
        )
    options: dict[str, object] = {}
    if scheme in HTTP_SCHEMES and not policy.any_url:  # the dashboard; the CLI's user may fetch their own hosts
        _refuse_private_host(spec)
        options["allow_redirects"] = False  # a public address must not send us on to a private one
    try:
        import fsspec
    except ImportError:
        raise InputError("reading URLs needs the fsspec package: pip install fsspec.") from None
    try:
        fsspec.get_filesystem_class(scheme)
    except ValueError:
        raise InputError(f"{spec}: the URL scheme {scheme}:// is not known to fsspec.") from None
    except ImportError as e:
        raise InputError(f"{spec}: reading {scheme}:// URLs needs a package that is not installed ({e}).") from None
    try:
        fs, path = fsspec.core.url_to_fs(spec, **options)
        info = fs.info(path)
        if info.get("type") == "directory":
            raise InputError(f"{spec}: is a folder; give the URL of one file.")
        size = info.get("size")
        raw = fs.open(path, "rb")
    except InputError:
        raise
    except FileNotFoundError:
        raise InputError(f"{spec}: no such file; check the URL.") from None
    except PermissionError:
        raise InputError(f"{spec}: access denied; check the URL and the server's credentials.") from None
    except ImportError as e:
        raise InputError(f"{spec}: reading {scheme}:// URLs needs a package that is not installed ({e}).") from None
    except Exception as e:  # noqa: BLE001 - every backend raises its own errors
        raise InputError(f"{spec}: can't be opened ({type(e).__name__}: {e}).") from None
    name = posixpath.basename(urlsplit(spec).path.rstrip("/")) or posixpath.basename(str(path))
    return ServerFile(raw, name, spec, int(size) if size is not None else None, limits, on_progress)


def _refuse_private_host(spec: str) -> None:
    """Refuse a URL whose host is, or resolves to, an address that is not public (loopback, private,
    link-local such as the cloud metadata service at 169.254.169.254, reserved, multicast)."""
    host = urlsplit(spec).hostname
    if not host:
        raise InputError(f"{spec}: the URL has no host.")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        raise InputError(f"{spec}: the host {host} can't be resolved; check the URL.") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise InputError(
                f"{spec}: the host {host} is a local or private address ({address}); only public hosts can be fetched."
            )
