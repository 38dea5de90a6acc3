// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmodctl - the guest's module loader, a small libkmod front end.
 *
 * busybox cannot load 6.12's .ko.xz modules, so the test guests load every
 * module through libkmod:
 *
 *   kmodctl insert PATH [PARAM=VALUE...]  load a module file with parameters,
 *                                         after the modules it depends on
 *   kmodctl probe NAME                    load a module and its dependencies
 *                                         from /lib/modules/$(uname -r)
 *   kmodctl remove NAME                   unload (fails if in use)
 *   kmodctl state NAME                    print "<initstate> <refcount>", or
 *                                         "absent" when not loaded
 *
 * Exit status 0 on success, 1 on failure (with the errno on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libkmod.h>

static int join_params(int argc, char **argv, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < argc; i++) {
		int n = snprintf(buf + used, len - used, "%s%s",
				 i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= len - used)
			return -E2BIG;
		used += n;
	}
	return 0;
}

static int cmd_probe(struct kmod_ctx *ctx, const char *name);

/* Load the modules a module file depends on (its "depends" modinfo). */
static int insert_depends(struct kmod_ctx *ctx, struct kmod_module *mod)
{
	struct kmod_list *info = NULL, *l;
	int ret;

	ret = kmod_module_get_info(mod, &info);
	if (ret < 0)
		return ret;
	ret = 0;
	kmod_list_foreach(l, info) {
		char deps[1024], *dep, *save = NULL;

		if (strcmp(kmod_module_info_get_key(l), "depends"))
			continue;
		snprintf(deps, sizeof(deps), "%s", kmod_module_info_get_value(l));
		for (dep = strtok_r(deps, ",", &save); dep && !ret;
		     dep = strtok_r(NULL, ",", &save))
			ret = cmd_probe(ctx, dep);
	}
	kmod_module_info_free_list(info);
	return ret;
}

static int cmd_insert(struct kmod_ctx *ctx, int argc, char **argv)
{
	struct kmod_module *mod;
	char params[4096];
	int ret;

	ret = join_params(argc - 1, argv + 1, params, sizeof(params));
	if (ret)
		return ret;
	ret = kmod_module_new_from_path(ctx, argv[0], &mod);
	if (ret)
		return ret;
	ret = insert_depends(ctx, mod);
	if (!ret)
		ret = kmod_module_insert_module(mod, 0, params);
	kmod_module_unref(mod);
	return ret;
}

static int cmd_probe(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_list *list = NULL, *l;
	int ret;

	ret = kmod_module_new_from_lookup(ctx, name, &list);
	if (ret)
		return ret;
	if (!list)
		return -ENOENT;
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		ret = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL,
						      NULL);
		kmod_module_unref(mod);
		if (ret < 0)
			break;
	}
	kmod_module_unref_list(list);
	return ret < 0 ? ret : 0;
}

static int cmd_remove(struct kmod_ctx *ctx, const char *name)
{
	struct kmod_module *mod;
	int ret;

	ret = kmod_module_new_from_name(ctx, name, &mod);
	if (ret)
		return ret;
	ret = kmod_module_remove_module(mod, 0);
	kmod_module_unref(mod);
	return ret;
}

static int cmd_state(struct kmod_ctx *ctx, const char *name)
{
	static const char *const names[] = {
		[KMOD_MODULE_BUILTIN] = "builtin",
		[KMOD_MODULE_LIVE] = "live",
		[KMOD_MODULE_COMING] = "coming",
		[KMOD_MODULE_GOING] = "going",
	};
	struct kmod_module *mod;
	int state, ret;

	ret = kmod_module_new_from_name(ctx, name, &mod);
	if (ret)
		return ret;
	state = kmod_module_get_initstate(mod);
	if (state == -ENOENT)
		printf("absent\n");
	else if (state >= 0 && state <= KMOD_MODULE_GOING)
		printf("%s %d\n", names[state], kmod_module_get_refcnt(mod));
	else
		ret = state;
	kmod_module_unref(mod);
	return ret;
}

int main(int argc, char **argv)
{
	struct kmod_ctx *ctx;
	int ret = -EINVAL;

	if (argc < 3) {
		fprintf(stderr, "usage: kmodctl insert PATH [PARAM=VALUE...] | probe NAME | remove NAME | state NAME\n");
		return 2;
	}
	ctx = kmod_new(NULL, NULL);
	if (!ctx) {
		fprintf(stderr, "kmodctl: kmod_new failed\n");
		return 1;
	}
	if (!strcmp(argv[1], "insert"))
		ret = cmd_insert(ctx, argc - 2, argv + 2);
	else if (!strcmp(argv[1], "probe"))
		ret = cmd_probe(ctx, argv[2]);
	else if (!strcmp(argv[1], "remove"))
		ret = cmd_remove(ctx, argv[2]);
	else if (!strcmp(argv[1], "state"))
		ret = cmd_state(ctx, argv[2]);
	else
		fprintf(stderr, "kmodctl: unknown command %s\n", argv[1]);
	kmod_unref(ctx);
	if (ret < 0) {
		fprintf(stderr, "kmodctl %s %s: %s\n", argv[1], argv[2],
			strerror(-ret));
		return 1;
	}
	return ret ? 1 : 0;
}
