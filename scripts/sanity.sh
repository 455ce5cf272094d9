#!/usr/bin/env bash
# ansible-test sanity on every ansible-core minor that meta/runtime.yml claims: 2.21 on the main
# venv's Python (3.12 or 3.13), 2.20 on the same Python (.venv-core2.20) and 2.19 on Python 3.11
# where there is one (.venv-core2.19). A claimed minor without its venv fails the run.
#
# What is checked is what ships: the tarball `ansible-galaxy collection build` makes (so
# build_ignore applies), unpacked under build/sanity/ansible_collections/<namespace>/<name> as
# ansible-test requires, plus tests/config.yml and tests/sanity/ (ansible-test's own settings)
# and the integration targets (tests/integration/targets, which scripts/windows-integration.sh
# runs), so yamllint and the other file checks cover them too.
# The lab, the test suites, scripts and benchmarks are developer tooling and never reach users.
#
# ansible-test's per-test venvs bootstrap pip from a download host these machines cannot reach,
# so a stand-in get-pip script (ensurepip, then pip from the package index) goes into
# ansible-test's cache. ansible-test keeps that cache and the venvs it creates under
# ~/.ansible/test/, a path fixed in its code, so it runs with HOME set to .cache/ansible-test-home
# in the checkout: nothing lands in the user's home, and only the first run in a checkout is slow.
#
# Usage: scripts/sanity.sh [ansible-test sanity options], e.g. --test validate-modules
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

namespace=$(sed -n 's/^namespace: *//p' galaxy.yml)
name=$(sed -n 's/^name: *//p' galaxy.yml)
work=$root/build/sanity
dest=$work/ansible_collections/$namespace/$name
rm -rf "$work"
mkdir -p "$dest"

"$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$work" . >/dev/null
tar -xzf "$work/$namespace-$name-"*.tar.gz -C "$dest"
rm -f "$work/$namespace-$name-"*.tar.gz
mkdir -p "$dest/tests"
cp -p tests/config.yml "$dest/tests/"
[[ -d tests/sanity ]] && cp -rp tests/sanity "$dest/tests/"
mkdir -p "$dest/tests/integration"
cp -rp tests/integration/targets "$dest/tests/integration/"
# ansible-test lists files through git; without a repository of its own here it would find the
# checkout's, where build/ is ignored, and see no files at all.
git init -q "$dest"

# pip keeps reading the user's configuration and package cache (package installs are the one
# thing allowed outside the checkout); everything else ansible-test writes stays here.
export XDG_CONFIG_HOME=${XDG_CONFIG_HOME:-$HOME/.config}
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}
[[ -z ${PYENV_ROOT:-} && -d $HOME/.pyenv ]] && export PYENV_ROOT=$HOME/.pyenv
test_home=$root/.cache/ansible-test-home
cache="$test_home/.ansible/test/cache"
mkdir -p "$cache"
for version in 24_2 25_2 25_3; do
  cat >"$cache/get_pip_${version}.py" <<'PY'
"""Offline stand-in for get-pip.py: ensurepip, then the requested pip from the package index."""
import ensurepip
import os
import subprocess
import sys

# get-pip.py options that `pip install` does not have.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
saved = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q", *args], env=saved))
PY
done

ran=0
# run_sanity VENV: ansible-test sanity with that venv's ansible-core on that venv's Python.
run_sanity() {
  local venv=$root/$1 python core
  shift
  if [[ ! -x $venv/bin/ansible-test ]]; then
    echo "sanity: ${venv#"$root"/} is missing: run scripts/bootstrap.sh" >&2
    failed+=("${venv#"$root"/} (missing)")
    return 0
  fi
  python=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  core=$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
  echo "sanity: ansible-core $core on Python $python"
  ran=$((ran + 1))
  # pip's chatter while ansible-test fills its venvs is dropped; findings and errors are kept.
  set +e
  (cd "$dest" && HOME=$test_home "$venv/bin/ansible-test" sanity --venv --python "$python" --color no "$@") 2>&1 |
    { grep -vE "$PIP_NOISE" || true; }
  local rc=${PIPESTATUS[0]}
  set -e
  if ((rc != 0)); then
    failed+=("ansible-core $core")
  fi
}

PIP_NOISE='^(Collecting |  Downloading |  Using cached |WARNING: Location |Installing collected |Successfully installed |Looking in |Processing |Requirement already |Using cached pip|     [^ ])'
failed=()
run_sanity .venv "$@"
run_sanity .venv-core2.20 "$@"
run_sanity .venv-core2.19 "$@"
((ran > 0)) || { echo "sanity: no ansible-core venv found; run scripts/bootstrap.sh" >&2; exit 1; }
if ((${#failed[@]})); then
  echo "sanity: failed on ${failed[*]}" >&2
  exit 1
fi
echo "sanity: passed on $ran ansible-core version(s)"
