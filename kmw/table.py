"""The text table of ``kmw run`` (``Results.format_table()``).

Two aligned blocks, success then return, one row per class, then, set off by a rule, the
**pooled** row (every trial one draw; the JSON's ``"all"``) and, with several classes, the
**class mean** row (every class weighted equally; the JSON's ``"class_mean"``). A class of the
split without a trial gets a row saying so. Footnotes say which row is which and how each
interval is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kmw.results import ClassMeanStats, GroupStats, Results

__all__ = ["format_table"]

Pair = tuple[float, float]


@dataclass
class _Row:
    name: str
    trials: str
    succ: list[str]
    succ_gain: str
    ret: list[str]
    ret_gain: str


def _signed(x: float, fmt: str) -> str:
    return f"{x:+{fmt}}"


def _rate(p: float, ci: Pair | None) -> str:
    return f"{p:.2f}" if ci is None else f"{p:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def _gain(d: float | None, ci: Pair | None, fmt: str) -> str:
    if d is None:
        return ""
    if ci is None:
        return _signed(d, fmt)
    return f"{_signed(d, fmt)} [{_signed(ci[0], fmt)}, {_signed(ci[1], fmt)}]"


def _group_row(g: GroupStats, name: str) -> _Row:
    return _Row(
        name,
        str(g.trials),
        [_rate(p, ci) for p, ci in zip(g.success_rate, g.success_ci95)],
        _gain(g.gain_success, g.gain_success_ci95, ".2f"),
        [
            f"{m:.1f} ± {se:.1f}" if se is not None else f"{m:.1f}"
            for m, se in zip(g.mean_return, g.return_se)
        ],
        _gain(g.gain_return, g.gain_return_ci95, ".1f"),
    )


def _class_mean_row(c: ClassMeanStats, name: str) -> _Row:
    return _Row(
        name,
        str(c.trials),
        [_rate(p, ci) for p, ci in zip(c.success_rate, c.success_ci95)],
        _gain(c.gain_success, c.gain_success_ci95, ".2f"),
        [
            f"{m:.1f}" if ci is None else f"{m:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]"
            for m, ci in zip(c.mean_return, c.return_ci95)
        ],
        _gain(c.gain_return, c.gain_return_ci95, ".1f"),
    )


def _block(title: str, heads: list[str], rows: list[_Row], body: int, which: str, k: int) -> list[str]:
    """Lines of one block; ``rows[:body]`` are the classes, the rest the summary rows."""
    gain = f"gain@{k}-1"
    cells = [r.succ if which == "succ" else r.ret for r in rows]
    gains = [r.succ_gain if which == "succ" else r.ret_gain for r in rows]
    name_w = max(len("task"), *(len(r.name) for r in rows))
    widths = [max(len(h), *(len(c[j]) for c in cells)) for j, h in enumerate(heads)]
    gw = max(len(gain), *(len(g) for g in gains)) if k > 1 else 0

    def line(name: str, trials: str, cs: list[str], g: str) -> str:
        text = f"{name:<{name_w}}  {trials:>6}  " + "  ".join(f"{x:<{w}}" for x, w in zip(cs, widths))
        if k > 1:
            text += f"  {g:<{gw}}"
        return text.rstrip()

    head = line("task", "trials", heads, gain)
    out = [title, head, "-" * len(head)]
    for idx, (r, c, g) in enumerate(zip(rows, cells, gains)):
        if idx == body:
            out.append("-" * len(head))
        out.append(line(r.name, r.trials, c, g))
    return out


def format_table(results: Results) -> str:
    """The table of ``results``: see the module docstring."""
    k = results.k
    rows = [_group_row(g, name) for name, g in results.tasks.items()]
    mean = results.class_mean
    for name in mean.missing:
        rows.append(_Row(name, "0", ["no trials"] + [""] * (k - 1), "", ["no trials"] + [""] * (k - 1), ""))
    body = len(rows)
    several = len(mean.classes) > 1
    rows.append(_group_row(results.pooled, "pooled"))
    if several:
        rows.append(_class_mean_row(mean, "class mean"))
    gain = f"gain@{k}-1"
    boot = "; class mean: stratified bootstrap" if several else ""
    lines = _block(
        f"success rate per attempt [95% Wilson interval{boot}]"
        + (f"; {gain}: attempt {k} - attempt 1 [95% Newcombe paired interval{boot}]" if k > 1 else ""),
        [f"succ@{j + 1}" for j in range(k)],
        rows,
        body,
        "succ",
        k,
    )
    lines.append("")
    lines += _block(
        "mean return per attempt ± standard error"
        + (" (class mean: [95% stratified bootstrap interval])" if several else "")
        + (f"; {gain} [95% paired t interval{boot}]" if k > 1 else ""),
        [f"return@{j + 1}" for j in range(k)],
        rows,
        body,
        "ret",
        k,
    )
    n = results.pooled.trials
    lines.append("")
    lines.append(
        "each row's figures rest on its 'trials' trials (attempt i of each; gains paired within trials)"
    )
    if several:
        counts = sorted({len([t for t in results.trials if t.task == c]) for c in mean.classes})
        balance = (
            f"every class has {counts[0]} trials, so the two means agree"
            if len(counts) == 1
            else f"classes have {counts[0]} to {counts[-1]} trials, so the two means differ"
        )
        lines.append(
            f'pooled = all {n} trials as one sample (JSON "all"); class mean = the mean of the '
            f'{len(mean.classes)} classes\' figures, each class weighted equally (JSON "class_mean", '
            f"Meta-World's way); {balance}"
        )
        if mean.method == "stratified-bootstrap-percentile":
            lines.append(
                "class mean intervals: 95% percentile, stratified bootstrap "
                "(trials resampled within each class)"
            )
        else:
            lines.append(f"class mean intervals: {mean.interval}")
        if mean.missing:
            lines.append(
                f"{len(mean.missing)} of the split's {len(mean.classes) + len(mean.missing)} classes had no "
                "trial and are in neither mean (use --per-class)"
            )
    else:
        lines.append(f"'pooled' pools all {n} trials (one class: the class mean is the same)")
    return "\n".join(lines)
