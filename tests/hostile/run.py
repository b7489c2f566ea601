#!/usr/bin/env python3
"""A battery of hostile submissions, graded by the real grader (grader/grade.py), each against
the expectation written in its attacks/NAME/expect.json. See tests/hostile/README.md.

    tests/hostile/run.py [--user] [--only NAME]... [--jobs N] [--repo DIR] [--keep] [-v]

Needs root: the battery runs the grader (as root, or with --user as uid 65534) inside PID, IPC
and mount namespaces of its own, with private /tmp, /var/tmp and /dev/shm (directories of the
battery's, bound over them), so that what the attacks do, and what other work on the machine
does, never mix: every file, queue and process the checks find is the battery's. The grader sees
an ordinary machine; the network, $HOME and the repo are the real ones.

Around the whole battery it checks: decoy files (in /tmp, /var/tmp, /dev/shm, $HOME, a root-only
folder, a secret next to the repo) unchanged; nothing new in /tmp, /var/tmp, /dev/shm; a decoy
message queue still holding its message and no other queue; no process left; a TCP listener on
127.0.0.1 (at a random port) that saw no connection; an honest "victim" graded alongside attack
10 keeps full marks. For each attack it checks what is listed in README.md ("What is checked").

Prints one line per attack and per battery-wide check ("ok NAME" or "FAIL NAME: why"), then
"N passed, M failed"; exits 0 only if everything passed. Whatever happens, it removes what it
made (its namespace and every process in it, decoys, queue, listener, work folder).
"""
import argparse
import concurrent.futures
import csv
import glob
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ATTACKS = os.path.join(HERE, "attacks")
REPO = os.path.dirname(os.path.dirname(HERE))
LAB = "01-two-children"
SANDBOX_UID = 4000000  # msglab-run's programs run as this uid and above (tests/run.py)
NOBODY = 65534
DEFAULT_TIME_LIMIT_S = 240  # per grading: the tests' timeouts grow with the battery's own load
KILL_GRACE_S = 3
BATTERY = "/tmp/hostile-battery"  # inside the battery's namespace
# In the container mode (--wrap), what the per-submission container itself covers (README):
# the network, other students, the IPC namespace's other queues.
CONTAINER_COVERS = {"10-read-victim", "17-network", "22-msgmni"}
# Where checkouts of this repository may be found on a machine (attack 09 looks there too).
OTHER_CHECKOUTS = ["/work/main", "/root/msglab", "/srv/msglab", "/opt/msglab"]
REPORT_LIMIT = 4 << 20  # a report bigger than this is a finding
SCAN_LIMIT = 256 << 20  # bytes of one output file searched for forbidden strings
ROOT_TELLTALE = "HOSTILE-RAN-AS-ROOT"  # printed by attacks that find themselves root

# PID 1 of the battery's PID namespace: reaps orphans, so that none shows as a zombie.
REAPER = r"""
import os, sys, time
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
    except InterruptedError:
        pass
"""

# Run inside the battery's IPC namespace: make the decoy queue, or list the queues.
QUEUE_TOOL = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if sys.argv[1] == "make":
    key, text = int(sys.argv[2]), sys.argv[3].encode()
    q = libc.msgget(key, 0o1000 | 0o2000 | 0o666)  # IPC_CREAT | IPC_EXCL
    if q < 0:
        sys.exit("msgget: errno %d" % ctypes.get_errno())
    class Msg(ctypes.Structure):
        _fields_ = [("mtype", ctypes.c_long), ("mtext", ctypes.c_char * len(text))]
    if libc.msgsnd(q, ctypes.byref(Msg(7, text)), len(text), 0) != 0:
        sys.exit("msgsnd: errno %d" % ctypes.get_errno())
else:
    sys.stdout.write(open("/proc/sysvipc/msg").read())
"""


class Problem(Exception):
    pass


def log(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def read_bytes(path, limit=SCAN_LIMIT):
    with open(path, "rb") as f:
        return f.read(limit)


def walk_files(top):
    """Every file under top (real path), not following links; links are reported too."""
    for base, dirs, files in os.walk(top):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            yield os.path.join(base, name)


def describe_cmdline(pid):
    """A process's command line, shortened, or what became of it."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            words = f.read().split(b"\0")
    except OSError as e:
        return "(%s)" % e.strerror
    text = " ".join(w.decode(errors="replace") for w in words if w)
    return text if len(text) <= 160 else text[:100] + " ... " + text[-50:]


def json_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_strings(v)


def last_lines(text, n=3, width=300):
    """The last n non-empty lines of text, joined, at most width characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = "; ".join(lines[-n:])
    return joined if len(joined) <= width else joined[:width] + "..."


class Listener:
    """A TCP listener on 127.0.0.1 at a random port that nobody is told about."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(100):
            port = 20000 + secrets.randbelow(40000)
            try:
                self.sock.bind(("127.0.0.1", port))
                break
            except OSError:
                continue
        else:
            raise Problem("no free port for the listener")
        self.port = port
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.connections = []  # (peer, first bytes sent)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped.is_set():
            try:
                conn, peer = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            data = b""
            try:
                conn.settimeout(1)
                data = conn.recv(4096)
            except OSError:
                pass
            finally:
                conn.close()
            self.connections.append((peer, data))

    def hex(self):
        """How /proc/net/tcp shows it."""
        return "0100007F:%04X" % self.port

    def close(self):
        self.stopped.set()
        self.sock.close()
        self.thread.join(2)


