"""Take in one lab of a submission and compile it, treating every byte of it as hostile.

The student's folder is never compiled in place: its regular .c and .h files are copied (opened
without following links, checked again after opening) into a folder of the grader's, and the
compiler runs on that copy inside the sandbox (msglab-run, as the same unprivileged user as the
programs, no call record), seeing only the system's /usr, the copy at /lab, and an empty /out
for the binary. File names reach the compiler as /lab/NAME, so none can be read as an option;
stdin is /dev/null; time, memory and output are capped. The binary is then copied out into a
file of the grader's, again without following links.
"""
import os
import re
import stat
import subprocess

SOURCE_SUFFIXES = (".c", ".h")
MAX_SOURCES = 64                 # .c and .h files in one lab folder
MAX_SOURCE_BYTES = 1 << 20       # one source file
MAX_TOTAL_BYTES = 4 << 20        # all of them
MAX_BINARY_BYTES = 64 << 20
COMPILE_TIMEOUT_MS = 60000       # one compiler run (the program's whole process tree)
COMPILE_CPU_S = 60
COMPILE_MEMORY_MIB = 2048        # address space of each compiler process, and of them all
COMPILE_OUTPUT_BYTES = 256 << 10  # compiler messages kept
COMPILE_PROCESSES = 16


class Refused(Exception):
    """The lab folder cannot be graded as it is; the message says why, for the student."""


def shown_name(name):
    """A file name as text that cannot disturb a report (names are the student's)."""
    return name.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace") \
        .encode("unicode_escape").decode("ascii").replace("\\\\x", "\\x")


def copy_sources(lab_dir, dest):
    """Copy the lab's regular .c and .h files into dest (a new folder of ours). Returns the
    names copied; raises Refused with a message for the student."""
    try:
        st = os.lstat(lab_dir)
    except FileNotFoundError:
        raise Refused("missing")
    if stat.S_ISLNK(st.st_mode):
        raise Refused("%s is a symbolic link: submit the folder itself" % os.path.basename(lab_dir))
    if not stat.S_ISDIR(st.st_mode):
        raise Refused("%s is not a folder" % os.path.basename(lab_dir))
    names = []
    with os.scandir(lab_dir) as entries:
        for entry in entries:
            if entry.name.endswith(SOURCE_SUFFIXES):
                names.append(entry.name)
                if len(names) > MAX_SOURCES:
                    raise Refused("more than %d .c and .h files: a lab needs a few"
                                  % MAX_SOURCES)
    names.sort()
    total = 0
    for name in names:
        shown = shown_name(name)
        if not name.isprintable() or name.startswith(".") or len(name) > 100:
            raise Refused("%s: rename it (letters, digits, '-', '_' and '.' only)" % shown)
        try:
            fd = os.open(os.path.join(lab_dir, name),
                         os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if os.path.islink(os.path.join(lab_dir, name)):
                raise Refused("%s is a symbolic link: submit the file itself" % shown)
            raise Refused("%s cannot be read: %s" % (shown, e.strerror))
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Refused("%s is not a regular file" % shown)
            if st.st_size > MAX_SOURCE_BYTES:
                raise Refused("%s is %d bytes; a source file may have at most %d"
                              % (shown, st.st_size, MAX_SOURCE_BYTES))
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(MAX_SOURCE_BYTES + 1)
        finally:
            os.close(fd)
        if len(data) > MAX_SOURCE_BYTES:
            raise Refused("%s grew past %d bytes while read" % (shown, MAX_SOURCE_BYTES))
        total += len(data)
        if total > MAX_TOTAL_BYTES:
            raise Refused("the sources hold more than %d bytes in all" % MAX_TOTAL_BYTES)
        out = os.open(os.path.join(dest, name),
                      os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(out, "wb") as f:
            f.write(data)
    return names


def copy_binary(src, dest):
    """Copy the built program out of the compiler's folder: a regular file only, never a link."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BINARY_BYTES:
            raise Refused("the compiler's output is not a program")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_BINARY_BYTES + 1)
    finally:
        os.close(fd)
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                  0o755)
    with os.fdopen(out, "wb") as f:
        f.write(data)
    os.chmod(dest, 0o755)


def compiler():
    """cc as a path under /usr: the sandbox has no /etc/alternatives to follow links through."""
    path = os.path.realpath("/usr/bin/cc")
    if not path.startswith("/usr/"):
        raise Refused("the C compiler is at %s, outside /usr, where the sandbox cannot see it"
                      % path)
    return path


def sandbox_compile(run, src_dir, out_dir, report, program, sources, cflags):
    """Compile sources (names in src_dir) into out_dir/program inside the sandbox; the
    sandbox's report goes to report (a path of ours, out of the compiler's reach).
    Returns (ok, compiler messages as text, with the sandbox's paths taken out)."""
    where = ["-b", "%s=/lab" % src_dir, "-w", "%s=/out" % out_dir]
    files = ["/lab/" + name for name in sources]
    output = "/out/" + program
    cmd = [run, "-U", "-t", str(COMPILE_TIMEOUT_MS), "-c", str(COMPILE_CPU_S),
           "-m", str(COMPILE_MEMORY_MIB), "-M", str(COMPILE_MEMORY_MIB),
           "-o", str(COMPILE_OUTPUT_BYTES),
           "-p", str(COMPILE_PROCESSES), "-r", report] + where + \
        ["--", compiler()] + cflags + ["-o", output] + files
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)
    text = (proc.stdout + proc.stderr).decode("utf-8", "backslashreplace")
    # /lab/ inside the sandbox; its private copy in the fallback mode.
    text = re.sub(r"(/tmp/msglab-run-[^/\s]+)?/lab/", "", text)
    try:
        with open(report, errors="replace") as f:
            outcome = dict(line.split(" ", 1) for line in f.read().splitlines() if " " in line)
        os.unlink(report)
    except OSError:
        outcome = {}
    if "sandbox_error" in outcome:
        return False, "the sandbox failed: " + outcome["sandbox_error"]
    if outcome.get("outcome") == "timeout":
        return False, text + "\nthe compiler took more than %d s" % (COMPILE_TIMEOUT_MS // 1000)
    if outcome.get("outcome") == "signaled":
        return False, text + "\nthe compiler was killed (signal %s): too much memory or time?" \
            % outcome.get("signal", "?").strip()
    return proc.returncode == 0 and outcome.get("exit_code", "1").strip() == "0", text
