#!/usr/bin/env bash
# test_package.sh - the Debian package: built with dpkg-buildpackage from a
# copy of the distributed tree (make distdir: the build runs in place, and
# this tree may hold an in-place build), checked with lintian (no error, no
# warning), its file list, conffiles and dependencies checked, then
# installed, upgraded, removed and purged in a fresh root (dpkg --root; the
# maintainer scripts run outside a chroot with DPKG_ROOT set, so the root
# needs no shell of its own). Then the boot order: the packaged unit and an
# fstab line with _netdev and x-systemd.requires=network-online.target,
# through systemd's own fstab generator and systemd-analyze verify.
#
# The package is built with DEB_BUILD_OPTIONS=nocheck: its own build would
# run the unit tests (debian/rules), which make check runs anyway.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

VERSION=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$BUILD/config.h")
SRC=$WORK/build/s3csfs-$VERSION
mkdir -p "$WORK/build"
# The inner make must not inherit the jobserver or variables of a make check.
inner_make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make "$@"; }

echo "# dpkg-buildpackage -us -uc -b in a copy of the tree"
if inner_make -C "$BUILD" distdir distdir="$SRC" > "$WORK/distdir.log" 2>&1; then
	ok "make distdir (debian/ is distributed)"
else
	not_ok "make distdir"
	tail -20 "$WORK/distdir.log" | sed 's/^/#   /'
	finish
fi
t0=$(date +%s)
if (cd "$SRC" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	DEB_BUILD_OPTIONS="nocheck noddebs parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	> "$WORK/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - t0)) s)"
else
	not_ok "dpkg-buildpackage -us -uc -b"
	tail -30 "$WORK/build.log" | sed 's/^/#   /'
	finish
fi
ARCH=$(dpkg --print-architecture)
DEB=$WORK/build/s3csfs_${VERSION}_$ARCH.deb
check "it made s3csfs_${VERSION}_$ARCH.deb" test -s "$DEB"
check_eq "dpkg-shlibdeps: no warning (nothing linked in vain)" "" \
	"$(grep 'dpkg-shlibdeps: warning' "$WORK/build.log")"

echo "# lintian"
lintian --tag-display-limit 0 "$DEB" "$WORK"/build/s3csfs_*.changes > "$WORK/lintian.out" 2>&1
sed 's/^/#   /' "$WORK/lintian.out"
check_eq "lintian: no error, no warning" "" "$(grep -E '^[EW]: ' "$WORK/lintian.out")"

echo "# contents"
# Every path, links shown with their targets, directories left out.
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { p = $6; for (i = 7; i <= NF; i++) p = p " " $i; print p }' |
	sed 's|^\./|/|' | sort > "$WORK/files"
sed 's/^/#   /' "$WORK/files"
cat > "$WORK/files.want" <<'EOF'
/etc/s3csfs/s3csfs.conf.example
/lib/systemd/system/s3csfs@.service
/usr/bin/s3csfs
/usr/sbin/mount.fuse.s3csfs -> /sbin/mount.fuse3
/usr/share/doc/s3csfs/changelog.gz
/usr/share/doc/s3csfs/copyright
/usr/share/man/man5/s3csfs.conf.5.gz
/usr/share/man/man8/mount.fuse.s3csfs.8.gz -> s3csfs.8.gz
/usr/share/man/man8/s3csfs.8.gz
EOF
check_eq "the file list is exactly the expected one" "" "$(diff "$WORK/files.want" "$WORK/files")"
mkdir -p "$WORK/ctrl"
dpkg-deb -e "$DEB" "$WORK/ctrl"
check_eq "conffiles: the example configuration only" "/etc/s3csfs/s3csfs.conf.example" \
	"$(cat "$WORK/ctrl/conffiles" 2>/dev/null)"
check "postrm handles purge" grep -q 'purge' "$WORK/ctrl/postrm"

# Depends: fuse3 (mount.fuse3, fusermount3) and the package of every library
# the binary needs (as found on this machine), nothing else.
dpkg-deb -x "$DEB" "$WORK/x"
deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | sort -u | tr '\n' ' ')
want=$({
	echo fuse3
	objdump -p "$WORK/x/usr/bin/s3csfs" | awk '$1 == "NEEDED" { print $2 }' | while read -r lib; do
		f=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
		# dpkg knows a library by the path its package ships (/lib or
		# /usr/lib: one directory on a merged /usr).
		{ dpkg -S "$f" || dpkg -S "${f#/usr}" || dpkg -S "/usr$f"; } 2>/dev/null | head -1 | cut -d: -f1
	done
} | sort -u | tr '\n' ' ')
echo "# Depends: $(dpkg-deb -f "$DEB" Depends)"
check_eq "Depends: fuse3 and exactly the packages of the libraries linked" "$want" "$deps"
check "the libraries include libmicrohttpd and libfuse3" \
	bash -c '[[ "$1" == *libmicrohttpd* && "$1" == *libfuse3* ]]' _ "$deps"

