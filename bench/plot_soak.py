"""Plot a soak CSV (seconds,run,rss_kb,fds,threads,cpu_s) to a PNG: RSS, open fds and CPU over time."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = list(csv.DictReader(open(sys.argv[1])))
t = [float(r["seconds"]) / 60 for r in rows]
fig, ax = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
ax[0].plot(t, [int(r["rss_kb"]) / 1024 for r in rows], ".", ms=3)
ax[0].set_ylabel("RSS (MB)")
ax[1].plot(t, [int(r["fds"]) for r in rows], ".", ms=3)
ax[1].set_ylabel("open fds")
ax[2].plot(t, [float(r["cpu_s"]) for r in rows], ".", ms=3)
ax[2].set_ylabel("CPU s (per run)")
ax[2].set_xlabel("minutes (each run restarts the count)")
for r0, r1 in zip(rows, rows[1:]):
    if r0["run"] != r1["run"]:
        for a in ax:
            a.axvline(float(r1["seconds"]) / 60, color="grey", lw=0.5)
fig.suptitle("mmbot soak: restarts marked by vertical lines")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=90)
