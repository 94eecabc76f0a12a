#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# make install into a staging root (DESTDIR): every file lands under it,
# where it belongs, and nothing is written to the live system; then
# kmod/dkms.conf against the tree: DKMS builds the module from a copy of
# kmod/, as the admin guide has it, in private DKMS trees.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/tw-install.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
. "$top/tests/lib/tap.sh"

kver=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
root=$work/root
prefix=$root/usr/local

# What an install outside DESTDIR would touch: the module tree (and
# depmod's files in it), the PREFIX tree, the dynamic linker's cache, the
# system's DKMS trees.
live_listing() {
	find /usr/local /lib/modules /var/lib/dkms /etc/ld.so.cache \
		-printf '%p %y %s %T@\n' 2>/dev/null | sort
	find /usr/src -maxdepth 1 -printf '%p %y %T@\n' | sort
}

# The files make install staged, each where it belongs.
check_staged() {
	ko=$(find "$root/lib/modules/$kver" -name tpmreserve.ko 2>/dev/null | head -n 1)
	[ -n "$ko" ] && [ "$(modinfo -F name "$ko")" = tpmreserve ]
	ok $? "the module is under DESTDIR/lib/modules/$kver (${ko#"$root"})"

	cmp -s kmod/include/uapi/linux/tpmreserve.h "$prefix/include/linux/tpmreserve.h"
	ok $? "the uapi header is PREFIX/include/linux/tpmreserve.h"

	missing=""
	for h in user/include/tlswitness/*.h; do
		cmp -s "$h" "$prefix/include/tlswitness/${h##*/}" || missing="$missing ${h##*/}"
	done
	[ -z "$missing" ]
	ok $? "every user/include/tlswitness header is in PREFIX/include/tlswitness${missing:+ (not:$missing)}"

	# The installed headers are all a user of the library needs to include.
	bad=""
	for h in "$prefix"/include/tlswitness/*.h "$prefix"/include/linux/tpmreserve.h; do
		rel=${h#"$prefix/include/"}
		printf '#include <%s>\n' "$rel" |
			cc -std=gnu11 -Wall -Werror -fsyntax-only -I"$prefix/include" -x c - \
				>"$work/cc" 2>&1 || { bad="$bad $rel"; sed 's/^/# /' "$work/cc"; }
	done
	[ -z "$bad" ]
	ok $? "each installed header compiles on its own from PREFIX/include${bad:+ (not:$bad)}"

	cmp -s build/libtlswitness.a "$prefix/lib/libtlswitness.a"
	ok $? "the library is PREFIX/lib/libtlswitness.a"

	tcti=$prefix/lib/libtss2-tcti-tpmreserve.so.0
	[ -f "$tcti" ] && [ "$(readlink "$prefix/lib/libtss2-tcti-tpmreserve.so")" = "${tcti##*/}" ]
	ok $? "the TCTI is PREFIX/lib/libtss2-tcti-tpmreserve.so.0, with the .so link"

	# dlopen by the name tss2-tctildr tries first finds it, and it is ours.
	name=$(LD_LIBRARY_PATH=$prefix/lib python3 -c '
import ctypes
class Info(ctypes.Structure):
	_fields_ = [("version", ctypes.c_uint32), ("name", ctypes.c_char_p)]
lib = ctypes.CDLL("libtss2-tcti-tpmreserve.so.0")
lib.Tss2_Tcti_Info.restype = ctypes.POINTER(Info)
print(lib.Tss2_Tcti_Info().contents.name.decode())' 2>&1 | tail -n 1)
	[ "$name" = tcti-tpmreserve ]
	ok $? "dlopen(libtss2-tcti-tpmreserve.so.0) from PREFIX/lib gives Tss2_Tcti_Info ($name)"

	# tpm2-tools with -T tpmreserve: tss2-tctildr loads the library from the
	# linker path and calls its init, which fails only because there is no
	# reserved device here.  Not finding the library would fail before that
	# line; without the library on the path it must not appear.
	LD_LIBRARY_PATH=$prefix/lib tpm2_getrandom -T "tpmreserve:$work/no-device" 8 \
		>/dev/null 2>"$work/tools"
	found=$(grep -c "Could not initialize TCTI file: tpmreserve" "$work/tools")
	env -u LD_LIBRARY_PATH tpm2_getrandom -T "tpmreserve:$work/no-device" 8 \
		>/dev/null 2>"$work/tools-none"
	none=$(grep -c "Could not initialize TCTI file: tpmreserve" "$work/tools-none")
	if [ -e /usr/local/lib/libtss2-tcti-tpmreserve.so.0 ]; then
		none=0	# installed on this machine: only the staged load can be told apart
	fi
	[ "$found" -ge 1 ] && [ "$none" -eq 0 ]
	ok $? "tpm2_getrandom -T tpmreserve loads the staged TCTI"
	[ "$found" -ge 1 ] || sed 's/^/# /' "$work/tools"

	cmp -s build/tlswitness "$prefix/bin/tlswitness" && [ -x "$prefix/bin/tlswitness" ]
	ok $? "the command is PREFIX/bin/tlswitness"
	cmp -s Documentation/tlswitness.1 "$prefix/share/man/man1/tlswitness.1"
	ok $? "the manual page is PREFIX/share/man/man1/tlswitness.1"

	stray=$(cd "$root" && find . ! -type d | grep -v -E \
		'^\./(lib/modules/[^/]+/|usr/local/(bin|lib|include|share/man/man1)/)' | head -n 5)
	[ -z "$stray" ]
	ok $? "nothing else under DESTDIR${stray:+ (also: ${stray//$'\n'/ })}"
}

