"""The one ansible-playbook runner of the integration tests and the benchmarks.

- ``run_playbook``: a playbook file or a collection playbook (FQCN), timed (wall clock and the
  CPU of ansible-playbook with the workers it reaps), with Ansible's log kept;
- ``run_tasks``: tasks written into a play of their own, every host's registered result of every
  task copied to the controller as JSON (``ignore_errors`` and ``ignore_unreachable`` keep the
  result of a host that failed), so tests assert on the real task results;
- ``run_task``: one collection module as that one task;
- ``run_adhoc``: the ``ansible`` command with the same environment.

Every run gets the dev venv's tools first on PATH, this checkout as the collection (plus any
extra collection paths), the default callback without colour, and its own local temp directory,
so runs share nothing but the lab and can run side by side.

Nothing from the collection is imported here: pytest loads this module (through conftest files)
before pytest-ansible installs Ansible's collection finder.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO_FLEET = REPO / "tests" / "lab" / "fleets" / "demo.yml"
# The demo fleet's audit events carry fixed dates; a window this wide keeps them in it.
WIDE_WINDOW = "520w"
# A bound on every run: a hung lab host must not hang a test or the benchmark.
RUN_TIMEOUT_S = 900
REPORT_JSON = "smb_signing_report.json"

Limit = Union[str, Sequence[str], None]
# A host's result file name: its inventory name in URL-safe base64 (reversible, no "/").
_SAFE_NAME = "inventory_hostname | b64encode | replace('+', '-') | replace('/', '_')"


@dataclass
class Run:
    """What one ansible-playbook (or ansible) run printed and wrote."""

    rc: int
    stdout: str
    stderr: str
    wall_s: float = 0.0
    # ansible-playbook's CPU with its forked workers (it reaps them, we reap it).
    cpu_s: float = 0.0
    # run_tasks: results[host]["0"], ["1"], ...; run_task: results[host] is the task's result.
    results: Dict[str, Any] = field(default_factory=dict)
    log_text: str = ""
    # Where the role's report went (run_playbook with report_dir).
    report_dir: Optional[Path] = None

    def recap(self) -> Dict[str, Dict[str, int]]:
        """The PLAY RECAP counters per host, from the default callback."""
        stats: Dict[str, Dict[str, int]] = {}
        section = self.stdout.split("PLAY RECAP", 1)[-1]
        for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", section, re.MULTILINE):
            stats[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
        return stats

    def recap_of(self, host: str) -> Dict[str, int]:
        stats = self.recap()
        assert host in stats, f"no recap line for {host}:\n{self.tail()}"
        return stats[host]

    def fatal(self) -> Dict[str, str]:
        """Each failed host's ``fatal: [HOST]: FAILED! => ...`` line (the last one per host)."""
        lines: Dict[str, str] = {}
        for line in self.stdout.splitlines():
            match = re.match(r"^fatal: \[([^\]]+)\]", line)
            if match:
                lines[match.group(1)] = line
        return lines

    def report(self) -> Dict[str, Any]:
        """The role's JSON report of this run."""
        assert self.report_dir is not None, "run_playbook was not given a report_dir"
        data: Dict[str, Any] = json.loads((self.report_dir / REPORT_JSON).read_text())
        return data

    def tail(self) -> str:
        return self.stdout[-3000:] + "\n--- stderr ---\n" + self.stderr[-2000:]


def ansible_env(
    workdir: Path,
    *,
    collections_path: Iterable[Path] = (),
    keep_log: bool = True,
    extra_env: Optional[Mapping[str, str]] = None,
    bin_dir: Path = BIN,
) -> Dict[str, str]:
    """``bin_dir``: the venv whose Ansible runs (another ansible-core release's venv)."""
    env = dict(os.environ)
    paths = [REPO / ".collections", *collections_path]
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(REPO / "tests"),
        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(str(p) for p in paths),
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(workdir / ".ansible-tmp"),
        ANSIBLE_PYTHON_INTERPRETER=str(bin_dir / "python") if bin_dir != BIN else sys.executable,
    )
    if keep_log:
        # Ansible's own log file, so a test can read what it logged (secrets, for one).
        env["ANSIBLE_LOG_PATH"] = str(workdir / "ansible.log")
    env.update(extra_env or {})
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _limit_args(limit: Limit, workdir: Path) -> List[str]:
    if not limit:
        return []
    if isinstance(limit, str):
        return ["--limit", limit]
    # A file keeps a 200-name limit off the command line.
    limit_file = workdir / "limit.txt"
    limit_file.write_text("\n".join(limit) + "\n")
    return ["--limit", f"@{limit_file}"]


def _run(cmd: List[str], workdir: Path, env: Dict[str, str], timeout: float) -> Run:
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=workdir, timeout=timeout, check=False
    )
    wall = time.perf_counter() - start
    log = workdir / "ansible.log"
    return Run(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        wall_s=wall,
        cpu_s=_children_cpu() - cpu_before,
        log_text=log.read_text(errors="replace") if log.exists() else "",
    )


