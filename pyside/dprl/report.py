"""`dprl report`: comparisons/REPORT.md, rendered from the result files under comparisons/results
alone, in seconds, and the same text every time from the same files (no clock, no machine read
at render time): a test renders it again and fails when the committed REPORT.md differs.

Every figure in the report comes from a result file; the research notes that explain figures
(why a trainer plateaus, what was tried) are dated notes in docs/notes/, which the report links to.
"""

from __future__ import annotations

import math
from pathlib import Path

from dprl import schema

ROW = {"claim": str, "published": str, "measured": str, "command": str, "holds": str}
RESULT_SCHEMA = {"rows": [ROW], "command?": str, "quick?": bool, "made?": dict, "kept?": dict}
BENCHMARK_SCHEMA = {"command?": str}
# The reproductions in the order of the report (dprl.reproduce.REPRODUCTIONS' names; repeated
# here so that rendering imports nothing heavy).
ORDER = ["trebuchet_gradient", "julia_trebuchet_gradient", "crosscheck", "trebuchet_aimer", "aimer_2019", "cartpole", "pendulum", "dp_vs_rl"]
NOTES = Path(__file__).resolve().parents[2] / "docs" / "notes"


def read_result(path: Path, file_schema=RESULT_SCHEMA) -> dict:
    return schema.read(path, file_schema, "reproduction result file")


def kept_note(payload: dict) -> str:
    """"from <date>, <commit>, not rerun here: <reason>. " for a result kept by a reproduction that
    could not run, else ""."""
    kept = payload.get("kept")
    if not isinstance(kept, dict):
        return ""
    return f"from {kept.get('from', 'an unrecorded date and commit')}, not rerun here: {kept.get('reason', 'unknown')}. "


def measured_cell(payload: dict, row: dict) -> str:
    return ("(quick) " if payload.get("quick") else "") + kept_note(payload) + row["measured"]


def interval(estimate, digits: int = 0, unit: str = "") -> str:
    """"12,345 [10,000, 15,000]": a point and its 95 % interval; "not reached" for an infinite part."""
    def number(v):
        return "not reached" if v is None or (isinstance(v, float) and math.isinf(v)) else f"{v:,.{digits}f}{unit}"

    return f"{number(estimate['point'])} [{number(estimate['low'])}, {number(estimate['high'])}]"


def _made(made) -> str:
    if not isinstance(made, dict) or not made:
        return "not recorded"
    parts = [str(made.get("date", "?"))[:10], f"commit {made.get('commit', '?')}", f"dprl {made.get('dprl', '?')}",
             f"Python {made.get('python', '?')}", f"torch {made.get('torch', '?')}", f"SB3 {made.get('stable_baselines3') or '—'}",
             f"Gymnasium {made.get('gymnasium') or '—'}"]
    if "julia" in made:
        parts.append(f"Julia {made['julia']}" + (f", DPRL {made['dprl_julia']}" if "dprl_julia" in made else ""))
    parts.append(f"{made.get('torch_threads', '?')} thread(s), {made.get('jobs', 1)} job(s), host {made.get('host', '?')}")
    return "; ".join(parts)


def benchmark_cells(payload: dict) -> tuple[str, str]:
    """A benchmark's "goal met" and "headline" cells: its own fields where it wrote them, else
    (bench_gpu.py before it wrote a headline) a count and list of the goals it scored, read from
    its `goals` ({name: {measured, goal, met}})."""
    met, line = payload.get("goal_met"), payload.get("headline")
    goals = payload.get("goals")
    scored = {name: g for name, g in goals.items() if isinstance(g, dict) and isinstance(g.get("met"), bool)
              and isinstance(g.get("measured"), (int, float)) and isinstance(g.get("goal"), (int, float))} if isinstance(goals, dict) else {}
    if met is None and scored:
        met = f"{sum(g['met'] for g in scored.values())} of {len(scored)} goals"
    if line is None and scored:
        line = f"on {payload.get('device', '?')}: " + "; ".join(
            f"{name} {g['measured']:.4g} (goal {g['goal']:.3g}, {'met' if g['met'] else 'not met'})" for name, g in scored.items())
    met = "—" if met is None else met if isinstance(met, str) else ("yes" if met else "no")
    return met, "—" if line is None else line


