# SPDX-License-Identifier: GPL-2.0-only
#
# iommu-replace: user-facing build, install and test targets.
#
#   make                     the module for the running kernel (= make module)
#   make module KVER=<rel>   the module for /lib/modules/<rel>/build;
#                            TEST=1 builds the test flavour, WERROR=1 fails on warnings
#   make build-all           every installed kernel, both flavours, warnings as errors
#   make lint                checkpatch.pl (from linux-source-6.12) and sparse (C=2)
#   make install             modules_install into updates/ and depmod, for KVER
#   make install-headers     uapi/linux/iommu_replace.h into $(PREFIX)/include/linux
#   make install-udev        the udev rule that gives group iommu-replace access
#   make dkms-install        register, build and install with DKMS for every
#                            installed kernel dkms.conf supports (the others are
#                            skipped, each with a line saying so)
#   make dkms-remove         remove this version from DKMS again
#                            (both take DKMS_VERSION=<v> to register another
#                            version string, DKMS_ROOT=<dir> to use DKMS trees
#                            under <dir> instead of the system's, and
#                            DKMS_KERNELS="<release> ..." to choose kernels)
#   make deb                 iommu-replace-dkms_<version>_all.deb and
#                            iommu-replace-dev_<version>_all.deb in build/deb/
#                            (debhelper with dh-dkms), checked by lintian
#   make tests               the guest test programs, into build/tests
#   make check               builds, lint, DKMS, and every QEMU test lane
#                            (filters: KERNEL=6.12 TOPOLOGY=vtd SUITE=basic;
#                            FUZZ_SECONDS=600 fuzzes longer than the default 60)
#   make debug-kernel        build (once per machine) the reliability lane's
#                            lockdep/KASAN/kmemleak/fault-injection kernel
#   make reference-kernel    build (once per machine) the 6.12 kernel with
#                            upstream iommufd that make bench measures
#   make demo                boot a QEMU guest and show the module working
#   make bench               figures against VFIO type1, in a QEMU guest,
#                            then on the reference kernel against upstream
#                            iommufd too (KVER=<release>|reference: one
#                            kernel alone; TOPOLOGY=vtd|amd; PROFILE_ONLY=1:
#                            only the profiles, in a minute)
#   make deps                install the Debian packages all of this needs
#
# Each build happens in build/<kernel release>/<flavour>/ on a copy of the
# sources, so kernels and flavours never share objects.

KVER ?= $(or $(KERNELRELEASE),$(shell uname -r))
KDIR ?= /lib/modules/$(KVER)/build
TEST ?= 0
WERROR ?= 0
PREFIX ?= /usr/local
DESTDIR ?=

yes = $(filter 1 y yes,$(1))
FLAVOUR := $(if $(call yes,$(TEST)),test,prod)
BUILD := $(CURDIR)/build
OBJDIR := $(BUILD)/$(KVER)/$(FLAVOUR)
COMPAT_DIR := $(BUILD)/$(KVER)/compat
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
SOURCES := Kbuild dkms.conf module include uapi
DKMS_VERSION ?= $(VERSION)
DKMS_ROOT ?=
DKMS_KERNELS ?= $(installed_kernels)
DKMS_SRC := $(DKMS_ROOT)/usr/src/iommu-replace-$(DKMS_VERSION)
# private trees keep DKMS's signing key there too (dkms creates one when
# none exists, in /var/lib/dkms whatever its trees)
DKMS := $(if $(DKMS_ROOT),mok_signing_key=$(DKMS_ROOT)/mok.key \
	mok_certificate=$(DKMS_ROOT)/mok.pub) dkms \
	$(if $(DKMS_ROOT),--sourcetree $(DKMS_ROOT)/usr/src \
	--dkmstree $(DKMS_ROOT)/var/lib/dkms --installtree $(DKMS_ROOT)/lib/modules \
	--no-depmod)
# sources the Debian package installed are dpkg's: leave them alone
dkms_not_packaged = if dpkg -S $(DKMS_SRC) > /dev/null 2>&1; then \
	echo "iommu-replace: $(DKMS_SRC) belongs to a Debian package ($$(dpkg -S $(DKMS_SRC) | cut -d: -f1)); use apt" >&2; \
	exit 1; fi
# What an in-place build ("make -C <kernel> M=$PWD") leaves in the tree;
# the copies DKMS and the package get drop it, and make clean removes it.
KBUILD_OBJECTS := -name '*.o' -o -name '*.ko' -o -name '*.ko.*' -o -name '*.mod' \
	-o -name '*.mod.c' -o -name '.*.cmd' -o -name Module.symvers -o -name modules.order
