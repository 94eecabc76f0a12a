# SPDX-License-Identifier: BSD-2-Clause
#
# tlswitness top-level build.  Userspace outputs go under build/; the
# module is built by Kbuild in kmod/.  Targets:
#   all (default)  module + userspace      check      every test suite
#   kmod           tpmreserve.ko           kselftest  module tests in the VM
#   user           libtlswitness, CLI      bench      benchmarks (ratios)
#   demo           the main job            fuzz       long fuzzing runs
#   install        module, headers, libs,  clean      back to as cloned
#                  TCTI, CLI, man page

KVER	?= $(shell ls /boot/vmlinuz-* 2>/dev/null | sed 's|.*/vmlinuz-||' | sort -V | tail -n 1)
KDIR	?= /lib/modules/$(KVER)/build
B	:= build
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
LIBDIR	?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MAN1DIR	?= $(PREFIX)/share/man/man1

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
TCTI_SONAME := libtss2-tcti-tpmreserve.so.0
TCTI_LINK := $(if $(TCTI_SRC),$(B)/$(TCTI_SONAME))

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

userspace: $(LIBA) $(CLI) $(TCTI_SO) $(TCTI_LINK) $(UNIT_BIN) $(PROG_BIN) $(KST_BIN)

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

# tss2-tctildr's dlopen tries libtss2-tcti-NAME.so.0 before .so: the
# .so.0 link makes LD_LIBRARY_PATH=build win over an installed copy.
$(B)/libtss2-tcti-tpmreserve.so: $(TCTI_OBJ)
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(TCTI_SONAME) -o $@ $^ $(PKG_LIBS)

$(B)/$(TCTI_SONAME): $(TCTI_SO)
	ln -sf $(notdir $<) $@

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

# install honours DESTDIR (a staging root: the module goes under
# DESTDIR/lib/modules, depmod and ldconfig are left to whoever installs
# the staged files) and PREFIX.  The TCTI goes where tss2-tctildr's
# dlopen finds it, so that tpm2-tools take -T tpmreserve.
install: all
	@if [ -n "$(wildcard kmod/*.c)" ]; then \
		$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) modules_install && \
		if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi; \
	fi
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MAN1DIR) \
		$(DESTDIR)$(INCLUDEDIR)/linux $(DESTDIR)$(INCLUDEDIR)/tlswitness
	install -m 644 $(wildcard kmod/include/uapi/linux/*.h) $(DESTDIR)$(INCLUDEDIR)/linux/
	install -m 644 $(wildcard user/include/tlswitness/*.h) $(DESTDIR)$(INCLUDEDIR)/tlswitness/
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	$(if $(CLI),install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/)
	install -m 644 Documentation/tlswitness.1 $(DESTDIR)$(MAN1DIR)/
	$(if $(TCTI_SO),install -m 755 $(TCTI_SO) $(DESTDIR)$(LIBDIR)/$(TCTI_SONAME))
	$(if $(TCTI_SO),ln -sf $(TCTI_SONAME) $(DESTDIR)$(LIBDIR)/$(notdir $(TCTI_SO)))
	@if [ -z "$(DESTDIR)" ] && [ -n "$(TCTI_SO)" ]; then ldconfig; fi

clean:
	@if [ -d $(KDIR) ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean >/dev/null; fi
	rm -rf $(B)
