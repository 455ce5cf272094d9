#!/usr/bin/env bash
# Fail when plugins/ or roles/ changed without a changelog fragment.
#
# The rule: every change to what the collection ships as code (plugins/, roles/) since the last
# release, or on a branch since it left main, comes with at least one new or edited fragment in
# changelogs/fragments/ (antsibull-changelog format; `trivial:` is fine for refactors and test-only
# changes). `antsibull-changelog release` consumes the fragments, so a release tag is where the
# count restarts.
#
# What "since" means, first match wins:
#   1. $CHANGELOG_BASE, when set (any commit-ish), e.g. a PR's target branch in CI;
#   2. on a branch that has left the upstream main (origin/HEAD, else origin/main, else main):
#      the merge base with it;
#   3. the newest commit whose changelogs/changelog.yaml records a release (its `releases:` is
#      not the empty `{}`);
#   4. no release yet: the whole history.
# The working tree is compared, not just HEAD, so uncommitted and untracked files count too: a
# local `make test` gives the same answer as CI will after the commit.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "changelog-fragments: not a git checkout; nothing to compare against, skipped"
  exit 0
fi
if [[ $(git rev-parse --is-shallow-repository) == true && -z ${CHANGELOG_BASE:-} ]]; then
  echo "changelog-fragments: this clone is shallow, so the last release cannot be found." >&2
  echo "changelog-fragments: run 'git fetch --unshallow' or set CHANGELOG_BASE." >&2
  exit 2
fi

# upstream_main: print the first upstream main branch that exists.
upstream_main() {
  local ref
  for ref in refs/remotes/origin/HEAD refs/remotes/origin/main refs/heads/main; do
    if git rev-parse -q --verify "$ref^{commit}" >/dev/null; then
      echo "$ref"; return 0
    fi
  done
  return 1
}

# release_commit: print the newest commit whose changelog.yaml lists at least one release.
release_commit() {
  local commit
  for commit in $(git log --format=%H -- changelogs/changelog.yaml); do
    if git show "$commit:changelogs/changelog.yaml" 2>/dev/null | grep -qE '^releases:[[:space:]]*$'; then
      echo "$commit"; return 0
    fi
  done
  return 1
}

empty_tree=$(git hash-object -t tree /dev/null)
base="" why=""
if [[ -n ${CHANGELOG_BASE:-} ]]; then
  base=$(git rev-parse -q --verify "$CHANGELOG_BASE^{commit}") || {
    echo "changelog-fragments: CHANGELOG_BASE=$CHANGELOG_BASE is not a commit here" >&2; exit 2; }
  why="CHANGELOG_BASE ($CHANGELOG_BASE)"
elif main_ref=$(upstream_main) && mb=$(git merge-base HEAD "$main_ref" 2>/dev/null) \
    && [[ $mb != "$(git rev-parse HEAD)" ]]; then
  base=$mb why="the merge base with ${main_ref#refs/}"
elif release=$(release_commit); then
  base=$release why="the release in $(git log -1 --format=%h "$release") (changelogs/changelog.yaml)"
else
  base=$empty_tree why="the first commit (no release yet)"
fi

# Changed paths: committed since the base, staged, unstaged, and untracked.
mapfile -t changed < <({
  git diff --name-only --no-renames "$base" -- || true
  git ls-files --others --exclude-standard
} | sort -u)

code=() fragments=()
for path in "${changed[@]}"; do
  case $path in
    plugins/* | roles/*) code+=("$path") ;;
    changelogs/fragments/*.yml | changelogs/fragments/*.yaml)
      [[ -e $path ]] && fragments+=("$path") ;;
  esac
done

if ((${#code[@]} == 0)); then
  echo "changelog-fragments: ok, no change under plugins/ or roles/ since $why"
elif ((${#fragments[@]} > 0)); then
  echo "changelog-fragments: ok, ${#code[@]} changed file(s) under plugins/ or roles/ since $why," \
    "fragment(s): ${fragments[*]}"
else
  echo "changelog-fragments: ${#code[@]} file(s) under plugins/ or roles/ changed since $why" >&2
  printf '  %s\n' "${code[@]:0:10}" >&2
  ((${#code[@]} > 10)) && echo "  ... and $((${#code[@]} - 10)) more" >&2
  echo "changelog-fragments: add a fragment, e.g. changelogs/fragments/<topic>.yml with" >&2
  echo "  minor_changes:  (or bugfixes:, trivial:, ...)" >&2
  echo "    - win_smb_signing - what changed, for a user reading the changelog." >&2
  exit 1
fi
