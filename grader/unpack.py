"""Unpack a student's .zip or .tar.gz into a new folder of the grader's, treating every byte of
it as hostile.

Only regular files and folders are made; a member whose path is absolute, holds "..", or names
a link, a device or a FIFO is refused with the whole archive (an honest submission has none).
Files are created under a folder descriptor with O_EXCL and O_NOFOLLOW, level by level, so that
nothing is ever written outside the destination or through a link. Limits: members, bytes in
all, bytes per file (compressed size and ratio do not matter: bytes are counted as written).
The student's files then go through submission.py like any folder."""
import os
import stat
import tarfile
import zipfile

MAX_MEMBERS = 2000
MAX_TOTAL_BYTES = 64 << 20
MAX_FILE_BYTES = 16 << 20
CHUNK = 1 << 16


class Refused(Exception):
    """The archive cannot be unpacked as it is; the message says why, for the student."""


def archive_kind(name):
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    return None


def student_of(name):
    """The student's name from the entry's: an archive's without its extension."""
    lower = name.lower()
    for ext in (".tar.gz", ".tgz", ".zip"):
        if lower.endswith(ext):
            return name[:-len(ext)]
    return name


def _parts(name):
    """The path's components, or Refused for anything that could leave the destination."""
    if "\0" in name or name.startswith("/") or "\\" in name:
        raise Refused("%r: an absolute or Windows path" % name)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise Refused("%r: a path with .." % name)
    if any(len(p.encode("utf-8", "surrogateescape")) > 255 for p in parts):
        raise Refused("%r: a name too long" % name)
    return parts


class _Writer:
    """Makes folders and files under dest, by descriptor, never through a link."""

    def __init__(self, dest):
        os.mkdir(dest, 0o755)
        self.root = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        self.total = 0
        self.members = 0

    def close(self):
        os.close(self.root)

    def _folder(self, parts):
        fd = os.dup(self.root)
        try:
            for p in parts:
                try:
                    os.mkdir(p, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                nxt = os.open(p, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = nxt
        except OSError as e:
            os.close(fd)
            raise Refused("cannot make folder %s: %s" % ("/".join(parts), e.strerror))
        return fd

    def count(self):
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise Refused("more than %d files and folders" % MAX_MEMBERS)

    def folder(self, name):
        self.count()
        parts = _parts(name)
        if parts:
            os.close(self._folder(parts))

    def file(self, name, source):
        self.count()
        parts = _parts(name)
        if not parts:
            raise Refused("a file with no name")
        fd = self._folder(parts[:-1])
        try:
            out = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                          0o644, dir_fd=fd)
        except OSError as e:
            raise Refused("%s: %s" % (name, e.strerror))
        finally:
            os.close(fd)
        with os.fdopen(out, "wb") as f:
            size = 0
            while True:
                chunk = source.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                self.total += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise Refused("%s: more than %d MiB" % (name, MAX_FILE_BYTES >> 20))
                if self.total > MAX_TOTAL_BYTES:
                    raise Refused("more than %d MiB unpacked" % (MAX_TOTAL_BYTES >> 20))
                f.write(chunk)


def _unzip(path, writer):
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)  # 0 from tools that record no file type
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise Refused("%r: a link or special file" % info.filename)
            if info.is_dir():
                writer.folder(info.filename)
            else:
                with z.open(info) as src:
                    writer.file(info.filename, src)


def _untar(path, writer):
    with tarfile.open(path, "r:gz") as t:
        for member in t:  # streamed: never t.extract(), which would follow the archive
            if member.isdir():
                writer.folder(member.name)
            elif member.isreg():
                src = t.extractfile(member)
                writer.file(member.name, src)
            else:
                raise Refused("%r: a link or special file" % member.name)


def unpack(path, dest):
    """Unpack the archive at path into dest (which must not exist). Raises Refused."""
    kind = archive_kind(path)
    if kind is None:
        raise Refused("not a .zip or .tar.gz")
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise Refused("not a regular file")
    writer = _Writer(dest)
    try:
        (_unzip if kind == "zip" else _untar)(path, writer)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, UnicodeError) as e:
        raise Refused("a damaged %s archive (%s)" % (kind, e))
    finally:
        writer.close()


def single_folder(dest, labs):
    """Where the labs are in an unpacked archive: a zip of one folder that holds the labs (the
    student zipped their labs/ folder or their clone) is that folder."""
    entries = [e for e in os.listdir(dest) if not e.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and os.path.isdir(os.path.join(dest, entries[0])) and \
            not os.path.islink(os.path.join(dest, entries[0])):
        inner = os.path.join(dest, entries[0])
        if any(os.path.isdir(os.path.join(inner, name)) for name in list(labs) + ["labs"]):
            return inner
    return dest
