// SPDX-License-Identifier: GPL-2.0-only
/*
 * lifecycle - loading, unloading and modinfo of iommu_replace.ko.
 *
 * The guest runner loads the module before this suite and passes, in the
 * environment, the file it loaded (IORP_KO) and what the host build says
 * modinfo must show (IORP_VERSION, IORP_FLAVOUR, IORP_COMPAT). Tests that
 * unload the module load it again from IORP_KO before they finish, so the
 * runner's own unload at the end of the suite still has a module to remove.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libkmod.h>

#include "kselftest_harness.h"

#define DEV_PATH "/dev/iommu-replace"
#define MOD_NAME "iommu_replace"

FIXTURE(kmod)
{
	struct kmod_ctx *ctx;
	struct kmod_module *mod;
	const char *ko;
};

FIXTURE_SETUP(kmod)
{
	self->ko = getenv("IORP_KO");
	ASSERT_NE(NULL, self->ko) TH_LOG("IORP_KO is not set");
	self->ctx = kmod_new(NULL, NULL);
	ASSERT_NE(NULL, self->ctx);
	ASSERT_EQ(0, kmod_module_new_from_name(self->ctx, MOD_NAME, &self->mod));
	ASSERT_EQ(KMOD_MODULE_LIVE, kmod_module_get_initstate(self->mod));
}

FIXTURE_TEARDOWN(kmod)
{
	kmod_module_unref(self->mod);
	kmod_unref(self->ctx);
}

/* Load the module file again after a test removed it. */
static int reload(struct kmod_ctx *ctx, const char *ko)
{
	struct kmod_module *file;
	int ret;

	ret = kmod_module_new_from_path(ctx, ko, &file);
	if (ret)
		return ret;
	ret = kmod_module_insert_module(file, 0, getenv("IORP_KO_PARAMS"));
	kmod_module_unref(file);
	return ret;
}

static const char *modinfo_value(struct kmod_list *info, const char *key)
{
	struct kmod_list *l;

	kmod_list_foreach(l, info) {
		if (!strcmp(kmod_module_info_get_key(l), key))
			return kmod_module_info_get_value(l);
	}
	return NULL;
}

TEST_F(kmod, modinfo_shows_version_flavour_probes_and_backend)
{
	const char *want_version = getenv("IORP_VERSION");
	const char *want_flavour = getenv("IORP_FLAVOUR");
	const char *want_compat = getenv("IORP_COMPAT");
	const char *want_backend = getenv("IORP_VFIO_BACKEND");
	struct kmod_list *info = NULL;
	struct kmod_module *file;
	const char *v;

	ASSERT_NE(NULL, want_version);
	ASSERT_NE(NULL, want_flavour);
	ASSERT_NE(NULL, want_compat);
	ASSERT_NE(NULL, want_backend);
	ASSERT_EQ(0, kmod_module_new_from_path(self->ctx, self->ko, &file));
	ASSERT_LT(0, kmod_module_get_info(file, &info));

	v = modinfo_value(info, "version");
	ASSERT_NE(NULL, v);
	EXPECT_STREQ(want_version, v);
	v = modinfo_value(info, "flavour");
	ASSERT_NE(NULL, v);
	EXPECT_STREQ(want_flavour, v);
	/* The probe results the host build generated, e.g. "x=yes y=no". */
	v = modinfo_value(info, "compat");
	ASSERT_NE(NULL, v);
	EXPECT_STREQ(want_compat, v);
	EXPECT_NE(NULL, strstr(v, "="));
	/* whether the VFIO backend is built in, and why not */
	v = modinfo_value(info, "vfio_backend");
	ASSERT_NE(NULL, v);
	EXPECT_STREQ(want_backend, v);

	kmod_module_info_free_list(info);
	kmod_module_unref(file);
}

TEST_F(kmod, open_files_hold_the_module)
{
	int fds[3];

	EXPECT_EQ(0, kmod_module_get_refcnt(self->mod));
	for (int i = 0; i < 3; i++) {
		fds[i] = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
		EXPECT_EQ(i + 1, kmod_module_get_refcnt(self->mod));
	}
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	EXPECT_EQ(0, kmod_module_get_refcnt(self->mod));
}

TEST_F(kmod, unload_refused_while_open_then_succeeds)
{
	struct stat st;
	int fd, ret;

	fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);

	ret = kmod_module_remove_module(self->mod, 0);
	EXPECT_EQ(-EAGAIN, ret);
	EXPECT_EQ(KMOD_MODULE_LIVE, kmod_module_get_initstate(self->mod));
	EXPECT_EQ(1, kmod_module_get_refcnt(self->mod));
	/* The refused unload left the file fully usable. */
	EXPECT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0, close(fd));

	ASSERT_EQ(0, kmod_module_remove_module(self->mod, 0));
	EXPECT_EQ(-ENOENT, kmod_module_get_initstate(self->mod));
	EXPECT_NE(0, stat(DEV_PATH, &st));
	EXPECT_EQ(ENOENT, errno);

	ASSERT_EQ(0, reload(self->ctx, self->ko));
	EXPECT_EQ(KMOD_MODULE_LIVE, kmod_module_get_initstate(self->mod));
	EXPECT_EQ(0, stat(DEV_PATH, &st));
}

TEST_F(kmod, reload_cycles)
{
	for (int i = 0; i < 5; i++) {
		int fd;

		ASSERT_EQ(0, kmod_module_remove_module(self->mod, 0));
		ASSERT_EQ(0, reload(self->ctx, self->ko));
		fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		close(fd);
	}
}

TEST_HARNESS_MAIN
