"""Summarise `wrk --latency` outputs: cached product page, /api/v1/ping, realistic uncached.

Run by bench/serve.sh: python bench/serve_report.py RECS_OUT PING_OUT [REALISTIC_OUT]
Prints req/s, p50 and p99 of each, the throughput ratios to the ping measured in the same
server, and whether the targets hold (cached: >= 2,000 req/s, p99 < 25 ms, >= 60% of the
bare endpoint; realistic uncached traffic: >= 30% of the bare endpoint, p99 < 50 ms).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
TARGET_RPS = 2000.0
TARGET_P99_MS = 25.0
TARGET_RATIO = 0.60
TARGET_REALISTIC_RATIO = 0.30
TARGET_REALISTIC_P99_MS = 50.0


def parse(text: str) -> dict[str, float]:
    """req/s, p50 and p99 (ms) and the error count from one wrk output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if rps is None:
        raise SystemExit(f"not a wrk output:\n{text}")
    out = {"rps": float(rps.group(1))}
    for pct in ("50", "99"):
        found = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
        if found is None:
            raise SystemExit(f"no {pct}% latency line (was wrk run with --latency?)")
        out[f"p{pct}"] = float(found.group(1)) * UNITS_MS[found.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    socket = re.search(r"Socket errors:.*", text)
    out["non2xx"] = float(errors.group(1)) if errors else 0.0
    out["socket_errors"] = socket.group(0) if socket else ""  # type: ignore[assignment]
    return out


def main(recs_path: str, ping_path: str, realistic_path: str | None = None) -> int:
    recs = parse(Path(recs_path).read_text())
    ping = parse(Path(ping_path).read_text())
    realistic = parse(Path(realistic_path).read_text()) if realistic_path else None
    rows = [("recommendations (cached)", recs), ("ping (bare Flask JSON)", ping)]
    if realistic is not None:
        rows.insert(1, ("realistic (uncached)", realistic))
    for name, row in rows:
        line = f"{name:<26} {row['rps']:>9.0f} req/s   p50 {row['p50']:6.2f} ms"
        line += f"   p99 {row['p99']:6.2f} ms   non-2xx {int(row['non2xx'])}"
        if row["socket_errors"]:
            line += f"   {row['socket_errors']}"
        sys.stdout.write(line + "\n")
    ratio = recs["rps"] / ping["rps"] if ping["rps"] else 0.0
    sys.stdout.write(f"ratio recommendations/ping: {ratio:.0%}\n")
    real_ratio = realistic["rps"] / ping["rps"] if realistic and ping["rps"] else 0.0
    if realistic is not None:
        sys.stdout.write(f"ratio realistic/ping: {real_ratio:.0%}\n")
    checks = {
        f"recommendations >= {TARGET_RPS:.0f} req/s": recs["rps"] >= TARGET_RPS,
        f"recommendations p99 < {TARGET_P99_MS:.0f} ms": recs["p99"] < TARGET_P99_MS,
        f"ratio >= {TARGET_RATIO:.0%}": ratio >= TARGET_RATIO,
        "no non-2xx answers": recs["non2xx"] == 0 and ping["non2xx"] == 0,
    }
    if realistic is not None:
        checks[f"realistic ratio >= {TARGET_REALISTIC_RATIO:.0%}"] = (
            real_ratio >= TARGET_REALISTIC_RATIO
        )
        checks[f"realistic p99 < {TARGET_REALISTIC_P99_MS:.0f} ms"] = (
            realistic["p99"] < TARGET_REALISTIC_P99_MS
        )
        checks["no non-2xx realistic answers"] = realistic["non2xx"] == 0
    for label, ok in checks.items():
        sys.stdout.write(f"  [{'ok' if ok else 'MISSED'}] {label}\n")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit("usage: serve_report.py RECS_WRK_OUTPUT PING_WRK_OUTPUT [REALISTIC]")
    raise SystemExit(main(*sys.argv[1:]))
