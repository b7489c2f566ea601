"""Files the grader writes and reads where a submission or another user could have planted
something: never followed through a link, written atomically."""
import os
import stat

def write_atomic(path, data):
    """Write data (str, as UTF-8, or bytes) to path, atomically and never through a link
    someone planted: a new file under a random name in path's folder, created with
    O_CREAT|O_EXCL|O_NOFOLLOW (so nothing that exists is opened) and mode 0644, written,
    synced, then renamed onto path (which replaces a symlink there rather than follow it).
    On any error the temporary file is removed and the error raised."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder, base = os.path.split(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    tmp = os.path.join(folder, ".%s.%s.tmp" % (base[:100], os.urandom(8).hex()))
    fd = os.open(tmp, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # the rename itself survives a crash once the folder is synced too
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def read_own_file(path):
    """The text of path (bytes that are not UTF-8 kept as surrogates, to write back as they
    were), or None when it is missing or not a regular file of its own (a symlink, a FIFO)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return f.read().decode("utf-8", errors="surrogateescape")
