#!/usr/bin/env python3
"""The table bench/run.sh prints: medians over rounds, ratios wellknownd/nginx per round
(min-max), and the targets of the benchmark issue."""
import statistics
import sys

results, memory, startup, binary, nginx_version, version, rounds, duration = sys.argv[1:9]

rows = [l.rstrip("\n").split("\t") for l in open(results)][1:]
runs = {}  # (measure, server) -> list of rows, rounds >= 1 only (0 is the warm-up)
for r in rows:
    if r[2] != "0":
        runs.setdefault((r[0], r[1]), []).append(r)

# Issue 17's targets (wellknownd / nginx, CPU per operation).
TARGETS = {"h1_tls": 0.80, "h2_tls": 0.50, "plain_http1": 0.95, "full_ecdsa": 0.55, "full_rsa": 0.90, "resumed": 0.55}
LABELS = {
    "h1_tls": "HTTP/1.1 over TLS, keep-alive (wrk -c50)",
    "h2_tls": "HTTP/2 over TLS (h2load -c50 -m10)",
    "plain_http1": "plain HTTP/1.1 (wrk -c50)",
    "full_ecdsa": "full TLS handshake, ECDSA P-256",
    "full_rsa": "full TLS handshake, RSA-2048",
    "resumed": "resumed TLS handshake (wrk, Connection: close)",
}

def med(xs):
    return statistics.median(xs) if xs else float("nan")


def per_round(m, server, over):
    """CPU per operation of server over that of `over`, one ratio per round."""
    a, b = runs.get((m, over), []), runs.get((m, server), [])
    return [float(y[4]) / float(x[4]) for x, y in zip(a, b) if float(x[4]) > 0]

def cell(ratios):
    return f"{med(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})" if ratios else "-"


print(f"wellknownd {version} vs nginx {nginx_version}: {rounds} rounds of {duration} s after a warm-up, "
      "server pinned to one CPU, load generator to the other.\n")
print("| measure | nginx CPU µs/op | wellknownd CPU µs/op | ratio (min-max) | target | nginx ops/s | wellknownd ops/s | nginx p99 ms | wellknownd p99 ms |")
print("|---|---|---|---|---|---|---|---|---|")
for m, label in LABELS.items():
    n, w = runs.get((m, "ngx"), []), runs.get((m, "wkd"), [])
    if not n or not w:
        continue
    ratios = per_round(m, "wkd", "ngx")
    target = TARGETS[m]
    verdict = "" if target is None else (f"<= {target:.2f} " + ("met" if med(ratios) <= target else "NOT met"))
    p99 = lambda rs: "-" if m.startswith("full") else f"{med([float(r[6]) for r in rs]):.2f}"
    print(f"| {label} | {med([float(r[4]) for r in n]):.2f} | {med([float(r[4]) for r in w]):.2f} | "
          f"{cell(ratios)} | {verdict} | "
          f"{med([float(r[5]) for r in n]):.0f} | {med([float(r[5]) for r in w]):.0f} | {p99(n)} | {p99(w)} |")

# Reference points: the plain hyper + tokio-rustls server of bench/baseline, per provider.
BASES = [(s, s[len("base_"):]) for s in sorted({r[1] for r in rows}) if s.startswith("base_")]
if BASES:
    print("\nReference points: CPU per operation as a ratio to nginx's, median (min-max) over rounds, for "
          "wellknownd and for bench/baseline (plain hyper + tokio-rustls, one fixed body, no routing, "
          "limits or timeouts) with each crypto provider; the last columns compare wellknownd with the baselines.\n")
    print("| measure | wellknownd / nginx | " + " | ".join(f"baseline {p} / nginx" for _, p in BASES)
          + " | " + " | ".join(f"wellknownd / baseline {p}" for _, p in BASES) + " | target |")
    print("|---|---|" + "---|" * (2 * len(BASES)) + "---|")
    for m, label in LABELS.items():
        if not runs.get((m, "ngx")) or not any(runs.get((m, b)) for b, _ in BASES):
            continue
        target = "" if TARGETS[m] is None else f"<= {TARGETS[m]:.2f}"
        print(f"| {label} | {cell(per_round(m, 'wkd', 'ngx'))} | "
              + " | ".join(cell(per_round(m, b, "ngx")) for b, _ in BASES) + " | "
              + " | ".join(cell(per_round(m, "wkd", b)) for b, _ in BASES) + f" | {target} |")

