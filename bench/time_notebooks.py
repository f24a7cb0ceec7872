"""Wall time of each assignment notebook run from top to bottom, as a student runs it.

    python bench/time_notebooks.py [jund/jund hmm_gru/hmm_gru ...] [--fast] [--threads 1]
                                   [--budget-min 0] [--data-dir DIR] [--out build/notebook_times]

Each notebook is the solutions build (reference code written out in the answer cells, hidden
tests removed), executed with nbclient in full mode (COURSE_FAST unset) unless --fast. The data
folder starts empty unless --data-dir is given, so the first-run cost of writing the synthetic
data (or unpacking real files already placed there) is part of the time, as it is for a student.

Per notebook it writes <out>/<assignment>__<notebook>.json (updated after every cell, so a run
that is stopped keeps what it measured) and the executed notebook, and prints a table: total
seconds, the kernel's CPU seconds (all its threads and child processes: on a shared machine the
wall time grows with the load, the CPU time much less), the machine's load average at the end,
the slowest cells, the device the kernel reported, and the thread count.

--budget-min stops a notebook whose cell runs longer than the budget. The last progress bar of
that cell (tqdm's text, or the widget it shows in Jupyter: `k/N [elapsed<remaining, s/it]`) is
parsed, so the report gives the epochs done, the measured seconds per epoch, and a total
extrapolated from them -- marked as extrapolated.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.pipeline import assignments, grading_env, source_notebooks  # noqa: E402
from autograder.solutions import solution_notebook  # noqa: E402

PROGRESS = re.compile(r"(\d+)/(\d+)\s*\[(?:(\d+):)?(\d+):(\d+)(?:<|&lt;)")  # tqdm text or widget HTML
DEVICE = re.compile(r"device: (\w+)")


def cell_text(cell) -> str:
    """All text a cell printed (streams and plain-text results)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}")
    return "".join(parts)


def widget_text(client) -> str:
    """The text values of the notebook's widgets (tqdm bars in Jupyter are widgets), oldest first."""
    states = getattr(client, "widget_state", {}) or {}
    return "\n".join(str(state.get("value", "")) for state in states.values() if isinstance(state, dict))


def last_progress(text: str):
    """(done, total, elapsed seconds) of the last progress-bar update in `text`, or None."""
    hits = PROGRESS.findall(text)
    if not hits:
        return None
    done, total, h, m, s = hits[-1]
    return int(done), int(total), int(h or 0) * 3600 + int(m) * 60 + int(s)


