# hvctl — the commands a new user types. Every target installs what it needs first.
SWIFT ?= swift
ON_SYSTEMD := scripts/on-systemd

.PHONY: all setup build run test bench testhost-up testhost-down clean

all: build

setup:
	@scripts/setup

build: setup
	$(SWIFT) build --product hvctl

## The main job: hvctl on a systemd host (this one, or a booted test host).
run: build
	$(ON_SYSTEMD) scripts/main-job

## The whole test suite, against real systemd, journald, dockerd and libvirtd.
test: setup
	$(SWIFT) build --build-tests
	$(ON_SYSTEMD) $(SWIFT) test --skip-build --no-parallel

## Benchmarks: figures, not pass/fail (kept out of CI).
bench: setup
	$(SWIFT) build -c release --product hvctl-bench
	$(SWIFT) build -c release --product hvctl
	$(ON_SYSTEMD) .build/release/hvctl-bench 100

testhost-up: setup
	scripts/testhost up

testhost-down:
	scripts/testhost down

clean:
	scripts/testhost down
	rm -rf .build