def run_playbook(
    playbook: Union[str, Path],
    inventory: Path,
    workdir: Optional[Path] = None,
    *,
    limit: Limit = None,
    forks: int = 8,
    extra_vars: Optional[Mapping[str, Any]] = None,
    report_dir: Optional[Path] = None,
    check: bool = False,
    diff: bool = False,
    args: Sequence[str] = (),
    collections_path: Iterable[Path] = (),
    extra_env: Optional[Mapping[str, str]] = None,
    keep_log: bool = True,
    timeout: float = RUN_TIMEOUT_S,
    bin_dir: Path = BIN,
) -> Run:
    """Run a playbook file or a collection playbook (FQCN) from ``workdir`` (a temporary
    directory when None). ``limit``: a pattern, or a list of names (passed in a file).
    ``report_dir``: sets smb_signing_report_dir, and ``Run.report()`` reads the report.
    ``bin_dir``: the venv whose ansible-playbook runs (another ansible-core release's)."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="smb-playbook-") as tmp:
            return run_playbook(
                playbook,
                inventory,
                Path(tmp),
                limit=limit,
                forks=forks,
                extra_vars=extra_vars,
                report_dir=report_dir,
                check=check,
                diff=diff,
                args=args,
                collections_path=collections_path,
                extra_env=extra_env,
                keep_log=keep_log,
                timeout=timeout,
                bin_dir=bin_dir,
            )
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(bin_dir / "ansible-playbook"), "-i", str(inventory), "-f", str(forks), str(playbook)]
    cmd += _limit_args(limit, workdir)
    variables = dict(extra_vars or {})
    if report_dir is not None:
        variables["smb_signing_report_dir"] = str(report_dir)
    if variables:
        cmd += ["-e", json.dumps(variables)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += list(args)
    env = ansible_env(
        workdir,
        collections_path=collections_path,
        keep_log=keep_log,
        extra_env=extra_env,
        bin_dir=bin_dir,
    )
    run = _run(cmd, workdir, env, timeout)
    run.report_dir = report_dir
    return run


def run_tasks(
    tasks: Sequence[Mapping[str, Any]],
    inventory: Path,
    *,
    limit: Limit,
    forks: int = 10,
    extra_vars: Optional[Mapping[str, Any]] = None,
    check: bool = False,
    diff: bool = False,
    args: Sequence[str] = (),
    timeout: float = RUN_TIMEOUT_S,
) -> Run:
    """Run ``tasks`` on ``limit``; ``results[host]`` maps "0", "1", ... to each task's result.

    Result files are named by the URL-safe base64 of the inventory name (a hostile name is no
    file name), decoded back here.
    """
    with tempfile.TemporaryDirectory(prefix="smb-tasks-") as tmp:
        work = Path(tmp)
        out_dir = work / "results"
        out_dir.mkdir()
        body: List[Dict[str, Any]] = [
            {
                **task,
                "register": f"under_test_{i}",
                "ignore_errors": True,
                "ignore_unreachable": True,
            }
            for i, task in enumerate(tasks)
        ]
        keep = ", ".join(f"'{i}': under_test_{i} | default(none)" for i in range(len(tasks)))
        body.append(
            {
                "name": "Keep the results",
                "ansible.builtin.copy": {
                    "content": "{{ {" + keep + "} | to_json }}",
                    "dest": f"{out_dir}/{{{{ {_SAFE_NAME} }}}}.json",
                    "mode": "0600",
                },
                "delegate_to": "localhost",
                "check_mode": False,
                "diff": False,
            }
        )
        play = [{"name": "Tasks under test", "hosts": "all", "gather_facts": False, "tasks": body}]
        playbook = work / "play.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        run = run_playbook(
            playbook,
            inventory,
            work,
            limit=limit,
            forks=forks,
            extra_vars=extra_vars,
            check=check,
            diff=diff,
            args=args,
            timeout=timeout,
        )
        run.results = {
            base64.urlsafe_b64decode(p.stem).decode(): json.loads(p.read_text())
            for p in out_dir.glob("*.json")
        }
        return run


def run_task(
    inventory: Path,
    module: str,
    module_args: Mapping[str, Any],
    *,
    limit: str,
    check: bool = False,
    diff: bool = False,
    extra_vars: Optional[Mapping[str, Any]] = None,
) -> Run:
    """One module (``win_smb_signing`` or a FQCN) as one task; ``results[host]`` is its result."""
    fqcn = module if "." in module else f"winhardening.smb.{module}"
    run = run_tasks(
        [{"name": "The task under test", fqcn: dict(module_args)}],
        inventory,
        limit=limit,
        check=check,
        diff=diff,
        extra_vars=extra_vars,
    )
    run.results = {host: by_index["0"] for host, by_index in run.results.items()}
    return run


def run_adhoc(
    inventory: Path,
    pattern: str,
    module: str,
    module_args: str,
    *,
    tree: Optional[Path] = None,
    timeout: float = RUN_TIMEOUT_S,
) -> Run:
    """The ``ansible`` command. With ``tree`` (the builtin tree callback), ``results`` holds each
    host's JSON result file."""
    with tempfile.TemporaryDirectory(prefix="smb-adhoc-") as tmp:
        work = Path(tmp)
        cmd = [str(BIN / "ansible"), pattern, "-i", str(inventory), "-m", module]
        if module_args:
            cmd += ["-a", module_args]
        if tree is not None:
            cmd += ["--tree", str(tree)]
        run = _run(cmd, work, ansible_env(work), timeout)
    if tree is not None and tree.is_dir():
        run.results = {p.name: json.loads(p.read_text()) for p in tree.iterdir()}
    return run
