"""The fleet report for a synthetic fleet (10,000 hosts): how long its parts take.

Facts in the shape of docs/facts-schema.md are made for every host (the report tests' sample
builder, varied: profiles, OS families, GPO owners, SMB1, the wire, unsigned peers, warnings,
failed and unreachable hosts), then the report model's own functions are timed on them, as the
report action and the merge use them:

- ``build_report`` (rows, fleet matrix, summary);
- the three renderers the report writes (JSON, CSV, HTML: ``_report_write.RENDERERS``);
- ``run_payload``: this run's rows packed for ``set_stats``;
- the merge of 4 slices: each slice's payload decoded (``sources_from``) and ``merge``d into one
  report, then that report rendered in the three formats, as ``merge_reports`` writes it.

Run in a process of its own (``measure``), so that its peak RSS is the report's alone.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TARGET_S = 5.0
SLICES = 4
GENERATED_AT = "2026-12-01T00:00:00Z"


def measure(hosts: int) -> Dict[str, Any]:
    """Run this file in a child process and return what it measured."""
    proc = subprocess.run(
        [sys.executable, __file__, str(hosts)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        return {"hosts": hosts, "error": (proc.stdout + proc.stderr)[-1500:]}
    data: Dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def synthetic_hosts(count: int) -> List[Tuple[str, Optional[Dict[str, Any]], Optional[Any]]]:
    """(name, facts, outcome) per host, deterministic; about 1% unreachable, 1% failed."""
    from unit.plugins.plugin_utils.report_samples import make_facts  # noqa: PLC0415

    from ansible_collections.winhardening.smb.plugins.module_utils import catalog  # noqa: PLC0415

    names = [s.name for s in catalog.SETTINGS]
    profiles = ("member_server", "member_workstation", "domain_controller", "standalone_server")
    families = (
        ("windows_server_2016", "Microsoft Windows Server 2016 Datacenter"),
        ("windows_server_2019", "Microsoft Windows Server 2019 Datacenter"),
        ("windows_server_2022", "Microsoft Windows Server 2022 Datacenter"),
        ("windows_server_2025", "Microsoft Windows Server 2025 Datacenter"),
        ("windows_11", "Microsoft Windows 11 Enterprise"),
    )
    out: List[Tuple[str, Optional[Dict[str, Any]], Optional[Any]]] = []
    for i in range(count):
        name = f"host{i:05d}"
        if i % 100 == 7:
            out.append((name, None, None))  # never answered: no facts, no outcome
            continue
        values = {n: bool((i >> k) & 1) or i % 3 == 0 for k, n in enumerate(names)}
        facts = make_facts(
            name,
            profiles[i % len(profiles)],
            values=values,
            gpo={names[0]: "Default Domain Policy"} if i % 5 == 0 else None,
            wire_required=values["server_require"] if i % 11 else not values["server_require"],
            smb1=i % 17 == 0,
            unsigned_peers={f"10.0.{i % 250}.{p}": p + 1 for p in range(i % 4)},
            status="failed" if i % 100 == 13 else None,
        )
        family, caption = families[i % len(families)]
        facts["os"] = {"family": family, "caption": caption}
        if i % 2:
            facts["warnings"] = ["skipping audit_unsigned_* from baseline cis: not on this OS"]
        outcome = {"mode": "audit", "changes": []}
        if i % 100 == 13:
            outcome["failure"] = "the read-back did not match"
        out.append((name, facts, outcome))
    return out


def _timed(fn: Callable[[], Any]) -> Tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return round(time.perf_counter() - started, 3), value


def _run(count: int) -> Dict[str, Any]:
    for path in (REPO / ".collections", REPO / "tests"):
        sys.path.insert(0, str(path))
    from ansible_collections.winhardening.smb.plugins.plugin_utils import (  # noqa: PLC0415
        _report_merge,
        _report_model,
        _report_write,
    )

    hosts = synthetic_hosts(count)
    timings: Dict[str, float] = {}
    sizes: Dict[str, int] = {}
    timings["build_report"], report = _timed(
        lambda: _report_model.build_report(hosts, GENERATED_AT)
    )
    for fmt in _report_write.FORMATS:
        timings[f"render_{fmt}"], text = _timed(
            lambda fmt=fmt: _report_write.RENDERERS[fmt](report)
        )
        sizes[f"{fmt}_bytes"] = len(text.encode("utf-8"))
    timings["run_payload"], payload = _timed(
        lambda: _report_merge.run_payload(report, "bench_full", {})
    )
    sizes["payload_bytes_per_host"] = round(len(payload["rows"]) / count)

    # 4 slices the way AWX cuts them (host index modulo 4), each one run's report and payload.
    payloads = {}
    for k in range(SLICES):
        part = [h for i, h in enumerate(hosts) if i % SLICES == k]
        slice_report = _report_model.build_report(part, f"2026-12-01T00:00:0{k}Z")
        key = _report_merge.run_key(f"bench_slice_{k}")
        payloads[key] = _report_merge.run_payload(slice_report, f"bench_slice_{k}", {"slice": k})
    artifacts = json.loads(json.dumps(payloads))
    timings["merge_decode"], sources = _timed(
        lambda: _report_merge.sources_from("artifacts", artifacts)
    )
    timings["merge"], merged = _timed(lambda: _report_merge.merge(sources, GENERATED_AT))
    merged_render = 0.0
    for fmt in _report_write.FORMATS:
        seconds, _text = _timed(lambda fmt=fmt: _report_write.RENDERERS[fmt](merged))
        merged_render += seconds
    timings["merge_render"] = round(merged_render, 3)
    same = merged["summary"] == report["summary"] and len(merged["hosts"]) == count
    generation = timings["build_report"] + sum(
        timings[f"render_{f}"] for f in ("json", "csv", "html")
    )
    merging = timings["merge_decode"] + timings["merge"] + timings["merge_render"]
    return {
        "hosts": count,
        "slices": SLICES,
        "timings_s": timings,
        "sizes": sizes,
        "report_s": round(generation, 3),
        "report_with_payload_s": round(generation + timings["run_payload"], 3),
        "merge_total_s": round(merging, 3),
        "merged_equals_whole": same,
        "summary_hosts": report["summary"]["hosts"],
        "by_status": report["summary"]["by_status"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "target_s": TARGET_S,
    }


if __name__ == "__main__":
    print(json.dumps(_run(int(sys.argv[1]))))
