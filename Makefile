# isc - thin wrapper around meson: deps, build, check, demo, bench, install.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
ASAN_BUILD ?= build-asan

PKGS = gcc meson ninja-build pkg-config libseccomp-dev libcap-dev libsodium-dev \
       libssl-dev libarchive-dev libjson-c-dev libmnl-dev libnftables-dev \
       libsystemd-dev libcmocka-dev erofs-utils busybox-static debootstrap e2fsprogs util-linux \
       iproute2 nftables jq minisign curl wget socat prometheus \
       podman runc containerd
# what make check-vm needs on the host (tests/vm/run.sh, docs/vm.md)
VM_PKGS = qemu-system-x86 qemu-utils debootstrap busybox-static e2fsprogs cpio kmod xz-utils zstd
BENCH_PKGS = bubblewrap runc systemd-container hyperfine fio jq aide

.PHONY: all deps vm-deps build check check-vm demo bench install clean

all: build

# Install whatever is missing, quietly; a second run does nothing.
deps:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

vm-deps:
	@missing=$$(for p in $(VM_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX) >/dev/null

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Dsanitize=true -Dwerror=true >/dev/null

check: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ISC_BUILD=$(ASAN_BUILD) tests/run.sh

# the integration scenarios inside QEMU on Debian's stock kernels (docs/vm.md);
# VM_KERNELS="bookworm trixie", VM_TESTS="t_...", VM_TIMEOUT=seconds per VM
check-vm: deps vm-deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ISC_BUILD=$(ASAN_BUILD) tests/vm/run.sh

demo: build
	ISC_BUILD=$(BUILD) ./demo.sh

bench: build
	@missing=$$(for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	[ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null
	ISC_BUILD=$(BUILD) bench/start.sh
	ISC_BUILD=$(BUILD) bench/confine.sh
	ISC_BUILD=$(BUILD) bench/crypt.sh
	ISC_BUILD=$(BUILD) bench/commit.sh

install: build
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
