# Copyright: contributors to winhardening.smb
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One fleet report from several runs: job slices, or reports written one per run.

FOR INTERNAL COLLECTION USE ONLY. Pure functions: no Ansible, no files.

Each run of the report publishes its host rows (``_report_model.host_row``'s output, whole)
under a ``set_stats`` key of its own, ``smb_signing_run_<run id>`` (``run_payload``), so that
AWX's shallow merge of slice artifacts (``dict.update`` in finish order) keeps every slice. The
rows travel as JSON compressed with zlib and encoded in base64: a fleet's rows repeat the same
keys and values, which zlib folds, and the rows stay exactly what the report has (whatever a
later facts schema adds to them) instead of a second, hand-kept format.

``merge`` takes the sources (whole reports or run payloads), refuses sources whose baselines
differ or whose format it does not know, keeps the newer row of a host seen twice, and builds
the report with ``_report_model.report_from_rows``: the fleet matrix and the summary are
recomputed from all the rows, as one run over those hosts would compute them.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ._report_model import REPORT_SCHEMA_VERSION, report_from_rows

Json = Dict[str, Any]

RUN_KEY_PREFIX = "smb_signing_run_"
RUN_FORMAT = 1
ROWS_ENCODING = "json+zlib+base64"

_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class MergeError(ValueError):
    """A source the merge refuses, with the reason."""


def run_key(run_id: str) -> str:
    """The set_stats key of one run: a valid variable name, as AWX passes artifacts on as extra
    variables."""
    suffix = _UNSAFE.sub("_", run_id).strip("_")
    if not suffix:
        raise MergeError(f"run id {run_id!r} has no letter, digit or underscore")
    return RUN_KEY_PREFIX + suffix


def pack_rows(rows: Sequence[Json]) -> str:
    text = json.dumps(list(rows), separators=(",", ":"), sort_keys=True)
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def unpack_rows(packed: str) -> List[Json]:
    try:
        rows = json.loads(zlib.decompress(base64.b64decode(packed, validate=True)))
    except (ValueError, zlib.error) as exc:
        raise MergeError(f"the rows cannot be decoded ({exc})") from None
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and isinstance(r.get("host"), str) for r in rows
    ):
        raise MergeError("the rows are not a list of host rows")
    return rows


def run_payload(report: Mapping[str, Any], run_id: str, info: Mapping[str, Any]) -> Json:
    """What one run publishes under run_key(run_id): who ran it, a few readable numbers, and
    every host row (packed)."""
    rows = list(report["hosts"])
    return {
        "format": RUN_FORMAT,
        "schema_version": report["schema_version"],
        "run": run_id,
        "info": dict(info),
        "generated_at": report["generated_at"],
        "title": report["title"],
        "group_by": report["effective"]["groups"]["group_by"],
        "baseline": report["baseline"],
        "mode": report["mode"],
        "hosts": len(rows),
        "by_status": dict(report["summary"]["by_status"]),
        "encoding": ROWS_ENCODING,
        "rows": pack_rows(rows),
    }


@dataclass(frozen=True)
class Source:
    """One run's rows, from a report file or a published run."""

    name: str
    run: str
    generated_at: str
    rows: Tuple[Json, ...]
    title: str = ""
    group_by: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def baselines(self) -> List[str]:
        return sorted({str(r.get("baseline") or "") for r in self.rows} - {""})


def _new_source(
    name: str,
    doc: Mapping[str, Any],
    rows: Sequence[Json],
    *,
    run: object,
    group_by: object,
    info: object,
) -> Source:
    """A source; its run is named after the source when the run has no id, and its time and
    title are the document's (a report's or a published run's)."""
    return Source(
        name=name,
        run=str(run or name),
        generated_at=str(doc.get("generated_at") or ""),
        rows=tuple(rows),
        title=str(doc.get("title") or ""),
        group_by=str(group_by or ""),
        info=dict(info) if isinstance(info, Mapping) else {},
    )


def _from_report(name: str, doc: Mapping[str, Any]) -> Source:
    if doc.get("schema_version") != REPORT_SCHEMA_VERSION:
        raise MergeError(
            f"{name}: report schema_version {doc.get('schema_version')!r}, this collection "
            f"merges version {REPORT_SCHEMA_VERSION} only; write the report again with it"
        )
    rows = doc.get("hosts")
    if not isinstance(rows, list):
        raise MergeError(f"{name}: the report has no host list")
    groups = _mapping(_mapping(doc.get("effective")).get("groups"))
    run = _mapping(doc.get("run"))
    return _new_source(
        name, doc, rows, run=run.get("id"), group_by=groups.get("group_by"), info=run.get("info")
    )


def _from_run(name: str, payload: Mapping[str, Any]) -> Source:
    if payload.get("format") != RUN_FORMAT or payload.get("encoding") != ROWS_ENCODING:
        raise MergeError(
            f"{name}: run format {payload.get('format')!r} ({payload.get('encoding')!r}), "
            f"this collection merges format {RUN_FORMAT} ({ROWS_ENCODING}) only"
        )
    if payload.get("schema_version") != REPORT_SCHEMA_VERSION:
        raise MergeError(
            f"{name}: rows of report schema_version {payload.get('schema_version')!r}, this "
            f"collection merges version {REPORT_SCHEMA_VERSION} only"
        )
    try:
        rows = unpack_rows(str(payload.get("rows") or ""))
    except MergeError as exc:
        raise MergeError(f"{name}: {exc}") from None
    return _new_source(
        name,
        payload,
        rows,
        run=payload.get("run"),
        group_by=payload.get("group_by"),
        info=payload.get("info"),
    )


