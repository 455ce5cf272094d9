#!/usr/bin/env bash
# Set up everything `make test` and `make demo` need on a fresh Debian or Ubuntu machine:
# the Debian packages the lab and the tests use, the pinned development venv (.venv), and the
# smaller venvs that test the older ansible-core releases the collection claims.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(samba smbclient nmap chromium)
declare -A PROVIDES=([samba]=smbd [smbclient]=smbclient [nmap]=nmap [chromium]=chromium)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  command -v "${PROVIDES[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: these Debian packages are missing: ${missing[*]}" >&2
    echo "bootstrap: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# find_python MINOR...: print the first interpreter found for the given 3.x minor versions,
# on PATH or under pyenv.
find_python() {
  local minor candidate
  for minor in "$@"; do
    # Resolved, so that a venv's python (the Makefile puts .venv/bin first on PATH) names the
    # interpreter it links to: recreating that venv must not delete the python it runs.
    if candidate=$(command -v "python3.$minor" 2>/dev/null) && candidate=$(readlink -f "$candidate") \
      && "$candidate" -c 'import venv' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3."$minor"; do
      [[ -x $candidate ]] && { echo "$candidate"; return 0; }
    done
  done
  return 1
}

# make_venv DIR PYTHON REQUIREMENTS...: (re)create DIR when the requirements changed.
make_venv() {
  local dir=$1 python=$2; shift 2
  local stamp="$dir/.requirements.sha256"
  local want
  want=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    return 0
  fi
  echo "bootstrap: creating $dir with $("$python" --version)"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "${@/#/-r}" 2> >(grep -v "^WARNING: Location" >&2)
  echo "$want" >"$stamp"
}

main_python=$(find_python 12 13) || {
  echo "bootstrap: Python 3.12 or 3.13 is needed (ansible-core 2.20 and 2.21 run on it)" >&2
  exit 1
}
make_venv .venv "$main_python" requirements-dev.txt

# Every ansible-core minor that meta/runtime.yml claims (2.19, 2.20, 2.21) runs the sanity tests
# (scripts/sanity.sh), the plugins' unit tests (make unit) and the end-to-end smoke test
# (tests/integration/test_core_matrix.py); 2.21 in .venv, the others in venvs of their own.
# 2.19 gets the oldest Python it supports, 3.11, where there is one.
py219=$(find_python 11) || py219=$main_python
make_venv .venv-core2.19 "$py219" tests/requirements-core2.19.txt tests/requirements-core-tests.txt
make_venv .venv-core2.20 "$main_python" tests/requirements-core2.20.txt tests/requirements-core-tests.txt

# Not claimed: ansible-core 2.18's winrm connection double-wraps the command line, and the lab's
# transport tests (tests/lab/tests/test_ansible_raw.py) still check that path where a Python 3.11
# exists.
if py311=$(find_python 11); then
  make_venv .venv-core2.18 "$py311" tests/requirements-core2.18.txt
else
  echo "bootstrap: no Python 3.11: the ansible-core 2.18 transport tests will be skipped"
fi