def first_line(source: str) -> str:
    lines = [ln for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return (lines[0] if lines else source.splitlines()[0] if source else "")[:70]


def kernel_cpu_seconds(client) -> float | None:
    """User + system CPU seconds of the notebook's kernel process and its children, or None."""
    import psutil

    try:
        proc = psutil.Process(client.km.provisioner.process.pid)
        own, kids = proc.cpu_times(), [c.cpu_times() for c in proc.children(recursive=True)]
    except (AttributeError, psutil.Error):
        return None
    return own.user + own.system + own.children_user + own.children_system + sum(k.user + k.system for k in kids)


class Timer:
    """Records each code cell's wall time (and the kernel's CPU time) and writes the report after every cell."""

    def __init__(self, report_path: Path, meta: dict):
        self.path, self.report, self.start = report_path, dict(meta, cells=[]), None
        self.client = None

    def cell_started(self, cell, **_):
        self.start = time.perf_counter()

    def cell_done(self, cell, cell_index=None, **_):
        if cell.cell_type != "code" or self.start is None:
            return
        seconds = time.perf_counter() - self.start
        self.report["cells"].append({"index": cell_index, "code": first_line(cell.source),
                                     "seconds": round(seconds, 2)})
        device = DEVICE.search(cell_text(cell))
        if device and "device" not in self.report:
            self.report["device"] = device.group(1)
        self.report["measured_seconds"] = round(sum(c["seconds"] for c in self.report["cells"]), 1)
        cpu = kernel_cpu_seconds(self.client) if self.client is not None else None
        if cpu is not None:
            self.report["kernel_cpu_seconds"] = round(cpu, 1)
        self.report["load_average"] = [round(x, 1) for x in os.getloadavg()]
        self.save()

    def save(self):
        self.path.write_text(json.dumps(self.report, indent=1))


def time_notebook(assignment: str, source: Path, args, data_dir: Path) -> dict:
    """Execute one solutions notebook; return its timing report."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    nb = solution_notebook(source, REPO / "course_lib" / "reference")
    run_dir = args.out / f"{assignment}__{source.stem}"
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = {"notebook": f"{assignment}/{source.name}", "mode": "fast" if args.fast else "full",
            "threads": args.threads, "data_dir": str(data_dir), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    timer = Timer(args.out / f"{assignment}__{source.stem}.json", meta)
    env = grading_env(fast=args.fast)
    if not args.fast:
        env.pop("COURSE_FAST", None)
    env.update(COURSE_DATA_DIR=str(data_dir), OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    budget = args.budget_min * 60 if args.budget_min else None
    client = NotebookClient(nb, timeout=budget, kernel_name="python3", interrupt_on_timeout=False,
                            resources={"metadata": {"path": str(run_dir)}},
                            on_cell_start=timer.cell_started, on_cell_executed=timer.cell_done)
    timer.client = client
    try:
        client.execute()
        timer.report["complete"] = True
    except CellTimeoutError:
        cell = next(c for c in reversed(nb.cells) if c.cell_type == "code" and c.get("outputs"))
        timer.report["complete"] = False
        timer.report["stopped_in"] = first_line(cell.source)
        progress = last_progress(cell_text(cell) + "\n" + widget_text(client))
        if progress:
            done, total, elapsed = progress
            per_step = elapsed / max(done, 1)
            timer.report["stopped_progress"] = {"done": done, "of": total, "elapsed_s": elapsed,
                                                "seconds_per_step": round(per_step, 1)}
            # budget spent in the stopped cell, plus the steps it did not reach
            timer.report["extrapolated_seconds"] = round(timer.report.get("measured_seconds", 0)
                                                         + budget + per_step * (total - done), 1)
    except Exception as exc:  # a failing notebook is a result too: report where it failed
        timer.report["complete"] = False
        last = (str(exc).strip().splitlines() or [""])[-1]          # an interrupt has no message
        timer.report["error"] = f"{type(exc).__name__}: {last[:300]}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
        timer.report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        timer.save()
        nbformat.write(nb, run_dir / source.name)
    return timer.report


def summary_line(r: dict) -> str:
    slowest = sorted(r["cells"], key=lambda c: -c["seconds"])[:2]
    slow = "; ".join(f"{c['seconds']:.0f} s `{c['code']}`" for c in slowest)
    total = f"{r.get('measured_seconds', 0) / 60:.1f} min"
    if not r.get("complete"):
        if "extrapolated_seconds" in r:
            p = r["stopped_progress"]
            total = (f"~{r['extrapolated_seconds'] / 60:.0f} min extrapolated ({p['done']}/{p['of']} steps "
                     f"measured, {p['seconds_per_step']:.0f} s each)")
        else:
            total += " (incomplete: " + r.get("error", "stopped") + ")"
    cpu = f"{r['kernel_cpu_seconds'] / 60:.1f} min" if "kernel_cpu_seconds" in r else "?"
    load = ", ".join(f"{x:g}" for x in r.get("load_average", [])) or "?"
    return (f"| {r['notebook']} | {r['mode']} | {total} | {cpu} | {load} | {r.get('device', '?')} | {r['threads']} "
            f"| {slow} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="assignment/notebook (default: every notebook)")
    parser.add_argument("--fast", action="store_true", help="fast mode instead of full mode")
    parser.add_argument("--threads", type=int, default=1, help="torch/OpenMP threads in the kernel")
    parser.add_argument("--budget-min", type=float, default=0, help="stop a notebook after this many minutes")
    parser.add_argument("--data-dir", type=Path, help="data folder to use (default: a new, empty one)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "notebook_times")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    wanted = args.notebooks or [f"{a}/{p.stem}" for a in assignments(REPO) for p in source_notebooks(REPO, a)]
    reports = []
    for name in wanted:
        assignment, _, stem = name.partition("/")
        matches = [p for p in source_notebooks(REPO, assignment) if p.stem == (stem or assignment)]
        if not matches:
            parser.error(f"no notebook source/{assignment}/{stem or assignment}.ipynb")
        data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="course-data-"))
        print(f"== {name}: {'fast' if args.fast else 'full'} mode, {args.threads} thread(s), data in {data_dir}",
              flush=True)
        reports.append(time_notebook(assignment, matches[0], args, data_dir))
        print(summary_line(reports[-1]), flush=True)

    print("\n| notebook | mode | wall time | kernel CPU time | load average (1, 5, 15 min) | device | threads "
          "| slowest cells |\n|---|---|---|---|---|---|---|---|")
    for r in reports:
        print(summary_line(r))


if __name__ == "__main__":
    main()