class Battery:
    def __init__(self, args):
        self.args = args
        self.token = secrets.token_hex(6)
        self.work = None  # the real folder holding everything of ours
        self.view = {}  # inside path -> real folder bound there
        self.holder = None
        self.ns_pid = None  # host pid of the namespace's PID 1
        self.ns_id = None
        self.listener = None
        self.decoys = []  # dicts: real path, kind, content or entries, mode, uid, gid
        self.outside = []  # real paths outside self.work that we made
        self.queue_key = None
        self.queue_text = None
        self.forbidden = []  # (what, string) for every attack
        self.repo = REPO  # the grader's repo as the grader sees it
        self.results = []  # (name, problems)
        self.lock = threading.Lock()
        self.interrupted = False

    # ---- paths ----

    def real(self, path):
        for inside, real in self.view.items():
            if path == inside or path.startswith(inside + "/"):
                return real + path[len(inside):]
        return path

    def shown(self, path):
        """A real path as the grader sees it (inside the battery's namespace)."""
        for inside, real in self.view.items():
            if path == real or path.startswith(real + "/"):
                return inside + path[len(real):]
        return path

    # ---- set-up ----

    def setup(self):
        self.work = tempfile_dir()
        for inside, name in (("/tmp", "tmp"), ("/var/tmp", "var_tmp"), ("/dev/shm", "dev_shm")):
            real = os.path.join(self.work, name)
            os.mkdir(real)
            os.chmod(real, 0o1777)
            self.view[inside] = real
        self.start_namespace()
        os.makedirs(self.real(BATTERY))
        os.chmod(self.real(BATTERY), 0o755)
        source = os.path.abspath(self.args.repo or REPO)
        if self.args.user or self.args.wrap or self.real(source) != source:
            # uid 65534 needs a copy of its own; a repo in /tmp is hidden by the private /tmp;
            # a container (--wrap) holds one copy of the grader, the one grading.
            self.repo = self.copy_repo(source, NOBODY if self.args.user else None)
        else:
            self.repo = source
        if self.args.wrap:
            self.hide_other_copies(source)
        self.check_build()
        self.wrap = None
        if self.args.wrap:
            # Where the namespace can see it (its /tmp is private).
            self.wrap = BATTERY + "/wrap"
            shutil.copy(os.path.abspath(self.args.wrap), self.real(self.wrap))
            os.chmod(self.real(self.wrap), 0o755)
        self.make_decoys()
        self.make_queue()
        self.listener = Listener()
        self.victim_marker = "VICTIM-MARKER-%s" % secrets.token_hex(8)
        self.forbidden += [("a decoy's content", d["content"]) for d in self.decoys
                           if d.get("content")]
        self.forbidden += [("the victim's marker", self.victim_marker),
                           ("the program ran as root", ROOT_TELLTALE)]

    def start_namespace(self):
        # /tmp last: binding it first would hide the other two folders (they are in /tmp).
        script = ('mount --bind "$2" /var/tmp && mount --bind "$3" /dev/shm && '
                  'mount --bind "$1" /tmp && exec "$4" -c "$5"')
        cmd = ["unshare", "--pid", "--fork", "--mount-proc", "--mount", "--ipc",
               "--propagation", "private", "--", "sh", "-c", script, "sh",
               self.view["/tmp"], self.view["/var/tmp"], self.view["/dev/shm"],
               sys.executable, REAPER]
        self.holder = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        line = self.holder.stdout.readline()
        if line.strip() != b"ready":
            raise Problem("cannot make the battery's namespaces (unshare, mount): %s"
                          % self.holder.stderr.read().decode(errors="replace").strip())
        children = open("/proc/%d/task/%d/children" % (self.holder.pid, self.holder.pid)).read()
        self.ns_pid = int(children.split()[0])
        self.ns_id = os.readlink("/proc/%d/ns/pid" % self.ns_pid)

    def enter(self, cmd, wd="/"):
        # (nsenter's own --wd would look the folder up outside the namespace)
        return ["nsenter", "-t", str(self.ns_pid), "-p", "-m", "-i", "--", "env", "-C", wd,
                "--"] + cmd

    def hide_other_copies(self, source):
        """In a container the grader is the only copy of itself; here other checkouts (ours,
        a developer's) would be readable by anyone: cover them with empty folders."""
        for path in [source, REPO] + OTHER_CHECKOUTS:
            if os.path.isdir(path) and self.real(path) == path:
                p = subprocess.run(self.enter(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700",
                                               "tmpfs", path]), capture_output=True, text=True)
                if p.returncode:
                    raise Problem("cannot hide %s in the battery's namespace: %s"
                                  % (path, p.stderr.strip()))

    def copy_repo(self, source, owner):
        """What grade.py needs, in the battery's folder (owned by owner, if given): grader/,
        solutions/, labs/ and the built grader (build/ without asan/ and calibration/)."""
        inside = BATTERY + "/user/repo"
        real = self.real(inside)
        os.makedirs(real)
        for name in ("grader", "solutions", "labs"):
            shutil.copytree(os.path.join(source, name), os.path.join(real, name), symlinks=True)
        shutil.copytree(os.path.join(source, "build"), os.path.join(real, "build"), symlinks=True,
                        ignore=lambda d, names: [n for n in names if d == os.path.join(
                            source, "build") and n in ("asan", "calibration")])
        os.makedirs(self.real(BATTERY + "/user/home"))
        if owner is not None:
            chown_tree(self.real(BATTERY + "/user"), owner)
            os.chown(self.real(BATTERY + "/user"), 0, 0)  # the secret's folder stays root's
        return inside

    def check_build(self):
        real = self.real(self.repo)
        needed = ["build/bin/msglab-run", "build/grader/%s/tests" % LAB, "grader/grade.py"]
        missing = [n for n in needed if not os.path.exists(os.path.join(real, n))]
        if missing:
            raise Problem("the grader in %s is not built (missing %s): run make tools"
                          % (self.args.repo or REPO, ", ".join(missing)))

    def decoy(self, inside, kind, mode, directory=False):
        real = self.real(inside)
        if directory:
            os.mkdir(real)
            os.chmod(real, mode)
            entry = {"path": real, "shown": inside, "kind": kind, "dir": True}
        else:
            content = "hostile decoy %s %s-%s\n" % (kind, self.token, secrets.token_hex(6))
            fd = os.open(real, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            os.write(fd, content.encode())
            os.close(fd)
            os.chmod(real, mode)
            entry = {"path": real, "shown": inside, "kind": kind, "dir": False,
                     "content": content.strip()}
        if real == inside:  # outside the view: ours to remove
            self.outside.append(real)
        self.decoys.append(entry)
        return entry

    def make_decoys(self):
        self.decoy("/tmp/hostile-decoy", "folder in /tmp", 0o755, directory=True)
        self.decoy("/tmp/hostile-decoy/a.txt", "file in /tmp", 0o644)
        if not self.args.wrap:
            # In a container (--wrap), what is writable by all is the container's own: one
            # submission per container covers it (README, container mode).
            self.decoy("/tmp/hostile-decoy/shared.txt", "world-writable file in /tmp", 0o666)
        self.decoy("/tmp/hostile-decoy.txt", "file in /tmp", 0o644)
        self.decoy("/var/tmp/hostile-decoy.txt", "file in /var/tmp", 0o644)
        self.decoy("/dev/shm/hostile-decoy", "file in /dev/shm", 0o644)
        self.decoy("/tmp/hostile-rootonly", "root-only folder", 0o700, directory=True)
        self.rootonly = self.decoy("/tmp/hostile-rootonly/secret.txt", "root-only file", 0o600)
        home = os.path.expanduser("~")
        self.decoy(os.path.join(home, "hostile-decoy-%s.txt" % self.token), "file in $HOME",
                   0o644)
        beside = os.path.dirname(self.repo)
        name = "hostile-secret-%s.txt" % self.token
        self.secret = self.decoy(os.path.join(beside, name), "secret next to the repo", 0o600)
        for d in self.decoys:
            st = os.lstat(d["path"])
            d.update(mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid)
            if d["dir"]:
                d["entries"] = sorted(os.listdir(d["path"]))
        self.view_before = {inside: set(os.listdir(real)) for inside, real in self.view.items()}

    def make_queue(self):
        self.queue_key = 0x484F5300 | secrets.randbelow(256)  # "HOS" and a random byte
        self.queue_text = "hostile decoy message %s" % self.token
        p = subprocess.run(self.enter([sys.executable, "-c", QUEUE_TOOL, "make",
                                       str(self.queue_key), self.queue_text]),
                           capture_output=True, text=True)
        if p.returncode:
            raise Problem("cannot make the decoy queue: %s" % p.stderr.strip())

    def queues(self):
        p = subprocess.run(self.enter([sys.executable, "-c", QUEUE_TOOL, "list"]),
                           capture_output=True, text=True)
        found = []
        for line in p.stdout.splitlines()[1:]:
            f = line.split()
            if len(f) >= 10:
                found.append({"key": int(f[0]), "id": int(f[1]), "cbytes": int(f[3]),
                              "qnum": int(f[4]), "cuid": int(f[9])})
        return found

    # ---- processes of the battery's namespace ----

    def ns_processes(self):
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            pid = int(pid)
            if pid == self.ns_pid:
                continue
            try:
                if os.readlink("/proc/%d/ns/pid" % pid) != self.ns_id:
                    continue
                with open("/proc/%d/status" % pid) as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                with open("/proc/%d/environ" % pid, "rb") as f:
                    environ = f.read()
            except (OSError, ValueError):
                continue
            found.append({"pid": pid, "uid": int(fields["Uid"].split()[1]),
                          "comm": fields["Name"].strip(), "state": fields["State"].split()[0],
                          "ppid": int(fields["PPid"]), "environ": environ})
        return found

    def tagged(self, tag):
        needle = b"HOSTILE_RUN=" + tag.encode() + b"\0"
        return [p for p in self.ns_processes() if needle in p["environ"] + b"\0"]

    def kill_tagged(self, tag):
        for p in self.tagged(tag):
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except OSError:
                pass

    # ---- templates ----

    def expand(self, text, job):
        values = {"repo": self.repo, "build": self.repo + "/build", "sub": job["sub"],
                  "aw": job["aw"]}
        if getattr(self, "rootonly", None):
            values.update(rootonly=self.rootonly["shown"], secret=self.secret["shown"])
        if self.listener:
            values["listener_hex"] = self.listener.hex()
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)

    def max_points(self, expect, rubric):
        value = expect.get("max_points", 0)
        if isinstance(value, int):
            return value
        points = {t["name"]: t["points"] for t in rubric["tests"]}
        total = 0
        for sign, word in re.findall(r"([+-]?)\s*(\w+)", value):
            n = sum(points.values()) if word == "full" else int(word) if word.isdigit() \
                else points[word]
            total += -n if sign == "-" else n
        return total

    # ---- one grading ----

    def prepare(self, name, source_dir, expect, folder_name="student"):
        aw = "%s/%s" % (BATTERY, name)
        job = {"name": name, "aw": aw, "sub": "%s/submissions/%s" % (aw, folder_name),
               "out": aw + "/out", "expect": expect, "tag": "%s/%s" % (self.token, name)}
        real_sub = self.real(job["sub"])
        os.makedirs(os.path.dirname(real_sub))
        if source_dir:
            shutil.copytree(source_dir, real_sub, symlinks=True,
                            ignore=lambda d, names: ["expect.json"] if d == source_dir else [])
        else:
            os.makedirs(real_sub)
        for old, new in expect.get("rename", {}).items():  # names the repo must not hold
            os.rename(os.path.join(real_sub, old), os.path.join(real_sub, new))
        for rel, needles in expect.get("substitute", {}).items():
            path = os.path.join(real_sub, rel)
            with open(path) as f:
                text = f.read()
            for needle in needles:
                text = text.replace(needle, self.repo if needle == "@REPO@" else needle)
            with open(path, "w") as f:
                f.write(text)
        for lab in expect.get("other_labs", []):
            shutil.copytree(os.path.join(self.real(self.repo), "solutions", lab),
                            os.path.join(real_sub, lab))
        for item in expect.get("create", []):
            self.create(job, item)
        os.makedirs(self.real(job["out"]))
        if self.args.user:
            chown_tree(self.real(aw), NOBODY)
        return job

    def create(self, job, item):
        where = next(k for k in ("symlink", "sparse", "files") if k in item)
        inside = self.expand(item[where], job)
        if not inside.startswith("/"):
            inside = job["sub"] + "/" + inside
        real = self.real(inside)
        if not os.path.realpath(os.path.dirname(real)).startswith(self.real(job["aw"])):
            raise Problem("expect.json creates %s, outside the attack's folder" % inside)
        os.makedirs(os.path.dirname(real), exist_ok=True)
        if where == "symlink":
            os.symlink(self.expand(item["to"], job), real)
        elif where == "sparse":
            with open(real, "wb") as f:
                f.write(item.get("head", "").encode())
                f.truncate(int(item["size"]))
        else:
            text = item.get("text", "")
            for n in range(int(item["count"])):
                with open(real.replace("{n}", "%05d" % n), "w") as f:
                    f.write(text.replace("{n}", "%05d" % n))

    def grade(self, job, all_labs=False):
        """Run grade.py on the job's submission; returns the outcome dict."""
        out = job["out"]
        cmd = [sys.executable, self.repo + "/grader/grade.py", "--submission", job["sub"],
               "--results-dir", out + "/results", "--summary-json", out + "/summary.json",
               "--results-json", out + "/results.json", "--csv", out + "/grades.csv"]
        if not all_labs:
            cmd += ["--lab", LAB[:2]]
            if job["expect"].get("tests"):  # an attack on the machine, not on the points
                cmd += ["--test", ",".join(job["expect"]["tests"])]
        if self.wrap:
            cmd = [self.wrap] + cmd
        if self.args.user:
            cmd = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
                   "--"] + cmd
        env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
               "HOME": BATTERY + "/user/home" if self.args.user else os.path.expanduser("~"),
               "LANG": "C.UTF-8", "HOSTILE_RUN": job["tag"]}
        if os.environ.get("MSGLAB_MEMORY_PASS"):  # run.py: only the root battery runs it
            env["MSGLAB_MEMORY_PASS"] = os.environ["MSGLAB_MEMORY_PASS"]
        limit = job["expect"].get("time_limit_s", DEFAULT_TIME_LIMIT_S)
        real_out = self.real(out)
        with open(os.path.join(real_out, "stdout"), "wb") as so, \
                open(os.path.join(real_out, "stderr"), "wb") as se:
            start = time.monotonic()
            proc = subprocess.Popen(self.enter(cmd, wd=self.repo), stdout=so, stderr=se,
                                    stdin=subprocess.DEVNULL, env=env)
            killed = False
            try:
                proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                killed = True
                for p in self.tagged(job["tag"]):
                    if p["comm"].startswith("python"):
                        os.kill(p["pid"], signal.SIGINT)
                try:
                    proc.wait(timeout=KILL_GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
                self.kill_tagged(job["tag"])
                proc.wait()
            elapsed = time.monotonic() - start
        # Whatever the run left: give exiting processes a moment, then note and kill them.
        left = []
        for _ in range(10):
            left = [p for p in self.tagged(job["tag"]) if p["state"] != "Z"]
            if not left:
                break
            time.sleep(0.1)
        for p in left:  # who it is, for the report: a leftover must explain itself
            p["cmdline"] = describe_cmdline(p["pid"])
            p["parent"] = describe_cmdline(p["ppid"])
        self.kill_tagged(job["tag"])
        return {"status": proc.returncode, "elapsed": elapsed, "killed": killed, "limit": limit,
                "left": left}

    # ---- checks of one grading ----

    def load(self, path, what, problems):
        try:
            with open(self.real(path)) as f:
                return json.load(f)
        except FileNotFoundError:
            problems.append("no %s" % what)
        except (OSError, ValueError) as e:
            problems.append("%s is not valid JSON (%s)" % (what, e))
        return None

    def check(self, job, outcome):
        expect = job["expect"]
        out = self.real(job["out"])
        problems = []
        rubric = load_json(os.path.join(self.real(self.repo), "grader", LAB, "rubric.json"))
        names = [t["name"] for t in rubric["tests"]
                 if t["name"] in expect.get("tests", [t["name"]])]
        stdout = read_bytes(os.path.join(out, "stdout"))
        stderr = read_bytes(os.path.join(out, "stderr"))
        if outcome["killed"]:
            problems.append("grading did not finish in %d s (killed)" % outcome["limit"])
        elif outcome["elapsed"] > outcome["limit"]:
            problems.append("grading took %.1f s > %d s" % (outcome["elapsed"], outcome["limit"]))
        if outcome["status"] not in (0, 1) and not outcome["killed"]:
            problems.append("grader exit status %s: %s" % (
                outcome["status"], last_lines(stderr.decode(errors="replace"), 1)))
        if b"Traceback (most recent call last)" in stderr and not outcome["killed"]:
            problems.append("a Python traceback: %s"
                            % last_lines(stderr.decode(errors="replace"), 1, 200))
        summary = self.load(job["out"] + "/summary.json", "summary JSON", problems)
        results = self.load(job["out"] + "/results.json", "results.json", problems)
        total = possible = None
        if isinstance(summary, list):
            labs = {r.get("lab"): r for r in summary if isinstance(r, dict)}
            lab = labs.get(LAB)
            if lab is None:
                problems.append("lab %s missing from the summary" % LAB)
            else:
                tests = {t["name"]: t for t in lab.get("tests", [])}
                missing = [n for n in names if n not in tests]
                if missing:
                    problems.append("summary lacks tests %s" % ", ".join(missing))
                score = sum(t["score"] for t in tests.values())
                limit = self.max_points(expect, rubric)
                if score > limit:
                    passed = [n for n in names if n in tests and tests[n]["status"] == "PASS"]
                    problems.append("lab 01 scored %d > %d (passed: %s)"
                                    % (score, limit, " ".join(passed)))
                errors = [n for n, t in tests.items() if t["status"] == "ERROR" or any(
                    "grader error" in m for m in t.get("messages", []))]
                if errors:
                    problems.append("grader errors in %s: %s" % (", ".join(errors), "; ".join(
                        tests[errors[0]].get("messages", []))[:300]))
                for n in expect.get("must_fail", []):
                    if n in tests and tests[n]["status"] == "PASS":
                        problems.append("%s passed (it must fail)" % n)
                refused = bool(lab.get("build_error"))
                want = expect.get("lab_outcome")
                if want == "build refused" and not refused:
                    problems.append("the build was not refused")
            for other in expect.get("other_labs", []):
                r = labs.get(other)
                if r is None:
                    problems.append("lab %s was not graded" % other)
                elif r.get("build_error") or any(t["status"] not in ("PASS", "SKIP")
                                                 for t in r["tests"]):
                    problems.append("lab %s (reference solution) lost points: %s" % (
                        other, (r.get("build_error") or "; ".join(
                            "%s %s" % (t["name"], t["status"]) for t in r["tests"]
                            if t["status"] not in ("PASS", "SKIP")))[:300]))
            total = sum(t["score"] for r in summary for t in r.get("tests", []))
            possible = sum(t["points"] for r in summary for t in r.get("tests", []))
        if isinstance(results, dict) and total is not None and results.get("score") != total:
            problems.append("results.json says %s points, the summary %s"
                            % (results.get("score"), total))
        self.check_report(stdout + stderr, total, possible, problems)
        if results is not None and any("\x1b" in s for s in json_strings(results)):
            problems.append("results.json holds an ESC character")
        self.check_csv(job, total, problems)
        self.check_forbidden(job, [os.path.join(out, n) for n in
                                   ("stdout", "stderr", "summary.json", "results.json",
                                    "grades.csv")], problems)
        found = sorted({self.shown(f) for pattern in expect.get("must_not_exist", [])
                        for f in glob.glob(self.real(self.expand(pattern, job)), recursive=True)})
        if found:
            problems.append("left behind: %s%s" % (", ".join(found[:6]),
                                                   " (%d in all)" % len(found) if len(found) > 6
                                                   else ""))
        for rule in expect.get("must_not_contain", []):
            bad = []
            for path in glob.glob(self.real(self.expand(rule["glob"], job)), recursive=True):
                try:
                    if rule["text"].encode() in read_bytes(path):
                        bad.append(self.shown(path))
                except OSError:
                    pass
            if bad:
                problems.append("%d file(s) hold %r: %s" % (len(bad), rule["text"],
                                                           ", ".join(sorted(bad)[:3])))
        if outcome["left"]:
            problems.append("processes left after grading: %s" % ", ".join(
                "%d (%s, uid %d, state %s: %s; its parent %d: %s)" % (
                    p["pid"], p["comm"], p["uid"], p["state"], p.get("cmdline", "?"),
                    p["ppid"], p.get("parent", "?")) for p in outcome["left"][:5]))
        for peer, data in list(self.listener.connections):
            if ("hostile:%s" % job["name"]).encode() in data:
                problems.append("reached the battery's listener on 127.0.0.1:%d"
                                % self.listener.port)
                break
        return problems

    def check_report(self, data, total, possible, problems):
        if len(data) > REPORT_LIMIT:
            problems.append("the report is %d bytes" % len(data))
        if b"\x1b" in data:
            problems.append("raw ESC in the report (at byte %d)" % data.index(b"\x1b"))
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            problems.append("the report is not UTF-8 (byte %d)" % e.start)
        text = data.decode("utf-8", errors="replace")
        lines = [s for s in re.split("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", text)
                 if s.startswith("Total:")]
        if total is not None:
            real = [s for s in lines if s.startswith("Total: %d/%d" % (total, possible))]
            if len(lines) != 1 or len(real) != 1:
                problems.append("%d lines start with \"Total:\" (%s), one expected: Total: %d/%d"
                                % (len(lines), " | ".join(s[:40] for s in lines[:3]), total,
                                   possible))

    def check_csv(self, job, total, problems):
        path = self.real(job["out"] + "/grades.csv")
        try:
            with open(path, newline="") as f:
                rows = list(csv.reader(f))
        except FileNotFoundError:
            problems.append("no CSV written")
            return
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            problems.append("the CSV is unreadable (%s)" % e)
            return
        if len(rows) != 2 or rows[0][:1] != ["student"] or "total" not in rows[0] or \
                len(rows[1]) != len(rows[0]):
            problems.append("the gradebook has %d rows, expected a header and one" % len(rows))
        elif total is not None and rows[1][rows[0].index("total")] != str(total):
            problems.append("the gradebook says %s points, the summary %s"
                            % (rows[1][rows[0].index("total")], total))
        if any("\x1b" in cell for row in rows for cell in row):
            problems.append("the CSV holds an ESC character")

    def check_forbidden(self, job, files, problems):
        expect = job["expect"]
        needles = list(self.forbidden)
        needles += [("forbidden", self.expand(s, job)) for s in
                    expect.get("forbidden_in_report", [])]
        patterns = [re.compile(self.expand(r, job).encode()) for r in
                    expect.get("forbidden_patterns", [])]
        for path in expect.get("forbidden_lines_of", []):
            path = self.real(self.expand(path, job))
            try:
                with open(path, errors="replace") as f:
                    lines = [line.strip() for line in f if len(line.strip()) >= 10]
            except OSError:
                continue
            needles += [("a line of %s" % self.shown(path), line) for line in lines[:20]]
        results = self.real(job["out"] + "/results")
        links = []
        if os.path.isdir(results):
            for path in walk_files(results):
                if os.path.islink(path):
                    links.append("%s -> %s" % (self.shown(path), os.readlink(path)))
                else:
                    files.append(path)
        if links:
            problems.append("%d link(s) in the results folder, e.g. %s" % (len(links), links[0]))
        hits = {}  # what -> (needles found, files)
        for path in files:
            try:
                data = read_bytes(path)
            except OSError:
                continue
            texts = [data]
            if path.endswith(".json"):
                try:
                    texts.append("\n".join(json_strings(json.loads(data))).encode(
                        "utf-8", "surrogatepass"))
                except ValueError:
                    pass
            found = [(what, needle) for what, needle in needles
                     if needle and any(needle.encode() in t for t in texts)]
            for pattern in patterns:
                m = next((m for m in (pattern.search(t) for t in texts) if m), None)
                if m:
                    found.append(("forbidden", m.group().decode(errors="replace")))
            for what, needle in found:
                seen, where = hits.setdefault(what, ([], set()))
                if needle not in seen:
                    seen.append(needle)
                where.add(os.path.basename(path))
        for what, (seen, where) in hits.items():
            problems.append("%s (%s) in %s" % (
                what, ", ".join(repr(n[:50]) for n in seen[:2]) +
                (" and %d more" % (len(seen) - 2) if len(seen) > 2 else ""),
                ", ".join(sorted(where)[:4]) + (" ..." if len(where) > 4 else "")))

    # ---- the battery ----

    def attack_list(self):
        names = sorted(d for d in os.listdir(ATTACKS)
                       if os.path.isfile(os.path.join(ATTACKS, d, "expect.json")))
        if self.args.only:
            unknown = [n for n in self.args.only if n not in names]
            if unknown:
                raise Problem("no attack %s; the attacks are: %s"
                              % (", ".join(unknown), " ".join(names)))
            names = [n for n in names if n in self.args.only]
        mode = "container" if self.args.wrap else "user" if self.args.user else "root"
        # Attacks on what the grader reads (the call record, the output), not on the sandbox:
        # the same code judges them whoever runs the grader (and, for some, however sandboxed).
        skipped = {n for n in names if mode in load_json(os.path.join(
            ATTACKS, n, "expect.json")).get("skip_in", [])}
        for name in sorted(skipped):
            print("skip %s: an attack on what the grader reads, judged the same in the %s "
                  "battery as in the root one" % (name, mode))
        names = [n for n in names if n not in skipped]
        if self.args.wrap:
            for name in sorted(set(names) & CONTAINER_COVERS):
                print("skip %s: the container covers it (one submission per container, its own "
                      "network and IPC namespaces)" % name)
            names = [n for n in names if n not in CONTAINER_COVERS]
        return names

    def victim_job(self):
        source = os.path.join(self.real(self.repo), "solutions", LAB)
        job = self.prepare("victim", None, {"description": "an honest submission"},
                           folder_name="victim")
        lab = os.path.join(self.real(job["sub"]), LAB)
        shutil.copytree(source, lab)
        program = os.path.join(lab, "msgpair.c")
        with open(program, "a") as f:
            f.write("\n/* %s: an honest student's own work */\n"
                    "static const char victim_marker[] __attribute__((used)) = \"%s\";\n"
                    % (self.victim_marker, self.victim_marker))
        if self.args.user:
            chown_tree(self.real(job["aw"]), NOBODY)
        return job

    def check_victim(self, job, outcome):
        problems = []
        summary = None
        try:
            summary = load_json(self.real(job["out"] + "/summary.json"))
        except (OSError, ValueError) as e:
            problems.append("no summary (%s)" % e)
        if outcome["status"] != 0:
            err = read_bytes(self.real(job["out"] + "/stderr")).decode(errors="replace")
            problems.append("grader exit status %s%s" % (
                outcome["status"], ": " + last_lines(err, 3, 400) if err.strip() else ""))
        if summary:
            lab = next((r for r in summary if r["lab"] == LAB), None)
            bad = [t for t in (lab or {}).get("tests", []) if t["status"] not in ("PASS", "SKIP")]
            if lab is None or bad:
                problems.append("lost points: %s" % "; ".join(
                    "%s %s: %s" % (t["name"], t["status"], "; ".join(t["messages"])[:200])
                    for t in bad[:3]))
        return problems

    def run_attack(self, name):
        source = os.path.join(ATTACKS, name)
        expect = load_json(os.path.join(source, "expect.json"))
        job = self.prepare(name, source, expect)
        if expect.get("concurrent_with_victim"):
            victim = self.victim_job()
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                v = pool.submit(self.grade, victim)
                a = pool.submit(self.grade, job, bool(expect.get("other_labs")))
                voutcome, outcome = v.result(), a.result()
            self.report("victim", self.check_victim(victim, voutcome),
                        "graded alongside %s, %.1f s" % (name, voutcome["elapsed"]))
        else:
            outcome = self.grade(job, bool(expect.get("other_labs")))
        self.report(name, self.check(job, outcome), "%.1f s" % outcome["elapsed"])

    def report(self, name, problems, note=""):
        if self.interrupted and not name.startswith("battery/"):
            return
        with self.lock:
            self.results.append((name, problems))
            suffix = "   [%s]" % note if self.args.verbose and note else ""
            if problems:
                log("FAIL %s: %s%s" % (name, "; ".join(problems), suffix))
            else:
                log("ok %s%s" % (name, suffix))

    def probe(self):
        """The reference solution, graded here: full marks, or nothing else means anything."""
        job = self.prepare("probe", os.path.join(self.real(self.repo), "solutions"),
                           {"description": "the reference solutions"})
        outcome = self.grade(job)
        return self.check_victim(job, outcome)

    def run(self):
        """The probe first, in the same pool as the slowest attacks: if the reference solution
        does not get full marks here, the attacks not yet started are dropped."""
        names = self.attack_list()
        slow = {n for n in names if load_json(os.path.join(ATTACKS, n, "expect.json")).get("slow")}
        order = sorted(names, key=lambda n: (n not in slow, n))
        pool = concurrent.futures.ThreadPoolExecutor(self.args.jobs)
        try:
            probe = pool.submit(self.probe)
            attacks = [pool.submit(self.safe_attack, n) for n in order]
            problems = probe.result()
            if problems:
                for f in attacks:
                    f.cancel()
                return problems
            for f in attacks:
                f.result()
        except BaseException:
            # Interrupted: end every grading now (they all live in our namespace).
            self.interrupted = True
            self.kill_namespace()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        self.battery_checks()
        return None

    def safe_attack(self, name):
        try:
            self.run_attack(name)
        except Exception as e:  # a runner fault: say which attack, go on with the others
            self.report(name, ["the runner failed: %s: %s" % (type(e).__name__, e)])

    def battery_checks(self):
        # Processes first: anything still running would change the rest.
        time.sleep(0.5)
        left = self.ns_processes()
        self.report("battery/processes", ["%d process(es) left: %s" % (len(left), ", ".join(
            "%d %s uid %d%s" % (p["pid"], p["comm"], p["uid"],
                                " (sandbox uid)" if p["uid"] >= SANDBOX_UID else "")
            for p in left[:8]))] if left else [])
        for p in left:
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except OSError:
                pass
        problems = []
        for d in self.decoys:
            try:
                st = os.lstat(d["path"])
            except FileNotFoundError:
                problems.append("%s (%s) is gone" % (d["shown"], d["kind"]))
                continue
            if stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode) != d["dir"]:
                problems.append("%s (%s) was replaced" % (d["shown"], d["kind"]))
                continue
            if (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) != (d["mode"], d["uid"], d["gid"]):
                problems.append("%s (%s): mode or owner changed" % (d["shown"], d["kind"]))
            if d["dir"]:
                now = sorted(os.listdir(d["path"]))
                if now != d["entries"]:
                    problems.append("%s (%s) now holds %s" % (d["shown"], d["kind"], now[:5]))
            else:
                content = read_bytes(d["path"]).decode(errors="replace").strip()
                if content != d["content"]:
                    problems.append("%s (%s) was changed: %r" % (d["shown"], d["kind"],
                                                                 content[-60:]))
        self.report("battery/decoys", problems)
        problems = []
        for inside, real in self.view.items():
            new = sorted(set(os.listdir(real)) - self.view_before[inside] -
                         {os.path.basename(BATTERY)})
            if new:
                problems.append("new in %s: %s%s" % (inside, ", ".join(new[:8]),
                                                     " ..." if len(new) > 8 else ""))
        self.report("battery/tmp", problems)
        problems = []
        queues = self.queues()
        decoy = [q for q in queues if q["key"] == self.queue_key]
        if self.args.wrap:  # the container's IPC namespace holds no one else's queue
            decoy = [{"qnum": 1, "cbytes": len(self.queue_text)}]
        if not decoy:
            problems.append("the decoy queue (key 0x%08x) is gone" % self.queue_key)
        elif decoy[0]["qnum"] != 1 or decoy[0]["cbytes"] != len(self.queue_text):
            problems.append("the decoy queue holds %d messages, %d bytes (1, %d expected)"
                            % (decoy[0]["qnum"], decoy[0]["cbytes"], len(self.queue_text)))
        others = [q for q in queues if q["key"] != self.queue_key]
        if others:
            problems.append("%d new queue(s) on the host: %s" % (len(others), ", ".join(
                "id %d key 0x%08x by uid %d" % (q["id"], q["key"] & 0xFFFFFFFF, q["cuid"])
                for q in others[:5])))
        self.report("battery/queues", problems)
        conns = list(self.listener.connections)
        if self.args.wrap:  # no private network without namespaces: the container's part
            conns = []
        self.report("battery/network", ["the listener on 127.0.0.1:%d saw %d connection(s): %s"
                                        % (self.listener.port, len(conns),
                                           "; ".join(repr(d[:60]) for _, d in conns[:3]))]
                    if conns else [])

    # ---- clean-up ----

    def kill_namespace(self):
        """Kill the namespace's PID 1, and with it every process of the battery."""
        if not self.holder:
            return []
        errors = []
        for pid in (self.ns_pid, self.holder.pid):
            try:
                if pid:
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.holder.wait(10)
        except subprocess.TimeoutExpired:
            errors.append("the namespace's holder did not end")
        for _ in range(50):  # every process of the namespace dies with its PID 1
            if not self.ns_id or not any(
                    safe_readlink("/proc/%s/ns/pid" % p) == self.ns_id
                    for p in filter(str.isdigit, os.listdir("/proc"))):
                break
            time.sleep(0.1)
        else:
            errors.append("processes of the battery's namespace did not end")
        return errors

    def cleanup(self):
        errors = []
        if self.listener:
            self.listener.close()
        errors += self.kill_namespace()
        for path in self.outside:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as e:
                errors.append("cannot remove %s: %s" % (path, e))
        self.clean_attack_leftovers()
        if self.work and os.path.isdir(self.work):
            if self.args.keep:
                kept = "/tmp/hostile-kept-%s" % self.token
                os.rename(self.view["/tmp"] + BATTERY[len("/tmp"):], kept)
                log("kept the battery's folder in %s" % kept)
            shutil.rmtree(self.work, ignore_errors=True)
            if os.path.exists(self.work):
                errors.append("cannot remove %s" % self.work)
        for e in errors:
            log("warning: %s" % e)

    def clean_attack_leftovers(self):
        """Files attacks may leave outside the battery's folders (listed in their expect.json
        must_not_exist and must_not_contain): reported by the checks, removed here."""
        if not os.path.isdir(ATTACKS):
            return
        fake = {"sub": "/nonexistent", "aw": "/nonexistent"}
        for name in os.listdir(ATTACKS):
            try:
                expect = load_json(os.path.join(ATTACKS, name, "expect.json"))
            except (OSError, ValueError):
                continue
            for pattern in expect.get("must_not_exist", []):
                pattern = self.expand(pattern, fake)
                if pattern.startswith(("/tmp/", "/var/tmp/", "/dev/shm/", "/nonexistent")):
                    continue  # inside the view: goes with it
                for path in glob.glob(pattern, recursive=True):
                    remove(path)
            for rule in expect.get("must_not_contain", []):
                for path in glob.glob(self.expand(rule["glob"], fake), recursive=True):
                    try:
                        if rule["text"].encode() in read_bytes(path):
                            remove(path)
                    except OSError:
                        pass


