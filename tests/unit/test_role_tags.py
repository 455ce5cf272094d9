"""The role's tag tables and its copy of the baseline values agree with the catalog, the
baselines, the tasks and docs/role.md; the example AWX job templates set the report directory."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Set

import pytest
import yaml

from ansible_collections.winhardening.smb.plugins.module_utils import baselines, catalog

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "smb_signing"
PROFILES = (
    "domain_controller",
    "member_server",
    "standalone_server",
    "member_workstation",
    "standalone_workstation",
)


def _vars() -> Dict[str, Any]:
    data: Dict[str, Any] = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    return data


def _catalog_tags() -> Dict[str, str]:
    tags = {}
    for s in catalog.SETTINGS:
        tags[f"rule_{s.cis}"] = s.name
        for rule in s.stig.values():
            tags[rule.rule_id] = s.name
            tags[rule.v_id] = s.name
    return tags


def test_rule_tags_are_the_catalog_ids() -> None:
    assert _vars()["smb_signing__rule_tags"] == _catalog_tags()


@pytest.mark.parametrize("name", sorted(baselines.BASELINES))
def test_the_role_copy_of_each_baseline_equals_baselines_py(name: str) -> None:
    copy = _vars()["smb_signing__baseline_values"][name]
    for profile in PROFILES:
        desired = baselines.BASELINES[name].desired(profile)
        wanted = {k: v for k, v in desired.items() if v is not None}
        assert copy == wanted, (name, profile)


def _main_task_tags() -> Set[str]:
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    block = next(t for t in tasks if "block" in t)
    return set(block["block"][0]["tags"])


def test_the_task_carries_every_rule_tag_and_the_whole_task_tags() -> None:
    whole = set(_vars()["smb_signing__whole_task_tags"]) - {"all", "tagged"}
    assert _main_task_tags() == whole | set(_catalog_tags())


def test_docs_role_md_lists_every_tag() -> None:
    text = (REPO / "docs" / "role.md").read_text()
    section = text.split("## Tags", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`([A-Za-z0-9_.-]+)`", section))
    assert _main_task_tags() | {"always", "report"} <= listed
    for setting in catalog.SETTING_NAMES:
        row = next(line for line in section.splitlines() if line.startswith(f"| `{setting}` |"))
        assert set(re.findall(r"`([^`]+)`", row)) - {setting} == {
            tag for tag, name in _catalog_tags().items() if name == setting
        }


@pytest.mark.parametrize("path", sorted((REPO / "examples" / "awx").glob("job_template_*.json")))
def test_example_job_templates_set_the_report_directory(path: Path) -> None:
    extra = yaml.safe_load(json.loads(path.read_text())["extra_vars"])
    assert str(extra["smb_signing_report_dir"]).startswith("/"), path.name
