#!/usr/bin/env bash
# ansible-test sanity on each ansible-core whose Python is present here.
#
# ansible-test needs the collection under ansible_collections/<namespace>/<name>, so the files git
# would commit are copied into build/. Its per-test venvs bootstrap pip from a download host that
# these machines cannot reach; a stand-in get-pip script (ensurepip, then pip from the package
# index) is put in ansible-test's cache instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

dest=build/sanity/ansible_collections/winhardening/smb
rm -rf build/sanity
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [[ -e $f ]] || continue
  mkdir -p "$dest/$(dirname "$f")"
  cp -p "$f" "$dest/$f"
done

cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
for version in 24_2 25_2 25_3; do
  cat >"$cache/get_pip_${version}.py" <<'PY'
"""Offline stand-in for get-pip.py: ensurepip, then the requested pip from the package index."""
import ensurepip
import os
import subprocess
import sys

saved = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "-q", *sys.argv[1:]], env=saved))
PY
done

# run_sanity VENV PYTHON_VERSION
run_sanity() {
  local venv=$1 python=$2
  if [[ ! -x $root/$venv/bin/ansible-test ]]; then
    echo "sanity: skipped for $venv (not created: no Python $python on this machine)"
    return 0
  fi
  echo "sanity: $("$root/$venv/bin/ansible" --version | head -n1) on Python $python"
  (cd "$dest" && "$root/$venv/bin/ansible-test" sanity --venv --python "$python" --color no \
     --exclude .ci/ --exclude scripts/ --exclude bench/ --exclude tests/lab/ --exclude tests/integration/ \
     --exclude tests/unit/ --exclude extensions/)
}

run_sanity .venv "$("$root/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
run_sanity .venv-core2.19 3.11
