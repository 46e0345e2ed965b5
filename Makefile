# hvctl — the commands a new user types. Every target installs what it needs first.
SWIFT ?= swift
ON_SYSTEMD := scripts/on-systemd

.PHONY: all setup build run test bench deb install uninstall testhost-up testhost-down clean

PREFIX ?= /usr/local
DESTDIR ?=
CONFIG ?= release
# Release builds link Swift's runtime and Foundation statically: every hvctl command then
# starts in about 6 ms instead of 10 (no symbol lookup across a dozen shared libraries), which
# is most of what `hvctl logs` or a no-op `hvctl start` costs. The binary is larger (~52 MB;
# 22 MB stripped, as the Debian package has it).
STATIC := --static-swift-stdlib
BINDIR := $(PREFIX)/bin
UNITDIR := $(PREFIX)/lib/systemd/system
COMPLETIONDIR := $(PREFIX)/share/bash-completion/completions

all: build

setup:
	@scripts/setup

build: setup
	$(SWIFT) build --product hvctl

## The main job: hvctl on a systemd host (this one, or a booted test host).
run: build
	$(ON_SYSTEMD) scripts/main-job

## The whole test suite, against real systemd, journald, dockerd, podman and libvirtd; the
## Debian package first, which a test installs in the test host. Then the Ansible collection's
## tests and the fleet test: the README's playbook installs that package on three booted hosts
## (scripts/fleet) over ssh (ansible-core and pytest in a venv from PyPI, /opt/ansible-venv).
test: setup
	scripts/deb
	$(SWIFT) build --build-tests
	$(ON_SYSTEMD) $(SWIFT) test --skip-build --no-parallel
	ansible/tests/run --setup --fleet

## Benchmarks: figures, not pass/fail (kept out of CI). HVCTL_BENCH_ONLY=fleet runs only the
## fleet's (hvctl cleanup of three hosts through Ansible against an ssh loop).
bench: setup
	$(SWIFT) build -c release $(STATIC) --product hvctl-bench
	$(SWIFT) build -c release $(STATIC) --product hvctl
	if [ "$${HVCTL_BENCH_ONLY:-}" != fleet ]; then $(ON_SYSTEMD) .build/release/hvctl-bench 100; fi
	if [ -z "$${HVCTL_BENCH_ONLY:-}" ] || [ "$${HVCTL_BENCH_ONLY}" = fleet ]; then \
		scripts/deb && ansible/tests/run --setup --fleet-bench; fi

## dist/hvctl_VERSION-1_amd64.deb, checked with lintian.
deb: setup
	scripts/deb

## hvctl, its units (hvctl.slice, hvctl@.service, hvctl-cleanup.service), its man pages and its
## bash, zsh and fish completions.
## CONFIG=debug installs the debug build; an existing build is used as it is.
install:
	@test -x .build/$(CONFIG)/hvctl || $(SWIFT) build -c $(CONFIG) $(if $(filter release,$(CONFIG)),$(STATIC)) --product hvctl
	install -D -m 0755 .build/$(CONFIG)/hvctl $(DESTDIR)$(BINDIR)/hvctl
	for unit in hvctl.slice hvctl@.service hvctl-cleanup.service; do \
		sed 's|@BINDIR@|$(BINDIR)|g' units/$$unit > units/.$$unit.tmp && \
		install -D -m 0644 units/.$$unit.tmp $(DESTDIR)$(UNITDIR)/$$unit; rm -f units/.$$unit.tmp; \
	done
	scripts/docs .build/$(CONFIG)/hvctl "$(DESTDIR)" $(PREFIX)
	@if [ -z "$(DESTDIR)" ] && [ "$$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then systemctl daemon-reload; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hvctl $(DESTDIR)$(COMPLETIONDIR)/hvctl $(DESTDIR)$(PREFIX)/share/man/man1/hvctl*.1.gz
	rm -f $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_hvctl $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/hvctl.fish
	rm -f $(DESTDIR)$(UNITDIR)/hvctl.slice $(DESTDIR)$(UNITDIR)/hvctl@.service $(DESTDIR)$(UNITDIR)/hvctl-cleanup.service

testhost-up: setup
	scripts/testhost up

testhost-down:
	scripts/testhost down

clean:
	scripts/testhost down
	rm -rf .build