def comparison_section(payload: dict) -> list[str]:
    """The DP-vs-RL comparison with intervals: per environment and method, the seeds, the final
    score (median and IQM with 95 % bootstrap intervals), the first crossing of the evaluation
    curve at the first threshold, and each DP method's probability of improving on each RL method."""
    summary = payload.get("summary")
    if not isinstance(summary, dict) or not summary:
        return []
    lines = ["", "## DP vs RL, with intervals over seeds", "",
             "Final score: the final policy on the test episodes (never the best of its evaluations on them). Intervals: 95 % "
             "percentile bootstrap over seeds (10,000 resamples), rliable's definitions (IQM: mean of the middle half of the "
             "seeds). Steps and seconds: the first crossing of the evaluation curve at the threshold (a seed that never "
             "crosses counts as infinite, \"not reached\"). P(DP > RL): the probability that a DP run's final score beats an "
             "RL run's (ties ½), with its interval. Source: `results/dp_vs_rl.json`."]
    for env, methods in summary.items():
        threshold = next(iter(next(iter(methods.values()))["reached"]))
        lines += ["", f"**{env}** (first crossing at {float(threshold):g}{' % miss, lower is better' if env == 'trebuchet' else ''})", "",
                  "| method | seeds | final, median [95 % CI] | final, IQM [95 % CI] | steps to threshold, median [CI] | seconds, median [CI] | P(DP > RL) [CI] | stale runs |",
                  "|---|---|---|---|---|---|---|---|"]
        for method, s in methods.items():
            reached = s["reached"][threshold]
            improvement = "; ".join(f"vs {other}: {p['point']:.2f} [{p['low']:.2f}, {p['high']:.2f}]" for other, p in s.get("improvement", {}).items())
            stale = sum(1 for why in s.get("stale", []) if why)
            stale_cell = f"{stale} of {s['n']}" if stale else "—"
            digits = 2 if env != "cartpole" else 1
            lines.append(f"| {method} | {s['n']} | {interval(s['final_median'], digits)} | {interval(s['final_iqm'], digits)} | "
                         f"{interval(reached['median_env_steps'])} | {interval(reached['median_seconds'])} | {improvement or '—'} | "
                         f"{stale_cell} |")
    fan_out = payload.get("fan_out")
    if isinstance(fan_out, dict) and fan_out.get("runs"):
        engine = f"{fan_out['jobs']} job(s)" if fan_out.get("jobs") else f"Ray at {fan_out.get('ray')}"
        line = (f"Making the runs: {fan_out['runs']} run(s) on {engine} took {fan_out['wall_s'] / 60:.1f} min of wall time "
                f"({str(fan_out.get('date', '?'))[:10]}); their own training times sum to {fan_out['total_s'] / 60:.1f} min, the longest "
                f"{fan_out['longest_s'] / 60:.1f} min")
        if fan_out.get("ratio") is not None:
            line += (f", so the bound max(total ÷ jobs, longest) is {fan_out['bound_s'] / 60:.1f} min and the wall time is "
                     f"{fan_out['ratio']:.2f}× it (goal: ≤ 1.15× on an otherwise idle machine)")
        lines += ["", line + ". `python comparisons/dp_vs_rl.py --plan N` gives the expected time on N workers."]
    stale_reasons = sorted({why for methods in summary.values() for s in methods.values() for why in s.get("stale", []) if why})
    if stale_reasons:
        lines += ["", f"Stale runs were reused with `--reuse-stale` ({'; '.join(stale_reasons)}); rerun them with "
                      "`python comparisons/dp_vs_rl.py` (without `--reuse-stale`) to measure them with the code here."]
    return lines


