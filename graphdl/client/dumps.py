"""Compiler dumps: what the compiler did to each run signature, written to a folder (like XLA's ``--xla_dump_to``).

Turned on by the environment variable ``GRAPHDL_DUMP_DIR`` or ``ConfigProto(dump_dir=...)``.
Every signature a session compiles gets a folder ``<root>/<NNNN>_<fetch names>/`` holding:

- ``00_input.dot``: the pruned program the backend was given;
- ``NN_after_<pass>.dot``: the program after each pass that ran (also passes that changed nothing);
- ``plan.txt``: the execution plan: one row per step (op, type, implementation, the executor's value
  names, static output shapes) and the generated executor source where the backend generates one;
- ``kernels/<op>.py``: the generated source of every fused kernel (its all-full-size form at compile
  time), and ``kernels/<op>.<classes>.py``: the forms specialized for the input shapes seen when it runs;
- ``passes.txt``: every rewrite each pass made;
- ``index.md``: one line per file.

Nothing here runs when dumping is off: the session checks for a dump folder once per compile.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import threading
from collections import Counter

from graphdl.client.backend import Executable
from graphdl.io.atomic import write_atomically

DUMP_DIR_ENV = "GRAPHDL_DUMP_DIR"

_NUMBERED = re.compile(r"(\d{4,})_")
_folder_lock = threading.Lock()


def dump_dir_for(config=None) -> str | None:
    """The dump root a compile should write to: ``config.dump_dir``, else ``$GRAPHDL_DUMP_DIR``, else None."""
    configured = getattr(config, "dump_dir", None) if config is not None else None
    return os.fspath(configured) if configured else (os.environ.get(DUMP_DIR_ENV) or None)


def safe_file_name(text: str, max_len: int = 80) -> str:
    """``text`` with every character other than letters, digits, ``_ . + -`` replaced by ``_`` (scopes ``/`` by ``.``)."""
    name = re.sub(r"[^A-Za-z0-9_.+-]+", "_", text.replace("/", "."))
    name = name.strip("._") or "_"
    return name[:max_len]


def _signature_name(program) -> str:
    names = [t.name.removesuffix(":0") for t in program.fetches]
    names += [op.name for op in program.targets]
    return safe_file_name("+".join(names) or "no_fetches", 60)


def _program_dot(program, title: str) -> str:
    from graphdl.viz import to_dot

    return to_dot(program, title=title)


def _shape_text(tensor) -> str:
    return f"{tensor.shape} {tensor.dtype.name}"


def _table(rows: list, header: tuple) -> list:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]


class CompileDump:
    """The dump folder of one compiled signature; fill it with ``record_pass`` calls, then ``finish``."""

    def __init__(self, root: str, program, backend_name: str):
        self.program = program
        self.backend_name = backend_name
        try:
            os.makedirs(root, exist_ok=True)
        except OSError as e:
            raise OSError(f"Cannot create the compiler dump folder {root!r} (GRAPHDL_DUMP_DIR / dump_dir): {e}") from e
        with _folder_lock:
            # Numbers continue those already in the root, so that dumps of several runs or processes stay apart.
            number = 1 + max((int(m.group(1)) for m in map(_NUMBERED.match, os.listdir(root)) if m), default=0)
            while True:
                folder = os.path.join(root, f"{number:04d}_{_signature_name(program)}")
                try:
                    os.mkdir(folder)
                    break
                except FileExistsError:  # another process took this number
                    number += 1
        self.folder = folder
        self.number = number
        self._entries: list = []  # (relative path, description)
        self._reports: list = []
        self.kernel_steps: list = []  # the steps running generated kernels (with ``kernel.sources``)
        self._written_sources: set = set()
        self._write("00_input.dot", _program_dot(program, f"input program ({len(program.ops)} ops)"),
                    f"input: the pruned program, {len(program.ops)} ops")

    def _write(self, relative: str, text: str, description: str | None):
        path = os.path.join(self.folder, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(path, text)
        if description is not None:
            self._entries.append((relative, description))

    def record_pass(self, report, program_after):
        """Write the program after one pass (``report``: its PassReport); the callback backends call."""
        self._reports.append(report)
        index = len(self._reports)
        name = safe_file_name(report.name)
        rewrites = f", {len(report.changes)} rewrites" if report.changes else ", no rewrites"
        self._write(f"{index:02d}_after_{name}.dot", _program_dot(program_after, f"after {report.name}"),
                    f"after {report.name}: {report.ops_before} -> {report.ops_after} ops{rewrites}")

    def finish(self, executable):
        """Write the execution plan, the fused kernels' sources, the pass log and the index; returns the folder."""
        self.kernel_steps = [step for step in getattr(executable, "steps", ()) if hasattr(step.kernel, "sources")]
        self._write_plan(executable)
        if self._reports:
            lines = []
            for report in self._reports:
                lines.append(report.summary())
                lines.extend(f"    {change}" for change in report.changes)
            self._write("passes.txt", "\n".join(lines) + "\n", f"rewrites of {len(self._reports)} passes")
        for step in self.kernel_steps:
            # Before the first run no shapes are known: write the all-full-size form.
            generic = not step.kernel.sources
            for classes, source in (step.kernel.sources or step.kernel.generic_sources()).items():
                self._write_kernel(step.op, classes, source, generic)
        self._write_index()
        return self.folder

    def source_count(self) -> int:
        """How many kernel specializations the compiled kernels have generated so far."""
        return sum(len(step.kernel.sources) for step in self.kernel_steps)

    def add_run_time_kernels(self):
        """Write the kernel sources specialized for the shapes seen at run time that are not written yet."""
        added = False
        for step in self.kernel_steps:
            for classes, source in list(step.kernel.sources.items()):
                added |= self._write_kernel(step.op, classes, source)
        if added:
            self._write_index()

    def _write_kernel(self, op, classes: str, source: str, generic: bool = False) -> bool:
        if (op.name, source) in self._written_sources:
            return False
        self._written_sources.add((op.name, source))
        members = " + ".join(ins.op_type for ins in op.attrs.get("instructions", ())) or op.type
        header = (f"# Fused kernel of op '{op.name}', generated by the {self.backend_name} backend.\n"
                  f"# Fused ops: {members}\n"
                  f"# Input classes '{classes}' (f full size, s scalar, r row, c column; /layout of a fused reduction)\n")
        if generic:
            header += ("# The all-full-size form, written at compile time; the forms specialized for the input shapes\n"
                       "# seen at run time are added beside it as <op>.<classes>.py when they are generated.\n")
        # The op's first kernel is <op>.py, later specializations <op>.<classes>.py (numbered if still taken:
        # op names that differ only in characters unsafe in file names).
        base = f"kernels/{safe_file_name(op.name)}"
        taken = {path for path, _ in self._entries}
        candidates = itertools.chain([f"{base}.py", f"{base}.{safe_file_name(classes)}.py"],
                                     (f"{base}.{safe_file_name(classes)}_{n}.py" for n in itertools.count(2)))
        relative = next(c for c in candidates if c not in taken)
        self._write(relative, header + source, f"fused kernel '{op.name}' [{classes}]: {members}")
        return True

    def _write_plan(self, executable):
        steps = getattr(executable, "steps", None)
        program = getattr(executable, "program", None) or self.program
        if steps is not None:
            rows = [(i, s.op.name, s.op.type, s.implementation, ", ".join(s.outputs) or "-",
                     "; ".join(_shape_text(t) for t in s.op.outputs) or "-") for i, s in enumerate(steps)]
        else:  # an interpreting backend runs the program's ops as they are
            rows = [(i, op.name, op.type, self.backend_name, "-", "; ".join(_shape_text(t) for t in op.outputs) or "-")
                    for i, op in enumerate(program.ops)]
        counts = Counter(row[3] for row in rows)
        implementations = ", ".join(f"{n} {impl}" for impl, n in sorted(counts.items()))
        lines = [f"execution plan: backend {self.backend_name}, {len(rows)} steps ({implementations})",
                 f"feeds: {', '.join(t.name for t in program.feeds) or '-'}",
                 f"fetches: {', '.join(t.name for t in program.fetches) or '-'}",
                 f"targets: {', '.join(op.name for op in program.targets) or '-'}", ""]
        lines += _table(rows, ("#", "op", "type", "implementation", "values", "output shapes"))
        executor_source = getattr(executable, "source", None)
        if executor_source:
            lines += ["", "generated executor:", executor_source.rstrip()]
        self._write("plan.txt", "\n".join(lines) + "\n", f"execution plan: {len(rows)} steps")

    def _write_index(self):
        fetches = ", ".join([t.name for t in self.program.fetches] + [op.name for op in self.program.targets])
        feeds = ", ".join(t.name for t in self.program.feeds)
        lines = [f"# graphdl compiler dump {self.number:04d}", "",
                 f"backend: {self.backend_name}; fetches: {fetches or '-'}; feeds: {feeds or '-'}", ""]
        if not self._reports:
            lines += ["No passes ran: the backend runs the program as given, or every pass was disabled.", ""]
        lines += [f"- `{path}`: {description}" for path, description in self._entries]
        lines.append("- `index.md`: this list")
        self._write("index.md", "\n".join(lines) + "\n", None)


class DumpingExecutable(Executable):
    """Runs a compiled executable and adds the kernels it specializes at run time to its dump folder.

    Every other attribute is the wrapped executable's (``Session.explain`` reads them).
    """

    def __init__(self, executable, dump: CompileDump):
        self._executable = executable
        self._dump = dump
        self._sources_seen = dump.source_count()

    def run(self, feed_values):
        values = self._executable.run(feed_values)
        count = self._dump.source_count()
        if count != self._sources_seen:
            self._sources_seen = count
            self._dump.add_run_time_kernels()
        return values

    def __getattr__(self, name):
        return getattr(self._executable, name)


def compile_with_dump(backend, program, state, options, root: str) -> Executable:
    """``backend.compile(program, state, options)``, writing the signature's dump folder under ``root``."""
    dump = CompileDump(root, program, backend.name)
    executable = backend.compile(program, state, dataclasses.replace(options, on_pass=dump.record_pass))
    dump.finish(executable)
    # Only generated kernels specialize at run time; other executables need no watching.
    return DumpingExecutable(executable, dump) if dump.kernel_steps else executable