echo "# install into a fresh root"
R=$WORK/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: > "$R/var/lib/dpkg/status"
DPKG=(dpkg --root="$R" --force-script-chrootless --force-depends --force-not-root)
if "${DPKG[@]}" -i "$DEB" > "$WORK/dpkg.log" 2>&1; then
	ok "dpkg --root -i"
else
	not_ok "dpkg --root -i"
	sed 's/^/#   /' "$WORK/dpkg.log"
fi
check_eq "status: installed" "install ok installed" \
	"$(dpkg --root="$R" -s s3csfs 2>/dev/null | sed -n 's/^Status: //p')"
for f in usr/bin/s3csfs usr/share/man/man8/s3csfs.8.gz usr/share/man/man5/s3csfs.conf.5.gz \
	lib/systemd/system/s3csfs@.service etc/s3csfs/s3csfs.conf.example; do
	check "installed /$f" test -s "$R/$f"
done
check "installed /usr/sbin/mount.fuse.s3csfs, a link to mount.fuse3" \
	bash -c '[ -L "$1" ] && [ "$(basename "$(readlink "$1")")" = mount.fuse3 ]' _ "$R/usr/sbin/mount.fuse.s3csfs"
check "mount.fuse3 of this machine's fuse3 is at the link's target" test -x /sbin/mount.fuse3
check_eq "the installed binary runs" "s3csfs $VERSION" "$("$R/usr/bin/s3csfs" --version 2>&1)"
check "the example configuration is etc/s3csfs.conf" cmp -s "$TOP/etc/s3csfs.conf" "$R/etc/s3csfs/s3csfs.conf.example"
UNIT=$R/lib/systemd/system/s3csfs@.service
check "the unit runs /usr/bin/s3csfs" grep -q '^ExecStart=/usr/bin/s3csfs ' "$UNIT"
check "the unit reads /etc/s3csfs/%i.conf" grep -q 'conf=/etc/s3csfs/%i.conf,' "$UNIT"
check "the unit unmounts with /bin/fusermount3 (fuse3's path)" grep -q '^ExecStop=.*/bin/fusermount3 -u' "$UNIT"
check "the unit is Type=notify" grep -qx 'Type=notify' "$UNIT"
check "no @variable@ left in the unit" bash -c '! grep -q "@[A-Za-z_]*@" "$1"' _ "$UNIT"
check "mandoc -Tlint s3csfs.8: clean" bash -c 'zcat "$1" | mandoc -Tlint 2>/dev/null' _ "$R/usr/share/man/man8/s3csfs.8.gz"

echo "# upgrade: the operator's files are kept"
echo "# edited by the operator" >> "$R/etc/s3csfs/s3csfs.conf.example"
printf '[bucket:main]\nname = mine\n' > "$R/etc/s3csfs/store.conf"
echo "MOUNTPOINT=/srv/store" > "$R/etc/default/s3csfs-store" 2>/dev/null ||
	{ mkdir -p "$R/etc/default" && echo "MOUNTPOINT=/srv/store" > "$R/etc/default/s3csfs-store"; }
mkdir -p "$R/var/cache/s3csfs/objects"
echo cached > "$R/var/cache/s3csfs/objects/x"
# The same package as version +1 (repacked, not rebuilt).
rm -rf "$WORK/up"
dpkg-deb -R "$DEB" "$WORK/up"
sed -i "s/^Version: .*/Version: $VERSION.1/" "$WORK/up/DEBIAN/control"
dpkg-deb -b --root-owner-group "$WORK/up" "$WORK/up.deb" > /dev/null
"${DPKG[@]}" -i "$WORK/up.deb" > "$WORK/dpkg-up.log" 2>&1 < /dev/null
check_eq "upgrade to $VERSION.1: exit status 0" 0 "$?"
check_eq "upgraded" "$VERSION.1" "$(dpkg --root="$R" -s s3csfs 2>/dev/null | sed -n 's/^Version: //p')"
check_eq "the edited conffile is kept" "# edited by the operator" "$(tail -1 "$R/etc/s3csfs/s3csfs.conf.example")"
check "the operator's store.conf is kept" grep -q 'name = mine' "$R/etc/s3csfs/store.conf"

