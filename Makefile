# SPDX-License-Identifier: BSD-2-Clause
#
# tlswitness top-level build.  Userspace outputs go under build/; the
# module is built by Kbuild in kmod/.  Targets:
#   all (default)  module + userspace      check      every test suite
#   kmod           tpmreserve.ko           kselftest  module tests in the VM
#   user           libtlswitness, CLI      bench      benchmarks (ratios)
#   demo           the main job            fuzz       long fuzzing runs
#   install        module + headers + CLI  clean      back to as cloned

KVER	?= $(shell ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
KDIR	?= /lib/modules/$(KVER)/build
B	:= build
PREFIX	?= /usr/local

CC	?= cc
CFLAGS	?= -O2 -g
WARN	:= -Wall -Wextra -Werror -Wno-unused-parameter -Wformat=2 -Wshadow \
	   -Wstrict-prototypes -Wmissing-prototypes
PKGS	:= tss2-esys tss2-sys tss2-mu tss2-rc tss2-tctildr libssl libcrypto json-c
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) -fPIC -Iuser/include -Ikmod/include/uapi \
	     $(PKG_CFLAGS) $(CFLAGS)

LIB_SRC	:= $(wildcard user/lib/*.c)
CLI_SRC	:= $(wildcard user/cli/*.c)
TCTI_SRC := $(wildcard user/tcti/*.c)
UNIT_SRC := $(wildcard tests/unit/*.c)
PROG_SRC := $(wildcard tests/prog/*.c)
KST_SRC	:= $(wildcard tests/kselftest/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/*.c)

LIB_OBJ	:= $(LIB_SRC:user/lib/%.c=$(B)/obj/lib/%.o)
CLI_OBJ	:= $(CLI_SRC:user/cli/%.c=$(B)/obj/cli/%.o)
TCTI_OBJ := $(TCTI_SRC:user/tcti/%.c=$(B)/obj/tcti/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
PROG_BIN := $(PROG_SRC:tests/prog/%.c=$(B)/tests/prog/%)
KST_BIN	:= $(KST_SRC:tests/kselftest/%.c=$(B)/kselftest/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

LIBA	:= $(B)/libtlswitness.a
CLI	:= $(if $(CLI_SRC),$(B)/tlswitness)
TCTI_SO	:= $(if $(TCTI_SRC),$(B)/libtss2-tcti-tpmreserve.so)

.PHONY: all kmod user userspace check kselftest bench demo fuzz install clean setup-check
all: kmod user

setup-check:
	@scripts/setup --check >/dev/null 2>&1 || scripts/setup

# The module: Kbuild against the distro headers, warnings as errors.
kmod: setup-check
	@if [ -n "$(wildcard kmod/*.c)" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 KCFLAGS=-Werror modules; \
	fi

user: setup-check
	@$(MAKE) --no-print-directory userspace

userspace: $(LIBA) $(CLI) $(TCTI_SO) $(UNIT_BIN) $(PROG_BIN) $(KST_BIN)

$(B)/obj/%.o: user/%.c $(wildcard user/include/tlswitness/*.h) $(wildcard user/lib/*.h) \
		$(wildcard kmod/include/uapi/linux/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ) $(TCTI_OBJ)
	@mkdir -p $(B)
	rm -f $@
	$(if $^,ar rcs $@ $^,ar rcs $@)

$(B)/tlswitness: $(CLI_OBJ) $(LIBA)
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(PKG_LIBS)

$(B)/libtss2-tcti-tpmreserve.so: $(TCTI_OBJ)
	$(CC) $(ALL_CFLAGS) -shared -o $@ $^ $(PKG_LIBS)

# tests/unit/*.c run directly from the host suite; tests/prog/*.c are
# programs that tests/host/*.t or tests/vm/*.t scripts drive.
$(B)/tests/%: tests/%.c $(LIBA) $(wildcard tests/unit/*.h tests/prog/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/prog -o $@ $< $(LIBA) $(PKG_LIBS)

# kselftest_harness.h comes from the distro's kernel source package at
# build time and is never committed.
KST_INC	:= $(B)/kselftest-include
# scripts/linux-source picks the tarball of the headers' kernel.
$(KST_INC)/.stamp:
	@mkdir -p $(KST_INC)
	tarball=$$(scripts/linux-source $(KVER)) && \
	tar -xJf "$$tarball" -C $(KST_INC) --strip-components=4 \
		--wildcards '*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/kselftest.h'
	@touch $@

$(B)/kselftest/%: tests/kselftest/%.c $(KST_INC)/.stamp $(wildcard tests/kselftest/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -Wall -Werror -O2 -g -I$(KST_INC) -Ikmod/include/uapi \
		-Itests/kselftest $(PKG_CFLAGS) -o $@ $< -lpthread $(PKG_LIBS)

# Fuzz targets: clang's libFuzzer with ASan and UBSan.
$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(TCTI_SRC)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -Iuser/include -Ikmod/include/uapi $(PKG_CFLAGS) \
		-o $@ $< $(LIB_SRC) $(TCTI_SRC) $(PKG_LIBS)

check: all $(FUZZ_BIN)
	@tests/run all

kselftest: all
	@tests/run kselftest

bench: all
	@scripts/bench

# The demo builds what all builds, but quietly: scripts/demo --make first
# says whether the demo can run at all (root for the VM), then builds with
# one line of progress and shows the build's output only if it fails.
demo:
	@scripts/demo --make $(if $(CA),--ca-file "$(CA)") $(if $(URL),"$(URL)")

fuzz: $(FUZZ_BIN)
	@tests/run fuzz-long

install: all
	@if [ -n "$(wildcard kmod/*.c)" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install; depmod -a $(KVER); fi
	install -d $(DESTDIR)$(PREFIX)/include/linux $(DESTDIR)$(PREFIX)/bin
	@for h in $(wildcard kmod/include/uapi/linux/*.h); do \
		install -m 644 $$h $(DESTDIR)$(PREFIX)/include/linux/; done
	@if [ -n "$(CLI)" ]; then install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/; fi

clean:
	@if [ -d $(KDIR) ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null; fi
	rm -rf $(B)
