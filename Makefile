# ferrotls: build, demo, test, install.  GNU make.
#
#   make            release library (cargo) + the C examples in target/examples-c/
#   make demo       a real TLS conversation between the two examples, explained step by step
#   make test       cargo tests, the C / interop tests (tests/c/run.sh), Python, then make test-libssl
#   make deps       install what `make test` and `make bench` need (Debian packages; root or sudo)
#   make bench      in-memory benchmarks: ferrotls vs rustls vs OpenSSL, ring as the floor (bench/)
#   make bench-nginx  Debian's nginx on OpenSSL's libssl and on ours, side by side (bench/nginx/)
#   make install    PREFIX=/usr/local DESTDIR=   (.so + SONAME symlinks, .a, header, ferrotls.pc, examples;
#                   the OpenSSL layer in LIBDIR/ferrotls-openssl/libssl.so.3 and bin/ferrotls-openssl)
#   make uninstall  the same PREFIX and DESTDIR: removes what make install put there
#   make clean
#   make loadgen    the bounded load generator tests/c/loadgen.c -> target/examples-c/ferrotls-loadgen
#   make libssl     target/libssl/libssl.so.3, the OpenSSL 3 libssl ABI over ferrotls: programs built
#                   for OpenSSL run on it with LD_LIBRARY_PATH=target/libssl (docs/libssl-support.md)
#   make test-libssl  its tests (tests/libssl/run.sh); make libssl-matrix rewrites docs/libssl-support.md
SHELL := /bin/bash

# rustup installs cargo in ~/.cargo/bin, which a fresh shell may not have on PATH.
CARGO ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
BINDIR = $(PREFIX)/bin
# The OpenSSL layer's libssl.so.3 goes into a directory of its own, which the dynamic loader does
# not search: only programs started through bin/ferrotls-openssl (LD_LIBRARY_PATH) load it, never
# a program that asks for the system's libssl.so.3.
LIBSSL_DIR = $(LIBDIR)/ferrotls-openssl
# Run after installing into a directory the dynamic loader searches (see install).
LDCONFIG ?= $(firstword $(wildcard /sbin/ldconfig /usr/sbin/ldconfig) ldconfig)

VERSION := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
# The ABI number is the SONAME suffix (libferrotls.so.$(ABI)); the header carries it too.
ABI := $(shell sed -n 's/^\#define FERROTLS_ABI_VERSION \([0-9]*\).*/\1/p' include/ferrotls.h 2>/dev/null | head -n 1)
ifeq ($(ABI),)
ABI := 1
endif

RELEASE_DIR := target/release
LIB_SO := $(RELEASE_DIR)/libferrotls.so
LIB_A := $(RELEASE_DIR)/libferrotls.a
EXDIR := target/examples-c
EXAMPLES := $(EXDIR)/ferrotls-client $(EXDIR)/ferrotls-server
EXAMPLE_SRC := examples-c/client.c examples-c/server.c examples-c/common.c examples-c/common.h

CFLAGS_EX := -O2 -g -Wall -Wextra -Werror -std=c99 -D_POSIX_C_SOURCE=200809L -Iinclude -Iexamples-c
LDFLAGS_EX := -L$(RELEASE_DIR) -lferrotls -Wl,-rpath,$(abspath $(RELEASE_DIR))
# What a static link of libferrotls.a needs besides (Rust's std on Linux/glibc).
LIBS_PRIVATE := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc


.PHONY: all lib examples demo test test-c deps deps-if-missing install uninstall clean bench help loadgen libssl test-libssl libssl-matrix

all: examples

help:
	@sed -n '2,/^[^#]/p' Makefile | sed -n 's/^# \{0,1\}//p'

# cargo keeps its own dependency tracking, so this always asks it.
lib:
	$(CARGO) build --release
	@test -f $(LIB_SO) || { echo "error: cargo did not produce $(LIB_SO)" >&2; exit 1; }
	@test -f include/ferrotls.h || { echo "error: include/ferrotls.h is missing (build.rs generates it)" >&2; exit 1; }
	@# The library's SONAME (libferrotls.so.N) is what programs record; make it resolvable in the build tree.
	@soname=$$(objdump -p $(LIB_SO) 2>/dev/null | sed -n 's/^ *SONAME *//p'); \
	if [ -n "$$soname" ] && [ "$$soname" != libferrotls.so ]; then ln -sf libferrotls.so $(RELEASE_DIR)/$$soname; fi

