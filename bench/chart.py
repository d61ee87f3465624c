"""bench/latency.png: p50 latency of the main requests against the number
of users, both axes logarithmic, Roster solid and scim2-server dashed."""

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

from bench.runner import Row
from bench.systems import ROSTER

_USERS = {"1k": 1_000, "100k": 100_000, "1M": 1_000_000}
_KEYS = (
    "get_user",
    "username_eq",
    "externalid_eq",
    "username_sw",
    "emails_co",
    "post_user",
    "patch_add_member_10",
)


def draw(rows: Sequence[Row], path: Path, subtitle: str) -> None:
    figure, axes = plt.subplots(figsize=(9, 5.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, key in enumerate(_KEYS):
        color = colors[index % len(colors)]
        for system in sorted({row.system for row in rows}):
            points = sorted(
                (_USERS[row.dataset], row.p50_ms)
                for row in rows
                if row.key == key and row.system == system and row.dataset in _USERS
            )
            if len(points) < 2:
                continue
            title = next(row.title for row in rows if row.key == key)
            style = "-" if system == ROSTER else "--"
            axes.plot(
                *zip(*points, strict=True),
                style,
                marker="o",
                color=color,
                label=f"{system}: {title}",
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("users in the tenant")
    axes.set_ylabel("p50 latency, ms (16 requests in flight)")
    axes.set_title(f"SCIM latency against dataset size\n{subtitle}", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    if axes.lines:
        axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