def tempfile_dir():
    path = tempfile.mkdtemp(prefix="hostile-", dir="/tmp")
    os.chmod(path, 0o755)
    return path


def load_json(path):
    with open(path) as f:
        return json.load(f)


def safe_readlink(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def remove(path):
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except OSError:
        pass


def chown_tree(top, uid):
    os.chown(top, uid, uid, follow_symlinks=False)
    for base, dirs, files in os.walk(top):
        for name in dirs + files:
            os.chown(os.path.join(base, name), uid, uid, follow_symlinks=False)


def main():
    p = argparse.ArgumentParser(description="Grade hostile submissions with the real grader.")
    p.add_argument("--user", action="store_true",
                   help="run the grader as an ordinary user (uid 65534), on a copy it owns")
    p.add_argument("--wrap", metavar="PROGRAM",
                   help="run each grading through PROGRAM (e.g. build/tests/no-namespaces: "
                   "the container mode, namespaces refused as in Docker)")
    p.add_argument("--only", action="append", metavar="NAME", help="this attack only (repeat)")
    p.add_argument("--jobs", type=int, default=4, help="gradings at a time (default 4)")
    p.add_argument("--repo", help="the grader to attack (default: this checkout; built)")
    p.add_argument("--keep", action="store_true", help="keep the submissions and outputs")
    p.add_argument("-v", "--verbose", action="store_true", help="show each grading's time")
    args = p.parse_args()
    if os.geteuid() != 0:
        log("the battery needs root: it contains the attacks in namespaces of its own and "
            "makes root-only decoys (use --user to run the grader as an ordinary user)")
        return 2
    for tool in ("unshare", "nsenter", "mount", "setpriv"):
        if not shutil.which(tool):
            log("the battery needs %s (util-linux)" % tool)
            return 2
    battery = Battery(args)
    start = time.monotonic()

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # even when started with SIGINT ignored
    signal.signal(signal.SIGHUP, interrupted)
    try:
        battery.setup()
        problems = battery.run()
        if problems:
            if args.user:
                log("SKIP --user: grading as an ordinary user does not work here yet: %s"
                    % "; ".join(problems))
                log("0 passed, 0 failed")
                return 0
            battery.report("battery/probe", ["the reference solution does not get full marks "
                                             "here (is the grader mid-change? make tools?): "
                                             + "; ".join(problems)])
    except Problem as e:
        battery.report("battery/setup", [str(e)])
    except KeyboardInterrupt:
        battery.report("battery/interrupted", ["interrupted"])
    finally:
        battery.cleanup()
    failed = sum(1 for _, problems in battery.results if problems)
    log("battery took %.1f s%s" % (time.monotonic() - start, " (grader run as uid %d)" % NOBODY
                                   if args.user else ""))
    log("%d passed, %d failed" % (len(battery.results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