examples: lib
	@mkdir -p $(EXDIR)
	$(CC) $(CFLAGS_EX) -o $(EXDIR)/ferrotls-client examples-c/client.c examples-c/common.c $(LDFLAGS_EX)
	$(CC) $(CFLAGS_EX) -o $(EXDIR)/ferrotls-server examples-c/server.c examples-c/common.c $(LDFLAGS_EX)

# ---- loadgen: a bounded TLS load generator for ferrotls-server --echo (tests/c/run.sh uses it)
LOADGEN := $(EXDIR)/ferrotls-loadgen

loadgen: lib
	@mkdir -p $(EXDIR)
	$(CC) $(CFLAGS_EX) -o $(LOADGEN) tests/c/loadgen.c examples-c/common.c $(LDFLAGS_EX)

# The OpenSSL layer: target/libssl/libssl.so.3, a libssl for programs built against OpenSSL 3
# (LD_LIBRARY_PATH=target/libssl PROGRAM). Its own crate, openssl-compat/.
# The copy replaces the file (rename), never rewrites it in place: a program running on the old
# one keeps its mapping intact, and nothing ever reads a half-written library.
libssl:
	$(CARGO) build --release --manifest-path openssl-compat/Cargo.toml
	mkdir -p target/libssl
	tmp=target/libssl/.libssl.so.3.tmp$$$$; cp openssl-compat/target/release/libssl.so $$tmp && \
		mv -f $$tmp target/libssl/libssl.so.3 || { rm -f $$tmp; exit 1; }

test-libssl: libssl
	bash tests/libssl/run.sh

# docs/libssl-support.md: what is implemented, per function and per program (tests/libssl/run.sh
# checks it is current with --check).
libssl-matrix:
	bash scripts/libssl-matrix.sh

demo: all
	bash scripts/demo.sh

test: deps-if-missing all
	$(CARGO) test
	bash tests/c/run.sh
	@echo "== Python tests (bindings/python; needs bindings/python/requirements-test.txt)"
	python3 -m pytest -q -p no:cacheprovider bindings/python/tests
	$(MAKE) --no-print-directory test-libssl

test-c: all
	bash tests/c/run.sh

deps:
	bash scripts/install-deps.sh

# `make test` installs what a fresh machine lacks (Debian packages, Python test requirements).
deps-if-missing:
	bash scripts/install-deps.sh --if-missing