live_listing >"$work/before"
make --no-print-directory install DESTDIR="$root" >"$work/log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 30 "$work/log" | sed 's/^/# /'
ok $rc "make install DESTDIR=... succeeds"
[ $rc -ne 0 ] || check_staged

live_listing >"$work/after"
diff "$work/before" "$work/after" >"$work/diff"
rc=$?
[ $rc -eq 0 ] || head -n 20 "$work/diff" | sed 's/^/# /'
ok $rc "nothing changed in /usr/local, /lib/modules, /var/lib/dkms or the linker cache"

# kmod/dkms.conf, read as DKMS reads it (a shell fragment).
conf() {
	(set +u; . kmod/dkms.conf; eval "printf '%s' \"\${$1}\"")
}
pkg=$(conf PACKAGE_NAME)
ver=$(conf PACKAGE_VERSION)
built=$(conf 'BUILT_MODULE_NAME[0]')
location=$(conf 'BUILT_MODULE_LOCATION[0]')
kbuild=kmod/${location:+$location/}Kbuild
[ -n "$pkg" ] && [ "$pkg" = "$built" ] && grep -Eq "^obj-m[[:space:]]*:?\+?=[[:space:]]*$built\.o" "$kbuild"
ok $? "dkms.conf: BUILT_MODULE_NAME $built is the module $kbuild builds (PACKAGE_NAME $pkg)"

# Every place that tells the reader a DKMS version names this one.
others=$(grep -h -o -E "($pkg/|/usr/src/$pkg-)[0-9]+(\.[0-9]+)*" kmod/dkms.conf \
	Documentation/*.rst README.md | sed -E "s|.*[/-]||" | sort -u | grep -v -x -F "$ver")
[ -n "$ver" ] && [ -z "$others" ]
ok $? "dkms.conf: PACKAGE_VERSION $ver is the version the documentation gives${others:+ (also: ${others//$'\n'/ })}"

# DKMS builds from a copy of kmod/ (as "cp -r kmod /usr/src/$pkg-$ver" in
# the admin guide), with its source and build trees and its signing key
# under $work.
mkdir -p "$work/src" "$work/dkms"
cp -r kmod "$work/src/$pkg-$ver"
mok_signing_key=$work/mok.key mok_certificate=$work/mok.pub \
	dkms build -m "$pkg" -v "$ver" -k "$kver" \
	--sourcetree "$work/src" --dkmstree "$work/dkms" >"$work/dkms.log" 2>&1
rc=$?
dko=$(find "$work/dkms/$pkg/$ver/$kver" -path '*/module/*' -name "$built.ko" 2>/dev/null)
[ $rc -eq 0 ] && [ -n "$dko" ] && [ "$(modinfo -F name "$dko")" = "$built" ]
rc=$?
if [ $rc -ne 0 ]; then
	sed 's/^/# /' "$work/dkms.log"
	find "$work/dkms" -name make.log -exec tail -n 20 {} + | sed 's/^/# /'
fi
ok $rc "dkms build $pkg/$ver for $kver from a copy of kmod/ gives $built.ko"

modver=$([ -n "$dko" ] && modinfo -F version "$dko")
[ -z "$modver" ] || [ "$modver" = "$ver" ]
ok $? "the module's MODULE_VERSION (${modver:-none}) is not other than PACKAGE_VERSION"

live_listing >"$work/after-dkms"
diff -q "$work/before" "$work/after-dkms" >/dev/null
ok $? "the DKMS build left the system's DKMS and module trees alone"

echo "1..$n"
