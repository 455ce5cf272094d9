"""`make bench`: WinRM cost per host, fleet audit wall time, the wire probe and the figures at
fleet scale, from one run.

Not a test: it asserts no timings (the machine is shared and timings are noisy). It prints every
figure with its ratio, and each target met or not met with its numbers; writes
bench/results/winrm.json, fleet.json, overlap.json and scale.json (the probe benchmark writes
probe.json), and regenerates docs/performance.md with the machine's description.

Usage: python bench/run.py [--only winrm,fleet,overlap,probe,scale,report,probe-scale]
       [--sizes 50,200] [--forks 20,50] [--playbook-sizes 50,200] [--probe-rounds 1]
       [--no-enforce-check] [--scale-sizes 200,1000,2000] [--scale-forks 50]
       [--report-hosts 10000] [--probe-endpoints 10000]
Every run goes to the lab on 127.0.0.0/8; the conventional comparison needs ansible.windows,
which this script installs into .venv-bench the first time (pip, the `ansible` package).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for path in (BENCH, REPO / "tests", REPO / ".collections"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bench_venv  # noqa: E402
import figures  # noqa: E402
import fleet_scale  # noqa: E402
import fleet_time  # noqa: E402
import machine  # noqa: E402
import perf_doc  # noqa: E402
import probe_figures  # noqa: E402
import probe_overlap  # noqa: E402
import probe_scale  # noqa: E402
import report_scale  # noqa: E402
import wire_cost  # noqa: E402

SECTIONS = "winrm,fleet,overlap,probe,scale,report,probe-scale"

RESULTS = BENCH / "results"


def _ints(text: str) -> List[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _write(name: str, data: Dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS / f"{name}.json.tmp"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    tmp.replace(RESULTS / f"{name}.json")


def _link_collection() -> None:
    link = REPO / ".collections" / "ansible_collections" / "winhardening" / "smb"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO, target_is_directory=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=SECTIONS, help=f"sections to run ({SECTIONS})")
    parser.add_argument("--sizes", type=_ints, default=[50, 200], help="fleet sizes")
    parser.add_argument("--forks", type=_ints, default=[20, 50], help="fork counts")
    parser.add_argument(
        "--playbook-sizes",
        type=_ints,
        default=None,
        help="sizes at which the audit playbook is timed too (default: every size)",
    )
    parser.add_argument("--probe-rounds", type=int, default=1)
    parser.add_argument(
        "--no-enforce-check",
        action="store_true",
        help="skip the enforce run across the whole fleet (state vs report)",
    )
    parser.add_argument(
        "--scale-sizes",
        type=_ints,
        default=[200, 1000, 2000],
        help="fleet sizes of the scale section (the targets compare 200 and 1000)",
    )
    parser.add_argument("--scale-forks", type=int, default=50)
    parser.add_argument("--report-hosts", type=int, default=10000)
    parser.add_argument("--probe-endpoints", type=int, default=10000)
    args = parser.parse_args()
    sections = set(args.only.split(","))
    _link_collection()
    started = time.monotonic()
    desc = machine.describe()
    when = time.strftime("%Y-%m-%d", time.gmtime())
    wire: Optional[Dict[str, Any]] = None
    fleet: Optional[Dict[str, Any]] = None
    probe: Optional[Dict[str, Any]] = None
    overlap: Optional[Dict[str, Any]] = None
    scale: Optional[Dict[str, Any]] = None
    report: Optional[Dict[str, Any]] = None
    probe_big: Optional[Dict[str, Any]] = None

    with tempfile.TemporaryDirectory(prefix="smb-bench-") as tmp:
        work = Path(tmp)
        if "winrm" in sections:
            bench_collections = bench_venv.ensure()
            desc["ansible_windows"] = bench_venv.windows_collection_version()
            print("== WinRM round trips and bytes per host (demo fleet)", flush=True)
            wire = wire_cost.measure(work / "winrm", bench_collections)
            wire["machine"] = desc
            _write("winrm", wire)
            print(figures.text_table(figures.WIRE_HEADER, figures.wire_rows(wire)), flush=True)
        if "fleet" in sections:
            print("== fleet audit wall time vs the raw floor", flush=True)
            fleet = fleet_time.measure(
                work / "fleet",
                args.sizes,
                args.forks,
                args.playbook_sizes if args.playbook_sizes is not None else args.sizes,
                enforce_check=not args.no_enforce_check,
            )
            fleet["machine"] = desc
            _write("fleet", fleet)
            print(figures.text_table(figures.FLEET_HEADER, figures.fleet_rows(fleet)), flush=True)
            print(figures.concurrency_line(fleet), flush=True)
        if "overlap" in sections:
            print("== the wire probe during the read (one slow host, a silent SMB port)")
            overlap = probe_overlap.measure(work / "overlap")
            overlap["machine"] = desc
            _write("overlap", overlap)
        if "probe" in sections:
            probe = probe_figures.measure(args.probe_rounds)
            rows = figures.probe_rows(probe)
            if rows:
                print(figures.text_table(figures.PROBE_HEADER, rows), flush=True)
        if "scale" in sections:
            print(
                f"== fleet audit at scale vs the raw floor (forks {args.scale_forks})", flush=True
            )
            scale = fleet_scale.measure(work / "scale", args.scale_sizes, args.scale_forks)
            print(figures.text_table(figures.SCALE_HEADER, figures.scale_rows(scale)))
            rows = figures.breakdown_rows(scale)
            if rows:
                print(figures.text_table(figures.breakdown_header(scale), rows))
            once = figures.dominant_run_once(scale)
            for line in [*figures.scale_verdicts(scale), *([once] if once else [])]:
                print(f"   {line}", flush=True)
        if "report" in sections:
            print(f"== the report for {args.report_hosts:,} synthetic hosts", flush=True)
            report = report_scale.measure(args.report_hosts)
            if "error" not in report:
                print(figures.text_table(figures.REPORT_HEADER, figures.report_rows(report)))
            for line in figures.report_verdicts(report):
                print(f"   {line}", flush=True)
        if "probe-scale" in sections:
            print(f"== the wire probe over {args.probe_endpoints:,} endpoints", flush=True)
            probe_big = probe_scale.measure(work / "probe-scale", args.probe_endpoints)
            rows = figures.probe_scale_rows(probe_big)
            if rows:
                print(figures.text_table(figures.PROBE_SCALE_HEADER, rows))
            print(f"   {figures.probe_scale_verdict(probe_big)}", flush=True)
        if scale or report or probe_big:
            scale_json: Dict[str, Any] = {
                "fleet": scale,
                "report": report,
                "probe": probe_big,
                "machine": desc,
            }
            _write("scale", scale_json)

    desc["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    doc = perf_doc.write(
        perf_doc.render(
            desc,
            wire,
            fleet,
            probe,
            when,
            overlap=overlap,
            scale=scale,
            report=report,
            probe_scale=probe_big,
        )
    )
    print(f"== wrote {doc.relative_to(REPO)} and bench/results/*.json", flush=True)
    print(f"== bench took {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
