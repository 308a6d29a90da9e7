"""PNG plots of a report (matplotlib, optional: requirements-backtest.txt)."""

from __future__ import annotations

import os


def write_plots(report: dict, out_dir: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    eq = report["equity_curve"]
    t0 = eq[0][0] if eq else 0
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot([(t - t0) / 60_000 for t, _ in eq], [float(v) for _, v in eq])
    ax.set(title="Equity (marked P&L, USD)", xlabel="minutes")
    paths.append(_save(fig, out_dir, "equity.png"))
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for cid, m in report["markets"].items():
        pts = m["inventory_path"]
        if pts:
            ax.step(
                [(t - t0) / 60_000 for t, _ in pts],
                [float(v) for _, v in pts],
                where="post",
                label=(m["slug"] or cid)[:24],
            )
    ax.set(title="Net YES inventory (shares)", xlabel="minutes")
    paths.append(_save(fig, out_dir, "inventory.png"))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    mk = report["total"]["markouts"]
    xs = [h for h in mk if mk[h]["per_share"] is not None]
    ax.plot(xs, [float(mk[h]["per_share"]) for h in xs], marker="o")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(title="Markout vs mid (USD/share)", xlabel="horizon")
    paths.append(_save(fig, out_dir, "markouts.png"))
    plt.close("all")
    return paths


def _save(fig, out_dir: str, name: str) -> str:
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata={"Software": None})
    return path