drop_objects = find $(1) -path $(1)/build -prune -o \( $(KBUILD_OBJECTS) \) -type f -print | \
	xargs -r rm -f
KBUILD_ARGS = -C $(KDIR) M=$(OBJDIR) IORP_COMPAT_DIR=$(COMPAT_DIR) \
	IOMMU_REPLACE_TEST=$(if $(call yes,$(TEST)),y,n) \
	IOMMU_REPLACE_WERROR=$(if $(call yes,$(WERROR)),y,n)

# Kernels with a build tree, and the files taken from the linux-source-6.12
# package at build time (never committed).
installed_kernels = $(shell for d in /lib/modules/*/build; do \
	[ -f "$$d/Module.symvers" ] && basename "$$(dirname "$$d")"; done | sort -V)
KSRC_TARBALL := /usr/src/linux-source-6.12.tar.xz
KSRC := $(BUILD)/linux-source-6.12
KSRC_FILES := scripts/checkpatch.pl scripts/spelling.txt \
	scripts/const_structs.checkpatch \
	tools/testing/selftests/kselftest_harness.h \
	tools/testing/selftests/kselftest.h \
	tools/testing/selftests/iommu/iommufd.c \
	tools/testing/selftests/iommu/iommufd_fail_nth.c \
	tools/testing/selftests/iommu/iommufd_utils.h \
	drivers/iommu/iommufd/iommufd_test.h \
	drivers/vfio/vfio.h \
	include/uapi/linux/iommufd.h \
	include/uapi/linux/vfio.h

.PHONY: all module build-all lint checkpatch sparse sparse-one debug-kernel reference-kernel install install-headers \
	install-udev dkms-install dkms-remove deb tests check demo bench deps clean

all: module

module:
	@if [ ! -f "$(KDIR)/Module.symvers" ]; then \
		echo "iommu-replace: no kernel build tree at $(KDIR); install linux-headers-$(KVER) or pass KVER=<release>" >&2; \
		exit 1; fi
	@bash module/compat/run-probes $(KDIR) $(COMPAT_DIR)
	@mkdir -p $(OBJDIR)
	@cp -R -p -u $(SOURCES) $(OBJDIR)/
	$(MAKE) $(KBUILD_ARGS) modules
	@echo "iommu-replace: built $(OBJDIR)/iommu_replace.ko"

build-all:
	@set -e; for k in $(installed_kernels); do for t in 0 1; do \
		$(MAKE) --no-print-directory module KVER=$$k TEST=$$t WERROR=1; \
	done; done

$(KSRC)/.stamp: $(KSRC_TARBALL) Makefile
	@echo "iommu-replace: extracting test and lint files from $(KSRC_TARBALL)"
	@rm -rf $(KSRC) && mkdir -p $(BUILD)
	@tar -xJf $(KSRC_TARBALL) -C $(BUILD) $(addprefix linux-source-6.12/,$(KSRC_FILES))
	@touch $@

lint: checkpatch sparse

# host tools (run at build time, in user space) are checked without the
# rules that only make sense in the kernel (its u32 types, BIT())
HOST_LINT_FILES = module/compat/btf-struct.c
LINT_FILES = $(filter-out $(HOST_LINT_FILES),$(shell find module include uapi -name '*.[ch]' | sort))

checkpatch: $(KSRC)/.stamp
	@perl $(KSRC)/scripts/checkpatch.pl --no-tree --strict --terse --show-types \
		--ignore FILE_PATH_CHANGES -f $(LINT_FILES) > $(BUILD)/checkpatch.log || true
	@perl $(KSRC)/scripts/checkpatch.pl --no-tree --strict --terse --show-types \
		--ignore FILE_PATH_CHANGES,PREFER_KERNEL_TYPES,BIT_MACRO \
		-f $(HOST_LINT_FILES) >> $(BUILD)/checkpatch.log || true
	@if grep -E '(ERROR|WARNING|CHECK):' $(BUILD)/checkpatch.log; then \
		echo "iommu-replace: checkpatch found problems" >&2; exit 1; fi
	@echo "iommu-replace: checkpatch clean ($(words $(LINT_FILES) $(HOST_LINT_FILES)) files)"

# sparse checks every object of both flavours against every installed kernel
# (sparse-one: the KVER/TEST build only); only reports on our sources count.
sparse:
	@set -e; for k in $(installed_kernels); do for t in 0 1; do \
		$(MAKE) --no-print-directory sparse-one KVER=$$k TEST=$$t; \
	done; done

sparse-one: module
	@$(MAKE) --no-print-directory $(KBUILD_ARGS) C=2 CHECK=sparse modules \
		> $(OBJDIR)/sparse.log 2>&1
	@if grep -E '^$(OBJDIR)/.*: (warning|error):' $(OBJDIR)/sparse.log; then \
		echo "iommu-replace: sparse found problems ($(KVER) $(FLAVOUR))" >&2; \
		exit 1; fi
	@echo "iommu-replace: sparse clean ($(KVER) $(FLAVOUR))"

install: module
	$(MAKE) $(KBUILD_ARGS) INSTALL_MOD_DIR=updates \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	$(if $(DESTDIR),,depmod -a $(KVER))

install-headers:
	install -D -m 0644 uapi/linux/iommu_replace.h \
		$(DESTDIR)$(PREFIX)/include/linux/iommu_replace.h

install-udev:
	install -D -m 0644 udev/70-iommu-replace.rules \
		$(DESTDIR)/etc/udev/rules.d/70-iommu-replace.rules

# An installed kernel outside dkms.conf's BUILD_EXCLUSIVE_* range is skipped
# (dkms exits 77 for it); any other failure is reported and the loop goes on,
# failing at the end.
dkms-install:
	@$(dkms_not_packaged)
	@if $(DKMS) status -m iommu-replace -v $(DKMS_VERSION) 2>/dev/null | grep -q .; then \
		$(DKMS) remove -m iommu-replace -v $(DKMS_VERSION) --all; fi
	rm -rf $(DKMS_SRC) && mkdir -p $(DKMS_SRC) $(if $(DKMS_ROOT),$(DKMS_ROOT)/var/lib/dkms)
	cp -R Kbuild Makefile dkms.conf module include uapi $(DKMS_SRC)/
	$(call drop_objects,$(DKMS_SRC))
	sed -i 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(DKMS_VERSION)"/' $(DKMS_SRC)/dkms.conf
	$(DKMS) add -m iommu-replace -v $(DKMS_VERSION)
	@failed=; for k in $(DKMS_KERNELS); do \
		$(if $(DKMS_ROOT),mkdir -p $(DKMS_ROOT)/lib/modules/$$k;) \
		$(DKMS) install -m iommu-replace -v $(DKMS_VERSION) -k $$k; rc=$$?; \
		if [ $$rc = 77 ]; then \
			echo "iommu-replace: kernel $$k skipped: outside the range dkms.conf supports (BUILD_EXCLUSIVE_*)"; \
		elif [ $$rc != 0 ]; then \
			echo "iommu-replace: DKMS failed for kernel $$k (exit $$rc)" >&2; \
			failed="$$failed $$k"; fi; \
	done; \
	if [ -n "$$failed" ]; then \
		echo "iommu-replace: DKMS failed for:$$failed" >&2; exit 1; fi

dkms-remove:
	@$(dkms_not_packaged)
	@if $(DKMS) status -m iommu-replace -v $(DKMS_VERSION) 2>/dev/null | grep -q .; then \
		$(DKMS) remove -m iommu-replace -v $(DKMS_VERSION) --all; fi
	rm -rf $(DKMS_SRC)

# The packages are built from a copy in build/deb/, so the tree stays clean;
# debian/changelog and dkms.conf must agree on the version.
DEB_DIR := $(BUILD)/deb/iommu-replace-$(VERSION)
DEB_FILES := Kbuild Makefile dkms.conf README.md module include uapi udev debian

deb:
	@v=$$(dpkg-parsechangelog -S Version); if [ "$$v" != "$(VERSION)" ]; then \
		echo "iommu-replace: debian/changelog says $$v, dkms.conf $(VERSION)" >&2; \
		exit 1; fi
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_DIR)
	cp -R $(DEB_FILES) $(DEB_DIR)/
	$(call drop_objects,$(DEB_DIR))
	cd $(DEB_DIR) && dpkg-buildpackage -b -us -uc
	lintian --fail-on error,warning --info $(BUILD)/deb/iommu-replace_$(VERSION)_*.changes
	@echo "iommu-replace: built $$(ls $(BUILD)/deb/*.deb | tr '\n' ' ')"

tests: $(KSRC)/.stamp
	@$(MAKE) --no-print-directory -C tests OUT=$(BUILD)/tests KSRC=$(KSRC)

check:
	@tests/check.sh

debug-kernel:
	@tests/install-deps.sh
	@tests/kernels/build.sh debug

reference-kernel:
	@tests/install-deps.sh
	@tests/kernels/build.sh reference

demo:
	@tests/demo.sh demo

bench:
	@tests/demo.sh bench

deps:
	@tests/install-deps.sh

clean:
	rm -rf --one-file-system $(BUILD)
	$(call drop_objects,$(CURDIR))
