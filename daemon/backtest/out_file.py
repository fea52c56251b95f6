"""Write an output file (the `--report` page) whole or not at all, and check beforehand that it
can be written, so a bad path fails before a run of years, not after it.

The text goes to a new file beside the target, which is then renamed over it: a full disk or a
killed process leaves the old file (or none), never half a page. The new file is created with
the usual permissions (0666 less the umask, as `open` gives), and a replaced file keeps its own
mode. A path that exists and is not a regular file (/dev/stdout, a pipe) cannot be replaced: it
is written in place, and only its reader sees the text; so is a writable file in a folder
where no new file may be made (there is no way to write it whole there)."""

from __future__ import annotations

__all__ = ["check_writable", "write_whole"]

import errno
import os
import secrets
import stat
from pathlib import Path

_TRIES = 16


def check_writable(path: Path) -> None:
    """Raise `OSError` unless `write_whole(path, ...)` could write: create the file it would
    write first, beside the target, and remove it again (no stray file is left)."""
    target = _target(path)
    if target.exists() and not target.is_file():
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))
        return
    if _in_place(target):
        return
    handle, temporary = _create_beside(target)
    os.close(handle)
    temporary.unlink()


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all; raise `OSError` (and leave no new file)."""
    target = _target(path)
    if (target.exists() and not target.is_file()) or _in_place(target):
        with target.open("w", encoding="utf-8") as stream:
            stream.write(text)
        return
    handle, temporary = _create_beside(target)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            # On disk before the rename, so a crash cannot leave the new name with no content.
            os.fsync(stream.fileno())
        if target.is_file():
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _in_place(target: Path) -> bool:
    """Tell whether `target` can only be written in place: a file the user may write in a
    folder where no new file may be made (a report page shared in a read-only folder)."""
    return (
        target.is_file()
        and os.access(target, os.W_OK)
        and not os.access(target.parent, os.W_OK | os.X_OK)
    )


def _target(path: Path) -> Path:
    """The file `path` names: through a symbolic link, as opening it would write."""
    return Path(os.path.realpath(path))


def _create_beside(target: Path) -> tuple[int, Path]:
    """Create a new, hidden file in the target's folder; return its descriptor and path."""
    for _ in range(_TRIES):
        # Short enough for any file system's name limit, whatever the target's name.
        temporary = target.with_name(f".{target.name[:64]}.{secrets.token_hex(4)}.tmp")
        try:
            # 0o666: the kernel applies the umask, as it does for any new file.
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target.parent))