echo "# remove, then purge"
"${DPKG[@]}" -r s3csfs > "$WORK/dpkg-r.log" 2>&1
check_eq "dpkg -r: exit status 0" 0 "$?"
check "remove: the binary is gone" test ! -e "$R/usr/bin/s3csfs"
check "remove: the unit is gone" test ! -e "$UNIT"
check "remove: the conffile stays" test -s "$R/etc/s3csfs/s3csfs.conf.example"
check "remove: store.conf stays" test -s "$R/etc/s3csfs/store.conf"
check "remove: the cache stays" test -s "$R/var/cache/s3csfs/objects/x"
check_eq "status: config-files" "deinstall ok config-files" \
	"$(dpkg --root="$R" -s s3csfs 2>/dev/null | sed -n 's/^Status: //p')"
"${DPKG[@]}" -P s3csfs > "$WORK/dpkg-p.log" 2>&1
check_eq "dpkg -P: exit status 0" 0 "$?"
check "purge: /etc/s3csfs is gone" test ! -e "$R/etc/s3csfs"
check "purge: /etc/default/s3csfs-store is gone" test ! -e "$R/etc/default/s3csfs-store"
check "purge: the cache stays (it may hold pending uploads)" test -s "$R/var/cache/s3csfs/objects/x"
check_eq "purge: nothing of the package left but the cache" "" \
	"$(cd "$R" && find . ! -type d ! -path './var/lib/dpkg/*' ! -path './var/cache/s3csfs/*')"

echo "# boot order"
"${DPKG[@]}" -i "$DEB" > "$WORK/dpkg2.log" 2>&1
# The root has no systemd and no shell of its own: give it this machine's
# units (the targets the unit names) and the two commands the unit runs
# besides the daemon, so that verify checks the packaged unit with the
# packaged paths.
mkdir -p "$R/usr/lib/systemd" "$R/bin"
cp -a /lib/systemd/system "$R/usr/lib/systemd/"
cp /bin/sh /bin/kill "$R/bin/"
out=$(systemd-analyze verify --man=no --root="$R" "$UNIT" 2>&1)
rc=$?
check_eq "systemd-analyze verify --root of the installed unit (exit status)" 0 "$rc"
check_eq "systemd-analyze verify: no warnings" "" "$out"
check "the unit waits for network-online.target" grep -qx 'After=network-online.target' "$UNIT"
check "... and pulls it in" grep -qx 'Wants=network-online.target' "$UNIT"
# The fstab line of README and s3csfs(8), through systemd's generator.
FSTAB_LINE=$(sed -n 's/^ *\(s3csfs  *\/var\/lib\/alfresco\/contentstore  *fuse\.s3csfs .*x-systemd\.requires=network-online\.target.*\)$/\1/p' "$TOP/README.md" | head -1)
check "README has the fstab line with x-systemd.requires=network-online.target" test -n "$FSTAB_LINE"
check "s3csfs(8) has the same options" grep -qF "$(echo "$FSTAB_LINE" | awk '{ print $4 }')" "$TOP/man/s3csfs.8"
echo "$FSTAB_LINE" > "$WORK/fstab"
G=$WORK/gen
mkdir -p "$G/normal" "$G/early" "$G/late"
SYSTEMD_FSTAB=$WORK/fstab SYSTEMD_PROC_CMDLINE='' /lib/systemd/system-generators/systemd-fstab-generator \
	"$G/normal" "$G/early" "$G/late" > "$WORK/gen.log" 2>&1
check_eq "systemd-fstab-generator: exit status 0" 0 "$?"
MU=$G/normal/var-lib-alfresco-contentstore.mount
check "the generated mount unit is of type fuse.s3csfs" grep -qx 'Type=fuse.s3csfs' "$MU"
check "it requires network-online.target" grep -qx 'Requires=network-online.target' "$MU"
check "it starts after network-online.target" grep -qx 'After=network-online.target' "$MU"
check "_netdev: a remote mount, which remote-fs.target requires" \
	test -L "$G/normal/remote-fs.target.requires/var-lib-alfresco-contentstore.mount"
out=$(systemd-analyze verify --man=no "$MU" 2>&1)
check_eq "systemd-analyze verify of the mount unit: clean" "0:" "$?:$out"

finish
