#!/usr/bin/env bash
# Set up everything `make test` and `make demo` need on a fresh Debian or Ubuntu machine:
# the Debian packages the lab and the tests use, the pinned development venv (.venv), and the
# smaller venvs that run the end-to-end tests on older ansible-core releases.
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

main_python=$(find_python 12 13 11) || {
  echo "bootstrap: Python 3.11 or newer is needed (3.12 or 3.13 for ansible-core 2.21)" >&2
  exit 1
}
make_venv .venv "$main_python" requirements-dev.txt

# Older ansible-core releases send different WS-Management messages (2.16-2.18 double-wrap the
# command line), so the end-to-end tests also run on them where a Python 3.11 exists.
if py311=$(find_python 11); then
  make_venv .venv-core2.18 "$py311" tests/requirements-core2.18.txt
  make_venv .venv-core2.19 "$py311" tests/requirements-core2.19.txt
else
  echo "bootstrap: no Python 3.11: the ansible-core 2.18/2.19 end-to-end tests will be skipped"
fi