def render_text(out: Path) -> str:
    """REPORT.md's text from the result files under out/results (and the list of figures and notes)."""
    out = Path(out)
    results = out / "results"
    payloads = {name: read_result(results / f"{name}.json") for name in ORDER if (results / f"{name}.json").exists()}
    quick = any(p.get("quick") for p in payloads.values())
    lines = [
        "# Reproducing \"Differentiable Programming vs Reinforcement Learning\" (Flux blog, 2019)",
        "",
        "Rendered by `dprl report` from the result files in `results/` (each written by `dprl reproduce` or a benchmark, with "
        "where, when and by what code it was made; see Provenance below). Rows marked (quick) were measured with the smaller "
        "budgets of `--quick`; their figures are indicative. Rows marked \"not rerun here\" are kept from an earlier run.",
    ]
    if quick:
        lines += ["", "**Quick run:** smaller budgets than the full `dprl reproduce`; figures are indicative."]
    lines += ["", "| claim | published | measured | command | holds | source |", "|---|---|---|---|---|---|"]
    for name, payload in payloads.items():
        for row in payload["rows"]:
            cells = [row["claim"], row["published"], measured_cell(payload, row), f"`{row['command']}`", row["holds"], f"`results/{name}.json`"]
            lines.append("| " + " | ".join(cells) + " |")
    if "dp_vs_rl" in payloads:
        lines += comparison_section(payloads["dp_vs_rl"])
    benchmarks = sorted(results.glob("bench_*.json"))
    if benchmarks:
        lines += ["", "## Benchmarks", "", "Written by the scripts in `comparisons/`, not by `dprl reproduce`; rerun them with the command shown.", "",
                  "| benchmark | goal met | headline | command | source |", "|---|---|---|---|---|"]
        for path in benchmarks:
            payload = schema.read(path, BENCHMARK_SCHEMA, "benchmark result file")
            met, line = benchmark_cells(payload)
            lines.append(f"| {path.stem} | {met} | {line} | `{payload.get('command', '?')}` | `results/{path.name}` |")
    lines += ["", "## Provenance", "", "| result file | made (date, commit, versions, threads, jobs, host) | status |", "|---|---|---|"]
    for name, payload in payloads.items():
        status = kept_note(payload).rstrip(". ") or "measured by its reproduction"
        lines.append(f"| `results/{name}.json` | {_made(payload.get('made'))} | {status} |")
    for path in benchmarks:
        payload = schema.read(path, BENCHMARK_SCHEMA, "benchmark result file")
        lines.append(f"| `results/{path.name}` | {_made(payload.get('made'))} | written by `{payload.get('command', '?')}` |")
    figures = sorted(f for f in (out / "figures").glob("*") if f.suffix != ".json" and "partial" not in f.name) if (out / "figures").is_dir() else []
    if figures:
        lines += ["", "## Figures", ""] + [f"- `figures/{f.name}`" for f in figures]
    notes = sorted(NOTES.glob("*.md")) if NOTES.is_dir() else []
    if notes:
        lines += ["", "## Research notes", "", "Dated notes on what was tried and why, with the command behind each figure:", ""]
        lines += [f"- [{n.stem}](../docs/notes/{n.name})" for n in notes]
    return "\n".join(lines) + "\n"


def render(out="comparisons") -> Path:
    """Write out/REPORT.md from out/results; returns its path."""
    out = Path(out)
    if not (out / "results").is_dir():
        raise ValueError(f"{out / 'results'} is not a folder: nothing to render a report from (run `dprl reproduce --out {out}` first)")
    report = out / "REPORT.md"
    text = render_text(out)
    tmp = report.with_name(report.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(report)
    return report


def claims(out="comparisons") -> list[tuple[str, str, str]]:
    """(claim, measured in short, holds) of every row, for the terminal."""
    results = Path(out) / "results"
    rows = []
    for name in ORDER:
        path = results / f"{name}.json"
        if path.exists():
            payload = read_result(path)
            rows += [(row["claim"], short(measured_cell(payload, row)), row["holds"]) for row in payload["rows"]]
    return rows


def short(text: str, width: int = 100) -> str:
    """The first clause of `text`, at most `width` characters."""
    first = text.split("; ")[0]
    return first if len(first) <= width else first[: width - 1].rsplit(" ", 1)[0] + "…"


def claims_table(out="comparisons") -> str:
    """The claims as a plain-text table: claim, measured in short, holds."""
    rows = claims(out)
    if not rows:
        return "no claims measured yet"
    width = min(60, max(len(c) for c, _, _ in rows))
    held = min(12, max(len(h) for _, _, h in rows))
    clip = lambda text, n: text if len(text) <= n else text[: n - 1] + "…"  # noqa: E731
    lines = [f"{'claim':<{width}}  {'holds':<{held}}  measured (in short; in full in the report)", f"{'-' * width}  {'-' * held}  {'-' * 44}"]
    lines += [f"{clip(c, width):<{width}}  {clip(h, held):<{held}}  {m}" for c, m, h in rows]
    return "\n".join(lines)
