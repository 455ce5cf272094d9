#!/usr/bin/env bash
# Build the documentation site into build/docs (what `make docs` runs).
#
# antsibull-docs, the tool that builds docs.ansible.com's collection pages, renders the plugin and
# role documentation and the guides in docs/docsite/ (extra-docs.yml, links.yml), and Sphinx
# turns that into HTML: build/docs/build/html/index.html. The collection is read through the
# .collections/ link to this checkout (ANSIBLE_COLLECTIONS_PATH, set by the Makefile), so the
# site shows the working tree. The build works offline: the Sphinx intersphinx inventories of
# docs.ansible.com and docs.python.org are not fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${VENV_BIN:-$root/.venv/bin}
export PATH="$bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$root/.collections}
# Ansible's own scratch files stay in the checkout (the Makefile sets the same).
export ANSIBLE_HOME=${ANSIBLE_HOME:-$root/.ansible}

link=$root/.collections/ansible_collections/winhardening/smb
if [[ ! -e $link ]]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn ../../.. "$link"
fi

# The Ansible theme when it is installed (sphinx-ansible-theme), otherwise Sphinx's own.
theme=alabaster
if "$bin/python" -c 'import sphinx_ansible_theme' 2>/dev/null; then
  theme=sphinx_ansible_theme
fi

site=$root/build/docs
rm -rf "$site"
mkdir -p "$site"
chmod 755 "$site"  # antsibull-docs refuses a destination others can write to

# scripts/antsibull-docs.cfg keeps antsibull-docs' log off ~/antsibull.log (standard error only);
# build.sh reads the site's own antsibull-docs.cfg, so the same settings go in there too.
antsibull-docs --config-file "$root/scripts/antsibull-docs.cfg" sphinx-init --use-current --fail-on-error --dest-dir "$site" \
  --sphinx-theme "$theme" --no-add-antsibull-docs-version \
  --project winhardening.smb --copyright "winhardening.smb contributors" \
  --title "winhardening.smb documentation" \
  winhardening.smb >/dev/null
# Offline: no remote inventories, so labels that live on docs.ansible.com (such as
# common_return_values) cannot resolve and are not warnings here. References inside this
# collection are checked by `antsibull-docs lint-collection-docs`, which `make test` runs.
cat "$root/scripts/antsibull-docs.cfg" >>"$site/antsibull-docs.cfg"
cat >>"$site/conf.py" <<'PY'
intersphinx_mapping = {}
suppress_warnings = ["ref.ref"]
PY

log=$site/build.log
if ! "$site/build.sh" >"$log" 2>&1; then
  # Sphinx prints warnings as errors (-W); show them without the progress noise.
  grep -E 'ERROR|WARNING|rror:|Exception' "$log" | head -n 50 >&2 || tail -n 30 "$log" >&2
  echo "docs: the build failed; full log in ${log#"$root"/}" >&2
  exit 1
fi
echo "docs: $(find "$site/build/html" -name '*.html' | wc -l) pages (theme $theme):" \
  "${site#"$root"/}/build/html/index.html"