# The same daemon built on the other crypto providers (bench/run.sh's ALSO).
ALSO = [(s, s[len("wkd_"):]) for s in sorted({r[1] for r in rows}) if s.startswith("wkd_")]
if ALSO:
    print("\nwellknownd by crypto provider: CPU per operation as a ratio, median (min-max) over rounds; "
          "the default build (*ring*) is `wellknownd`.\n")
    print("| measure | wellknownd / nginx | " + " | ".join(f"wellknownd on {p} / nginx | {p} / ring" for _, p in ALSO) + " |")
    print("|---|---|" + "---|---|" * len(ALSO))
    for m, label in LABELS.items():
        if not runs.get((m, "ngx")) or not runs.get((m, "wkd")):
            continue
        print(f"| {label} | {cell(per_round(m, 'wkd', 'ngx'))} | "
              + " | ".join(f"{cell(per_round(m, a, 'ngx'))} | {cell(per_round(m, a, 'wkd'))}" for a, _ in ALSO) + " |")

mem = [l.rstrip("\n").split("\t") for l in open(memory)]
def mem_of(kind, server):
    for r in mem:
        if r[0] == kind and r[1] == server:
            return int(r[7]), int(r[8]), r[3]
    return None

peak = {s: max([int(r[7]) for r in rows if r[1] == s and r[0] in ("h1_tls", "h2_tls", "plain_http1") and r[2] != "0"] or [0]) for s in ("ngx", "wkd")}
mib = lambda kib: f"{kib / 1024:.1f}"
print("\n| memory (all processes of the server) | nginx RSS MiB | nginx PSS MiB | wellknownd RSS MiB | wellknownd PSS MiB | target |")
print("|---|---|---|---|---|---|")
for kind, label, target in [("idle_memory", "idle after start", "wellknownd RSS <= 8 MiB"), ("held_memory", "idle keep-alive TLS connections held", "wellknownd <= nginx")]:
    n, w = mem_of(kind, "ngx"), mem_of(kind, "wkd")
    if n and w:
        held = f" ({w[2]})" if kind == "held_memory" else ""
        print(f"| {label}{held} | {mib(n[0])} | {mib(n[1])} | {mib(w[0])} | {mib(w[1])} | {target} |")
print(f"| peak RSS under the 50-connection loads | {mib(peak['ngx'])} | - | {mib(peak['wkd'])} | - | wellknownd <= 16 MiB |")

st = [l.rstrip("\n").split("\t") for l in open(startup)]
def times(server):
    return sorted(float(r[3]) for r in st if r[1] == server and r[3])
n, w = times("ngx"), times("wkd")
print(f"\n| start-up to the first 200 over TLS | nginx | wellknownd | target |\n|---|---|---|---|")
print(f"| median (min-max) of {len(w)}, ms | {med(n):.1f} ({n[0]:.1f}-{n[-1]:.1f}) | {med(w):.1f} ({w[0]:.1f}-{w[-1]:.1f}) | <= 50 ms |")
print(f"\nStripped release binary: {int(binary) / 1048576:.2f} MiB (target <= 6 MiB).")
for a, p in ALSO:
    size = dict(x.split("=") for x in __import__("os").environ.get("SIZES", "").split()).get(p)
    idle, held = mem_of("idle_memory", a), mem_of("held_memory", a)
    print(f"On {p}: binary {int(size) / 1048576:.2f} MiB" if size else f"On {p}:", end="")
    if idle:
        print(f", idle RSS {mib(idle[0])} MiB", end="")
    if held:
        print(f", {held[2]}: RSS {mib(held[0])} MiB", end="")
    print(".")
