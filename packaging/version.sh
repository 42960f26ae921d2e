#!/bin/sh
# version.sh: prints the version of this tree as the Debian package version, which is also
# what `quantum-agent --version` and `quantumctl --version` print: the Makefile's VERSION
# (make build) and build-deb.sh (make deb) both take it from here, so the binaries and
# the package they ship in never disagree.
#
# The release number is the VERSION file at the top of the tree; git says how far past it
# this tree is:
#   HEAD tagged v<VERSION>            -> <VERSION>-1
#   any other commit                  -> <VERSION>~git<commits>.<hash>-1
#                                        (before the release: ~ sorts below <VERSION>)
#   uncommitted changes               -> ...+dirty-1
#   no git (a source tarball)         -> <VERSION>-1
# so versions sort as the history goes, and an upgrade to a later build is an upgrade.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
release=$(tr -d ' \n' <"$top/VERSION")
case $release in
'' | *[!0-9.]*)
	echo "version.sh: $top/VERSION holds '$release', want a release number like 1.2.3" >&2
	exit 1
	;;
esac

v=$release
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	if [ "$(git -C "$top" tag --points-at HEAD 2>/dev/null | grep -Fx "v$release" || true)" = "" ]; then
		n=$(git -C "$top" rev-list --count HEAD)
		hash=$(git -C "$top" rev-parse --short=7 HEAD)
		v="$release~git$n.$hash"
	fi
	if ! git -C "$top" diff --quiet HEAD -- 2>/dev/null; then
		v="$v+dirty"
	fi
fi
echo "$v-1"
