"""Aggregates the per-round cell results of ``bench.run`` and renders the Markdown report."""

import statistics

from bench import workloads as W

W4_COPY_TARGET = 0.70   # graphdl's W4 bandwidth should reach this fraction of a plain NumPy copy
BUSY_MACHINE_CORES = 0.3  # other-process load above which the report warns that the numbers are disturbed
STEADY = ("W1", "W2", "W3", "W4", "W5")


def summarize(results):
    """``{(fw, cell): summary}`` from ``{(fw, cell): [round results]}`` (cell is W1..W5, W6-cold, W6-warm).

    A steady cell's value is the median over rounds of the per-round median call time; a W6
    value is the median over rounds of the seconds to the end of the first step.
    """
    out = {}
    for (fw, cell), rounds in results.items():
        good = [r for r in rounds if r.get("ok")]
        s = {"rounds": len(good)}
        if not good:
            bad = rounds[-1]
            s["skip"] = bad.get("skip")
            s["error"] = None if bad.get("skip") else bad.get("error", "failed")
            out[(fw, cell)] = s
            continue
        s["describe"] = good[-1].get("describe", {})
        if cell.startswith("W6"):
            key = "first_step_s"
            for k in ("import_s", "built_s", "first_step_s", "exit_s"):
                s[k] = statistics.median(r[k] for r in good if k in r) if any(k in r for r in good) else None
            s["check_ok"] = all(W.loss_matches("W1", r["first_loss"]) for r in good)
            s["first_loss"] = good[0]["first_loss"]
        else:
            key = "median_s"
            for k in ("build_s", "first_call_s", "import_s"):
                s[k] = statistics.median(r[k] for r in good)
            s["check_ok"] = all(r.get("check_ok") for r in good)
            loads = [r["load_cores"] for r in good if r.get("load_cores") is not None]
            s["load_cores"] = statistics.median(loads) if loads else None
            s["calls"] = sum(r["n"] for r in good)
            if cell in W.TRAINING:
                s["first_loss"] = good[0]["first_loss"]
                s["last_loss"] = good[-1].get("last_loss")
            else:
                s["max_abs_err"] = max(r["max_abs_err"] for r in good)
        values = [r[key] for r in good]
        s["value_s"] = statistics.median(values)
        s["spread"] = max(values) / min(values) if min(values) > 0 else None
        if len(good) < len(rounds):
            bad = next(r for r in rounds if not r.get("ok"))
            s["error"] = f"{len(rounds) - len(good)} of {len(rounds)} rounds failed: {bad.get('error') or bad.get('skip')}"
        out[(fw, cell)] = s
    return out


def sig(x, digits=3):
    """``x`` with ``digits`` significant digits, without exponent notation for everyday magnitudes."""
    if x is None:
        return "?"
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    if "e" in text:
        return f"{x:.{max(digits - 1, 0)}e}" if abs(x) < 1e-3 else f"{x:,.0f}"
    return text


def _speed(summary, cell):
    """Speed of a cell (higher is better): calls per second, or 1 / seconds for W6."""
    s = summary.get(cell)
    if not s or not s.get("value_s"):
        return None
    return 1.0 / s["value_s"]


def _w4_text(s):
    ms = s["value_s"] * 1e3
    return f"{sig(ms)} ms / {sig(W.W4_BYTES / s['value_s'] / 1e9)} GB/s"


def cell_text(summary, fw, cell, not_installed, label_missing):
    """The main-table entry of one (framework, cell)."""
    if fw in label_missing:
        return not_installed
    supported = cell[:2] in _workloads_of(fw)
    s = summary.get((fw, cell))
    if s is None:
        return "—" if not supported else "not run"
    if s.get("value_s") is None:
        if s.get("skip"):
            return s["skip"].split(" (")[0]  # the reason is in the details table
        return "error (see notes)"
    v = s["value_s"]
    if cell in W.TRAINING:
        text = sig(1.0 / v)
    elif cell == "W4":
        text = _w4_text(s)
    elif cell == "W5":
        text = f"{sig(v * 1e6)} µs"
    else:
        text = f"{sig(v, 2)} s"
    if s.get("check_ok") is False:
        text += " ✗"
    return text


