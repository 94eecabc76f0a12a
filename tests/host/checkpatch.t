#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# checkpatch --strict on every source of the tpmreserve module and its uapi
# header.  checkpatch.pl and its data files come from the distro's
# linux-source tarball (the one scripts/linux-source picks, as for the
# kselftest build), extracted once into build/checkpatch/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
dir=build/checkpatch
cp=$dir/scripts/checkpatch.pl

if [ ! -x "$cp" ]; then
	mkdir -p "$dir"
	tarball=$(scripts/linux-source 2>"$dir/linux-source.note")
	sed 's/^/# /' "$dir/linux-source.note"
	if [ -z "$tarball" ] || ! tar -xJf "$tarball" -C "$dir" --strip-components=1 \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'; then
		echo "not ok 1 - checkpatch.pl extracted from linux-source"
		echo "1..1"
		exit 1
	fi
fi

n=0
fail=0
for f in kmod/*.c kmod/*.h kmod/include/uapi/linux/*.h; do
	case $f in *.mod.c) continue ;; esac
	[ -e "$f" ] || continue
	n=$((n + 1))
	if out=$(perl "$cp" --strict --no-tree --quiet --show-types -f "$f" 2>&1) && [ -z "$out" ]; then
		echo "ok $n - checkpatch --strict $f"
	else
		echo "not ok $n - checkpatch --strict $f"
		printf '%s\n' "$out" | sed 's/^/# /'
		fail=1
	fi
done
echo "1..$n"
exit $fail
