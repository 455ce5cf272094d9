#!/usr/bin/env bash
# ansible-test windows-integration on the integration targets (tests/integration/targets, in
# ansible.windows' layout), against the hosts of an INI inventory with a [windows] group: a real
# Windows host (copy tests/integration/inventory.winrm.template to tests/integration/inventory.winrm)
# or the lab (`python -m lab inventory --ansible-test PATH`, what `make test` does).
#
# ansible-test must run from a directory named ansible_collections/<namespace>/<name>, and
# .collections/ in the checkout is a link, which ansible-test resolves back to the checkout. So,
# as scripts/sanity.sh does, the collection is what ships (the tarball `ansible-galaxy collection
# build` makes) unpacked under $WINDOWS_INTEGRATION_WORK/ansible_collections/<namespace>/<name>
# (default build/windows-integration), plus tests/integration/targets and tests/config.yml.
# ansible-test writes its output (tests/output) there, and its key pair and temp files under
# $HOME/.ansible, so HOME is .cache/ansible-test-home in the checkout: nothing lands outside it.
#
# Usage: scripts/windows-integration.sh [--inventory PATH] [ansible-test options] [TARGET...]
#   PATH defaults to tests/integration/inventory.winrm; relative paths are from the checkout.
#   e.g. scripts/windows-integration.sh --inventory tests/integration/inventory.winrm win_smb_signing_facts
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

inventory=$root/tests/integration/inventory.winrm
args=()
while (($#)); do
  case $1 in
    --inventory) inventory=$2; shift 2 ;;
    --inventory=*) inventory=${1#--inventory=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ $inventory == /* ]] || inventory=$root/$inventory
if [[ ! -f $inventory ]]; then
  echo "windows-integration: no inventory at $inventory" >&2
  echo "  copy tests/integration/inventory.winrm.template there and fill it in, or pass --inventory PATH" >&2
  exit 2
fi

namespace=$(sed -n 's/^namespace: *//p' galaxy.yml)
name=$(sed -n 's/^name: *//p' galaxy.yml)
work=${WINDOWS_INTEGRATION_WORK:-$root/build/windows-integration}
dest=$work/ansible_collections/$namespace/$name
rm -rf "$work"
mkdir -p "$dest/tests/integration"

"$root/.venv/bin/ansible-galaxy" collection build --force --output-path "$work" . >/dev/null
tar -xzf "$work/$namespace-$name-"*.tar.gz -C "$dest"
rm -f "$work/$namespace-$name-"*.tar.gz
cp -p tests/config.yml "$dest/tests/"
cp -rp tests/integration/targets "$dest/tests/integration/"
# ansible-test lists files through git: inside the checkout (build/ is ignored) it would find the
# checkout's repository and see no files, so the tree gets a repository of its own.
git init -q "$dest"

test_home=$root/.cache/ansible-test-home
mkdir -p "$test_home"
# ansible-test points Ansible at the tree above; the checkout's own collection path would shadow it.
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
cd "$dest"
HOME=$test_home PATH=$root/.venv/bin:$PATH exec "$root/.venv/bin/ansible-test" windows-integration \
  --local --inventory "$inventory" "${args[@]}"