def _workloads_of(fw):
    from bench.worker import FRAMEWORKS
    return FRAMEWORKS[fw].workloads


def _row_cells(workloads):
    rows = [w for w in workloads if w in STEADY]
    if "W6" in workloads:
        rows += ["W6-cold", "W6-warm"]
    return rows


_SHORT = {"W1": "W1 MLP train", "W2": "W2 LeNet train", "W3": "W3 LSTM train", "W4": "W4 fused elementwise",
          "W5": "W5 MLP infer batch 1", "W6-cold": "W6 cold start", "W6-warm": "W6 warm-cache start"}


def _row_title(cell):
    if cell == "W6-cold":
        return "W6 cold start to 1st W1 step, s (empty caches)"
    if cell == "W6-warm":
        return "W6 same, warm disk caches, s"
    return W.TITLES[cell]


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _check_note(fw, cell, s):
    if s.get("value_s") is None:
        return s.get("skip") or s.get("error") or ""
    if cell.startswith("W6"):
        parts = [f"import {sig(s['import_s'], 2)}s", f"built {sig(s['built_s'], 2)}s",
                 f"1st step {sig(s['first_step_s'], 2)}s"]
        if s.get("exit_s") is not None:
            parts.append(f"process exit {sig(s['exit_s'], 2)}s")
        mark = "✓" if s["check_ok"] else "✗"
        return ", ".join(parts) + f"; loss {s['first_loss']:.5f} {mark}"
    if cell in W.TRAINING:
        mark = "✓" if s["check_ok"] else f"✗ (expected {W.EXPECTED_INITIAL_LOSS[cell]:.5f})"
        note = f"initial loss {s['first_loss']:.5f} {mark}"
        gflops = W.training_flops()[cell] / s["value_s"] / 1e9
        return note + f"; {sig(gflops)} GFLOP/s"
    mark = "✓" if s["check_ok"] else f"✗ (limit {W.MAX_ABS_ERROR:g})"
    return f"max abs err {s['max_abs_err']:.1e} {mark}"


