"""``Session.explain``: a readable account of what the compiler did to one run signature."""

from __future__ import annotations

from collections import Counter


class Explanation:
    """Passes run (ops before/after, rewrites), kernels with the ops fused into them, generated source."""

    def __init__(self, executable, backend_name: str):
        self.backend = backend_name
        self.program = executable.program
        self.source_program = getattr(executable, "source_program", executable.program)
        self.reports = list(getattr(executable, "reports", []))
        self.kernels = []
        for step in getattr(executable, "steps", []):
            members = step.op.attrs.get("members") if step.op.type == "FusedElementwise" else None
            self.kernels.append(
                {
                    "op": step.op.name,
                    "type": step.op.type,
                    "implementation": step.implementation,
                    "fused_ops": list(members or []),
                    "fused_types": [ins.op_type for ins in step.op.attrs["instructions"]] if members else [],
                }
            )
        self.kernel_sources = {}
        for step in getattr(executable, "steps", []):
            sources = getattr(step.kernel, "sources", None)
            if sources is not None:
                if not sources:
                    sources = step.kernel.generic_sources()
                for classes, text in sources.items():
                    self.kernel_sources[f"{step.op.name} [{classes}]"] = text
        self.executor_source = getattr(executable, "source", None)
        # True where the program calls BLAS and so runs its own kernels on one thread.
        self.serial_kernels = getattr(executable, "serial_kernels", None)

    @property
    def ops_before(self) -> int:
        return len(self.source_program.ops)

    @property
    def ops_after(self) -> int:
        return len(self.program.ops)

    @property
    def fused_kernels(self) -> list:
        return [k for k in self.kernels if k["type"] == "FusedElementwise"]

    def __str__(self):
        lines = [f"backend: {self.backend}", f"ops: {self.ops_before} in the pruned graph -> {self.ops_after} after passes"]
        if self.reports:
            lines.append("passes:")
            for report in self.reports:
                lines.append(f"  {report.summary()}")
                lines.extend(f"      {change}" for change in report.changes[:50])
                if len(report.changes) > 50:
                    lines.append(f"      ... {len(report.changes) - 50} more")
        if self.kernels:
            counts = Counter(k["implementation"] for k in self.kernels)
            lines.append(f"kernels: {len(self.kernels)} ({', '.join(f'{n} {impl}' for impl, n in sorted(counts.items()))})")
            if self.serial_kernels:
                lines.append("  kernel threads: 1 (the program's matrix products run on several BLAS threads, which keep the "
                             "other cores)")
            for k in self.kernels:
                fused = f" <- {' + '.join(k['fused_types'])}" if k["fused_types"] else ""
                lines.append(f"  {k['op']} [{k['type']}, {k['implementation']}]{fused}")
        if self.kernel_sources:
            lines.append("generated kernels:")
            for name, text in self.kernel_sources.items():
                lines.append(f"--- {name}")
                lines.append(text.rstrip())
        return "\n".join(lines)

    __repr__ = __str__