install: all libssl
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libferrotls.so.$(VERSION)
	ln -sf libferrotls.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libferrotls.so.$(ABI)
	ln -sf libferrotls.so.$(ABI) $(DESTDIR)$(LIBDIR)/libferrotls.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libferrotls.a
	install -m 0644 include/ferrotls.h $(DESTDIR)$(INCLUDEDIR)/ferrotls.h
	printf '%s\n' \
		'prefix=$(PREFIX)' \
		'exec_prefix=$${prefix}' \
		'libdir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))' \
		'includedir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))' \
		'' \
		'Name: ferrotls' \
		'Description: TLS 1.3 engine in Rust with a C API' \
		'Version: $(VERSION)' \
		'Libs: -L$${libdir} -lferrotls' \
		'Libs.private: $(LIBS_PRIVATE)' \
		'Cflags: -I$${includedir}' > $(DESTDIR)$(LIBDIR)/pkgconfig/ferrotls.pc
	@# The installed examples find the installed library (rpath = $(LIBDIR)), not the build tree.
	$(CC) $(CFLAGS_EX) -o $(DESTDIR)$(BINDIR)/ferrotls-client examples-c/client.c examples-c/common.c \
		-L$(RELEASE_DIR) -lferrotls -Wl,-rpath,$(LIBDIR)
	$(CC) $(CFLAGS_EX) -o $(DESTDIR)$(BINDIR)/ferrotls-server examples-c/server.c examples-c/common.c \
		-L$(RELEASE_DIR) -lferrotls -Wl,-rpath,$(LIBDIR)
	@# The OpenSSL layer: libssl.so.3 in a directory of its own (never over the system's), and the
	@# wrapper that runs a program on it, with the installed directory (without DESTDIR) written in.
	install -d "$(DESTDIR)$(LIBSSL_DIR)"
	install -m 0755 target/libssl/libssl.so.3 "$(DESTDIR)$(LIBSSL_DIR)/libssl.so.3"
	dir=$$(printf '%s\n' '$(LIBSSL_DIR)' | sed 's/[\\&|]/\\&/g'); \
	sed -e "s|@LIBSSL_DIR@|$$dir|g" -e 's|@VERSION@|$(VERSION)|g' scripts/ferrotls-openssl.in \
		>"$(DESTDIR)$(BINDIR)/ferrotls-openssl.tmp"
	chmod 0755 "$(DESTDIR)$(BINDIR)/ferrotls-openssl.tmp"
	mv -f "$(DESTDIR)$(BINDIR)/ferrotls-openssl.tmp" "$(DESTDIR)$(BINDIR)/ferrotls-openssl"
	@echo "installed $(LIBSSL_DIR)/libssl.so.3: run a program built for OpenSSL on it with $(BINDIR)/ferrotls-openssl COMMAND"
	@# How programs find libferrotls.so.$(ABI) when they start. ferrotls.pc has no rpath (a system
	@# prefix must not get one): a directory the loader searches (ld.so.conf, e.g. /usr/local/lib)
	@# needs ldconfig after a real install, run here as root; any other prefix needs
	@# -Wl,-rpath,$(LIBDIR) when linking (the README's build command) or LD_LIBRARY_PATH.
	@if [ -n "$(DESTDIR)" ]; then :; \
	elif { $(LDCONFIG) -v -N -X 2>/dev/null | sed -n 's/^\(\/[^:]*\):.*/\1/p'; \
	       printf '%s\n' /lib /usr/lib /lib64 /usr/lib64; } | grep -qxF '$(LIBDIR)'; then \
		if [ "$$(id -u)" = 0 ]; then \
			$(LDCONFIG) && echo "ran $(LDCONFIG): programs find libferrotls.so.$(ABI) in $(LIBDIR)"; \
		else echo "note: run 'sudo $(LDCONFIG)' so that programs find libferrotls.so.$(ABI) in $(LIBDIR)"; fi; \
	else \
		echo "note: the dynamic loader does not search $(LIBDIR): link with -Wl,-rpath,$(LIBDIR)"; \
		echo "      (cc app.c \$$(pkg-config --cflags --libs ferrotls) -Wl,-rpath,\$$(pkg-config --variable=libdir ferrotls))"; \
		echo "      or run programs with LD_LIBRARY_PATH=$(LIBDIR)"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libferrotls.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libferrotls.so.$(ABI) \
		$(DESTDIR)$(LIBDIR)/libferrotls.so $(DESTDIR)$(LIBDIR)/libferrotls.a \
		$(DESTDIR)$(LIBDIR)/pkgconfig/ferrotls.pc $(DESTDIR)$(INCLUDEDIR)/ferrotls.h \
		$(DESTDIR)$(BINDIR)/ferrotls-client $(DESTDIR)$(BINDIR)/ferrotls-server \
		"$(DESTDIR)$(LIBSSL_DIR)/libssl.so.3" "$(DESTDIR)$(BINDIR)/ferrotls-openssl"
	@# The private directory, if nothing else is in it.
	@! [ -d "$(DESTDIR)$(LIBSSL_DIR)" ] || rmdir "$(DESTDIR)$(LIBSSL_DIR)" 2>/dev/null || \
		echo "note: $(DESTDIR)$(LIBSSL_DIR) is not empty; left in place"

# bench/ is its own crate (own Cargo.lock and target/), so the library gains no dependencies.
# BENCH_SAMPLES and BENCH_SAMPLE_MS (environment) change the sampling; see bench/README.md.
bench:
	$(CARGO) run --release --manifest-path bench/Cargo.toml

# bench-nginx: Debian's nginx (one worker, CPU 0) on OpenSSL's libssl.so.3 and on ours, side by
# side in one run, load from CPU 1: handshakes/s, requests/s, MB/s, nginx CPU per operation, RSS
# of idle connections; a table on stdout and in bench/nginx/RESULTS.md (bench/nginx/README.md).
# It installs the Debian packages it lacks (wrk, ...). BENCH_NGINX_SECS, _ROUNDS, _ONLY: see there.
.PHONY: bench-nginx
bench-nginx: libssl
	bash bench/nginx/run.sh

clean:
	$(CARGO) clean
	rm -rf $(EXDIR)