def render(meta, frameworks, workloads, summary, not_installed="not installed"):
    """The Markdown report: context, results, graphdl ratios, W4/W5 yardsticks, per-cell details."""
    missing = set(meta["not_installed"])
    shown = [fw for fw in frameworks if fw not in missing] + [fw for fw in frameworks if fw in missing]
    peers = [fw for fw in shown if fw != "graphdl" and fw not in missing]
    backend = meta.get("backend") or "?"
    v = meta["versions"]
    lines = [
        f"## graphdl benchmarks, {meta['started'][:10]}",
        "",
        f"Run {meta['started']} → {meta['finished']} on {meta['cpu']} ({meta['cores']} cores), "
        f"threads = {meta['threads']} for every framework; graphdl backend: **{backend}**. "
        f"Rounds: {meta['rounds']} steady, {meta['cold_rounds']} cold"
        + (" — **quick mode: indicative numbers only**" if meta["quick"] else "") + ".",
        "",
        f"Command: `{meta['command']}`",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
    ]
    if meta["not_installed"]:
        lines += [f"Peers {not_installed} (skipped): {', '.join(meta['not_installed'])}.", ""]
    loads = [s["load_cores"] for s in summary.values() if s.get("load_cores") is not None]
    if loads and statistics.median(loads) > BUSY_MACHINE_CORES:
        lines += [(f"**Warning: other processes kept {statistics.median(loads):.1f} cores busy (median over cells) "
                  "while cells were timed; these numbers are not comparable with a quiet run.**"), ""]
    lines += [("Median over rounds of each round's median call time; higher is better for steps/s and GB/s, "
              "lower for ms, µs and s. ✗ = failed its correctness check."), ""]

    header = ["workload"] + [f"graphdl ({backend})" if fw == "graphdl" else fw for fw in shown]
    rows = [[_row_title(c)] + [cell_text(summary, fw, c, not_installed, missing) for fw in shown]
            for c in _row_cells(workloads)]
    lines += _table(header, rows)

    if "graphdl" in shown and peers:
        lines += ["", "### graphdl relative to each peer (speed ratio, same run; > 1 = graphdl faster)", ""]
        rows = []
        for c in _row_cells(workloads):
            g = _speed(summary, ("graphdl", c))
            row = [_SHORT[c]]
            for fw in peers:
                p = _speed(summary, (fw, c))
                row.append(f"{sig(g / p)}×" if g and p else "—")
            rows.append(row)
        lines += _table(["workload"] + peers, rows)

    lines += _yardsticks(summary, workloads)
    lines += ["", "### Per-cell details", "",
              ("Spread = slowest / fastest round; load = median number of cores other processes kept busy "
              "while the cell was timed; build + first call = median over rounds (fresh process each round)."), ""]
    rows = []
    for (fw, c), s in sorted(summary.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        build = (f"{sig(s['build_s'], 2)}s + {sig(s['first_call_s'], 2)}s"
                 if s.get("build_s") is not None else "")
        load = sig(s["load_cores"], 2) if s.get("load_cores") is not None else ""
        spread = sig(s["spread"]) if s.get("spread") else ""
        rows.append([f"{c}|{fw}", s["rounds"], spread, load, build, _check_note(fw, c, s)])
    lines += _table(["cell", "rounds", "spread", "load (cores)", "build + first call", "check / notes"], rows)
    errors = [(k, s["error"]) for k, s in summary.items() if s.get("error")]
    if errors:
        lines += ["", "### Errors", ""]
        lines += [f"- `{w}|{fw}`: {err}" for (fw, w), err in errors]
    return "\n".join(lines)


def _yardsticks(summary, workloads):
    """W4 against the NumPy copy bandwidth, W5 against the plain-NumPy floor."""
    lines = []
    g4, copy = summary.get(("graphdl", "W4"), {}), summary.get(("numpy-copy", "W4"), {})
    if "W4" in workloads and copy.get("value_s"):
        copy_bw = W.W4_BYTES / copy["value_s"] / 1e9
        lines += ["", "### W4 against memory bandwidth (same run)", "",
                  ("NumPy copy = `np.copyto` of the 16 Mi float32 input into a preallocated array: the same "
                  "128 MiB of traffic (read + write) as W4."), ""]
        row = ["W4, GB/s", f"{sig(copy_bw)} GB/s ({sig(copy['value_s'] * 1e3)} ms)"]
        if g4.get("value_s"):
            g_bw = W.W4_BYTES / g4["value_s"] / 1e9
            frac = g_bw / copy_bw
            verdict = "met" if frac >= W4_COPY_TARGET else "not met"
            row += [f"{sig(g_bw)} GB/s", f"{frac:.1%}", f"≥ {W4_COPY_TARGET:.0%}: {verdict}"]
        else:
            row += ["—", "—", f"≥ {W4_COPY_TARGET:.0%}"]
        lines += _table(["", "NumPy copy", "graphdl", "graphdl / copy", "target"], [row])
    g5, floor = summary.get(("graphdl", "W5"), {}), summary.get(("numpy", "W5"), {})
    if "W5" in workloads and floor.get("value_s"):
        lines += ["", "### W5 against the plain-NumPy floor (same run)", "",
                  "Floor = the same two matmuls, bias adds and ReLU in plain NumPy, no framework.", ""]
        row = ["W5, µs/call", f"{sig(floor['value_s'] * 1e6)} µs"]
        if g5.get("value_s"):
            row += [f"{sig(g5['value_s'] * 1e6)} µs", f"{sig(g5['value_s'] / floor['value_s'])}×",
                    f"{sig((g5['value_s'] - floor['value_s']) * 1e6)} µs"]
        else:
            row += ["—", "—", "—"]
        lines += _table(["", "NumPy floor", "graphdl", "graphdl / floor", "graphdl overhead per call"], [row])
    return lines
