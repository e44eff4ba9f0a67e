#!/bin/bash
# Each patch of breaks/ still applies to the source tree (check-breaks.sh needs them; a change
# of the code they touch must update them). Skipped (77) without git or outside a git tree.
#   breaks-apply.sh SOURCE_ROOT
set -uo pipefail
src=$1
here=$(cd "$(dirname "$0")" && pwd)
command -v git >/dev/null && git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || {
  echo "no git or no git tree at $src: skipped"; exit 77; }
status=0
for patch in "$here"/breaks/*.patch; do
  if git -C "$src" apply --check "$patch"; then
    echo "applies: $(basename "$patch")"
  else
    echo "does not apply: $(basename "$patch"): update it to the code" >&2
    status=1
  fi
done
exit $status
