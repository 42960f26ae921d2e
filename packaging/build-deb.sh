#!/bin/sh
# build-deb.sh: builds dist/quantum-agent_<version>_<arch>.deb with dpkg-deb alone (no
# debhelper, no network). `make deb` runs it from the repository root.
#
# Environment:
#   GO           the go command (default: go)
#   DIST         output directory (default: dist)
#   VERSION      the package version, which the binaries' --version prints too
#                (default: packaging/version.sh, from the VERSION file and git)
#   DEB_ARCH     Debian architecture to build for (default: this machine's)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

GO=${GO:-go}
DIST=${DIST:-dist}
VERSION=${VERSION:-$(packaging/version.sh)}
DEB_ARCH=${DEB_ARCH:-$(dpkg --print-architecture)}
# A Debian version needs its revision: what we build is always revision 1.
case $VERSION in *-*) ;; *) VERSION=$VERSION-1 ;; esac
if ! dpkg --validate-version "$VERSION" 2>/dev/null; then
	echo "build-deb: VERSION '$VERSION' is not a Debian version" >&2
	exit 1
fi
# For the changelog: which tree this was built from.
DESCRIBE=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)

go_arch() {
	case $1 in
	amd64 | arm64 | s390x | riscv64 | mips64el | loong64) echo "$1" ;;
	i386) echo 386 ;;
	armhf | armel) echo arm ;;
	ppc64el) echo ppc64le ;;
	*) echo "build-deb: no Go architecture for $1" >&2 && exit 1 ;;
	esac
}

GOARCH=$(go_arch "$DEB_ARCH")
GOARM=
case $DEB_ARCH in armhf) GOARM=7 ;; armel) GOARM=5 ;; esac
# Timestamps of everything packaged: the commit's, so two builds of one commit match.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

name=quantum-agent_${VERSION}_${DEB_ARCH}
stage=$DIST/stage/$name
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
umask 022

dir() { install -d -m 0755 "$stage/$1"; }
file() { install -D -m "$1" "$2" "$stage/$3"; }
gz() { gzip -9n -c "$1" >"$stage/$2" && chmod 0644 "$stage/$2"; }

echo "build-deb: $name (from $DESCRIBE)"

# The same -X main.version as `make build`: --version prints the package version.
# Pure Go (no cgo): the binaries need no shared library, so Depends lists only what the
# maintainer scripts and the Quantum DB unit run. Position-independent, so the kernel can
# place them anywhere (ASLR); that also makes them ordinary dynamic ELF files to lintian
# instead of static ones. Stripped (-s -w), as Debian ships binaries; panics still have
# symbolized stack traces.
dir usr/bin
CGO_ENABLED=0 GOOS=linux GOARCH=$GOARCH GOARM=$GOARM GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
	"$GO" build -buildmode=pie -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$stage/usr/bin/" \
	./cmd/quantum-agent ./cmd/quantumctl
chmod 0755 "$stage/usr/bin/quantum-agent" "$stage/usr/bin/quantumctl"

# Debian 12 keeps units in /lib/systemd/system (the move to /usr/lib comes with Debian 13).
for u in quantum-agent.service quantum-agent.socket quantum-ovsdb.service; do
	file 0644 "systemd/$u" "lib/systemd/system/$u"
done
file 0755 packaging/quantum-ovsdb-start usr/lib/quantum-agent/quantum-ovsdb-start
file 0644 agent/qdb/quantum.ovsschema usr/share/quantum-agent/quantum.ovsschema
file 0644 packaging/agent.conf etc/quantum-agent/agent.conf
if [ -f packaging/grafana-dashboard.json ]; then
	file 0644 packaging/grafana-dashboard.json usr/share/quantum-agent/grafana-dashboard.json
fi
# Shell completions: the scripts `quantumctl completion SHELL` generates (committed, checked
# by cmd/quantumctl's TestGeneratedFiles); they ask the installed quantumctl for candidates.
dir usr/share/bash-completion/completions
dir usr/share/zsh/vendor-completions
dir usr/share/fish/vendor_completions.d
file 0644 packaging/quantumctl.bash-completion usr/share/bash-completion/completions/quantumctl
file 0644 packaging/quantumctl.zsh-completion usr/share/zsh/vendor-completions/_quantumctl
file 0644 packaging/quantumctl.fish-completion usr/share/fish/vendor_completions.d/quantumctl.fish

dir usr/share/man/man1
dir usr/share/man/man8
gz docs/man/quantumctl.1 usr/share/man/man1/quantumctl.1.gz
gz docs/man/quantum-agent.8 usr/share/man/man8/quantum-agent.8.gz

doc=usr/share/doc/quantum-agent
dir "$doc"
# Policy 12.3: documentation larger than 4 kB is compressed.
for f in README.md docs/*.md; do
	[ -f "$f" ] || continue
	b=$(basename "$f")
	if [ "$(wc -c <"$f")" -gt 4096 ]; then
		gz "$f" "$doc/$b.gz"
	else
		file 0644 "$f" "$doc/$b"
	fi
done
sed -e "s/@VERSION@/$VERSION/" -e "s/@DESCRIBE@/$DESCRIBE/" \
	-e "s/@DATE@/$(date -u -R -d "@$SOURCE_DATE_EPOCH")/" \
	packaging/debian/changelog.in >"$DIST/stage/changelog"
gz "$DIST/stage/changelog" "$doc/changelog.Debian.gz"

# copyright: ours, then the Go modules linked into the binaries, whose license texts go
# to THIRD-PARTY-LICENSES.gz.
mods=$(CGO_ENABLED=0 GOOS=linux GOARCH=$GOARCH "$GO" list -deps \
	-f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' \
	./cmd/quantum-agent ./cmd/quantumctl | sort -u)
{
	cat packaging/debian/copyright
	printf '%s\n' "$mods" | while read -r path ver _; do
		[ -n "$path" ] && printf ' .\n %s %s\n' "$path" "$ver"
	done
} >"$DIST/stage/copyright"
file 0644 "$DIST/stage/copyright" "$doc/copyright"
printf '%s\n' "$mods" | while read -r path ver mdir; do
	[ -n "$path" ] || continue
	lic=$(find "$mdir" -maxdepth 1 -type f \( -iname 'LICENSE*' -o -iname 'COPYING*' \) | sort | head -n 1)
	printf '==== %s %s ====\n\n' "$path" "$ver"
	if [ -n "$lic" ]; then cat "$lic"; else echo "(no license file found in the module)"; fi
	printf '\n'
done >"$DIST/stage/THIRD-PARTY-LICENSES"
gz "$DIST/stage/THIRD-PARTY-LICENSES" "$doc/THIRD-PARTY-LICENSES.gz"

# Maintainer scripts and control files.
for s in postinst prerm postrm; do
	install -m 0755 "packaging/debian/$s" "$stage/DEBIAN/$s"
done
install -m 0644 packaging/debian/conffiles "$stage/DEBIAN/conffiles"
file 0644 packaging/debian/lintian-overrides usr/share/lintian/overrides/quantum-agent
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$DEB_ARCH/" -e "s/@SIZE@/$size/" \
	packaging/debian/control.in >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
	xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$DIST"
deb=$DIST/$name.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "build-deb: $deb"