def sources_from(name: str, doc: object) -> List[Source]:
    """The sources one JSON document holds: a report, one published run, or a mapping of
    published runs (AWX's artifacts, or the extra variables of a workflow node) by key."""
    if not isinstance(doc, Mapping):
        raise MergeError(f"{name}: not a JSON object")
    if "hosts" in doc and "schema_version" in doc and "format" not in doc:
        return [_from_report(name, doc)]
    if "format" in doc and "rows" in doc:
        return [_from_run(name, doc)]
    runs = sorted(k for k in doc if isinstance(k, str) and k.startswith(RUN_KEY_PREFIX))
    if not runs:
        raise MergeError(
            f"{name}: neither an SMB signing report nor artifacts with {RUN_KEY_PREFIX}* keys"
        )
    found = []
    for key in runs:
        if not isinstance(doc[key], Mapping):
            raise MergeError(f"{name}: {key} is not a published run")
        found.append(_from_run(f"{name}:{key}" if name else key, doc[key]))
    return found


def _when(source: Source) -> datetime.datetime:
    """The time a source was generated (the oldest possible when it does not say)."""
    try:
        when = datetime.datetime.fromisoformat(source.generated_at.replace("Z", "+00:00"))
    except ValueError:
        return datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def _check_baselines(sources: Sequence[Source]) -> None:
    by_baseline: Dict[str, List[str]] = {}
    for source in sources:
        for baseline in source.baselines:
            by_baseline.setdefault(baseline, []).append(source.name)
    if len(by_baseline) > 1:
        raise MergeError(
            "the sources were judged against different baselines ({}); a fleet report holds "
            "one baseline: merge each baseline's sources on their own".format(
                "; ".join(f"{b}: {', '.join(names)}" for b, names in sorted(by_baseline.items()))
            )
        )


def merge(
    sources: Sequence[Source],
    generated_at: str,
    title: Optional[str] = None,
    group_by: Optional[str] = None,
) -> Json:
    """One report over every source's hosts; report["merge"] says where each row came from.

    A host in several sources keeps the row of the newest source (by generated_at; of two
    equally new, the later in ``sources``), and ``merge.duplicates`` names the rows set aside.
    """
    if not sources:
        raise MergeError("no source to merge: give report files, directories or run artifacts")
    _check_baselines(sources)
    order = sorted(range(len(sources)), key=lambda i: (_when(sources[i]), i))
    kept: Dict[str, Tuple[Json, Source]] = {}
    dropped: Dict[str, List[Source]] = {}
    for i in order:
        source = sources[i]
        for row in source.rows:
            host = row["host"]
            if host in kept:
                dropped.setdefault(host, []).append(kept[host][1])
            kept[host] = (row, source)
    group_bys = sorted({s.group_by for s in sources if s.group_by})
    report = report_from_rows(
        [row for row, _source in kept.values()],
        generated_at,
        title=title or next((s.title for s in sources if s.title), "SMB signing fleet report"),
        group_by=group_by or (group_bys[0] if group_bys else "profile"),
    )
    per_source = {id(s): 0 for s in sources}
    for _row, source in kept.values():
        per_source[id(source)] += 1
    report["merge"] = {
        "sources": [
            {
                "name": s.name,
                "run": s.run,
                "info": dict(s.info),
                "generated_at": s.generated_at,
                "hosts": len(s.rows),
                "hosts_kept": per_source[id(s)],
            }
            for s in sources
        ],
        "runs": sorted({s.run for s in sources}),
        "empty_sources": [s.name for s in sources if not s.rows],
        "hosts": len(kept),
        "rows_read": sum(len(s.rows) for s in sources),
        "duplicates": [
            {
                "host": host,
                "kept": {"source": kept[host][1].name, "generated_at": kept[host][1].generated_at},
                "set_aside": [
                    {"source": s.name, "generated_at": s.generated_at} for s in dropped[host]
                ],
            }
            for host in sorted(dropped)
        ],
    }
    return report


def coverage_line(report: Mapping[str, Any]) -> str:
    """One sentence on what a merged report covers."""
    merged = report["merge"]
    text = "{} hosts from {} sources ({} runs: {})".format(
        merged["hosts"],
        len(merged["sources"]),
        len(merged["runs"]),
        ", ".join(merged["runs"]),
    )
    if merged["empty_sources"]:
        text += "; {} empty: {}".format(
            len(merged["empty_sources"]), ", ".join(merged["empty_sources"])
        )
    if merged["duplicates"]:
        text += "; {} hosts seen twice, the newer row kept: {}".format(
            len(merged["duplicates"]),
            ", ".join(d["host"] for d in merged["duplicates"][:5])
            + (" ..." if len(merged["duplicates"]) > 5 else ""),
        )
    return text
