// SPDX-License-Identifier: GPL-2.0-only
/*
 * btf-struct.c - build-time host tool: print the layout of one struct as
 * recorded in the BTF of a kernel module, so that the build can check a
 * private kernel struct we re-declare against the target kernel.  It also
 * extracts the compressed payload of an x86 bzImage, which is where a
 * vmlinux (and so the base BTF) comes from when only /boot is available.
 * Plain C, libc only.
 *
 * Usage:
 *   btf-struct layout STRUCT_NAME MODULE_ELF BASE_BTF
 *   btf-struct enum ENUM_NAME MODULE_ELF BASE_BTF
 *   btf-struct func FUNC_NAME MODULE_ELF BASE_BTF
 *   btf-struct bzimage-payload VMLINUZ
 *
 * layout: MODULE_ELF is an uncompressed ELF64 little-endian .ko whose
 * ".BTF" section is split BTF on top of vmlinux's BTF.  BASE_BTF is raw BTF
 * (e.g. /sys/kernel/btf/vmlinux) or an ELF64 vmlinux with a ".BTF"
 * section; which one is told by its first bytes.  If the module has a
 * ".BTF.base" (distilled base) section, its split BTF refers to that and
 * it is used as the base; BASE_BTF must then still be valid but is unused.
 * The struct is looked up among the module's own types first, then among
 * the base types; forward declarations don't count.  Output:
 *
 *   struct NAME size BYTES
 *   BITOFF MEMBER TYPE
 *   ...
 *
 * with one line per member, in order.  BITOFF is the member's offset in
 * bits (decimal), MEMBER its name or "<anon>", and TYPE (the rest of the
 * line) its type written as a C abstract declarator, as in a cast:
 *  - "void", integer/float types and typedefs by name as BTF records them
 *    (gcc spells e.g. "long unsigned int"); typedefs are not expanded:
 *    "dma_addr_t", "bool";
 *  - struct, union, enum (also enum64) and forward declarations as
 *    "struct NAME", "union NAME", "enum NAME", never expanded; anonymous
 *    ones as "struct <anon>" etc.;
 *  - qualifiers in the fixed order "const volatile restrict", then BTF
 *    type tags as "__tag(NAME)", before the type name or, for a
 *    qualified pointer, after its '*': "const char *const *";
 *  - pointers, arrays and functions with C's parentheses:
 *    "char *", "char[16]", "int (*)[4]", "void *(*)(long unsigned int)";
 *    a flexible array member (BTF can't tell it from a zero-length one)
 *    is "T[0]";
 *    function arguments are types only, separated by ", "; "(void)" when
 *    there are none, "..." last when variadic;
 *  - one space between the type name and a declarator unless it begins
 *    with '[';
 *  - a bitfield gets ":BITS" appended: "unsigned int:3".
 *
 * enum: the same lookup for an enum (or enum64); output
 *
 *   enum NAME size BYTES
 *   ENUMERATOR = VALUE
 *   ...
 *
 * one line per enumerator, in order, VALUE in decimal (signed if BTF says
 * the enum is signed).
 *
 * func: the same lookup for a function; output one line,
 * "func NAME TYPE", TYPE its prototype written as a pointer to it, e.g.
 * "func f int (*)(const struct s *)".
 *
 * bzimage-payload: write the compressed payload of x86 bzImage VMLINUZ
 * (setup header fields payload_offset/payload_length) to stdout, as is.
 * Note that for xz, zstd, lzma, lzo, lz4 and bzip2 the kernel build
 * appends the 4-byte uncompressed size to the payload, so e.g. "xz -dc"
 * or "zstd -dc" writes the whole vmlinux but then fails on those 4 bytes;
 * drop them first ("| head -c -4 |") when checking the exit status.
 *
 * Exit status: 0 success, 1 struct not found, 2 usage error, I/O error or
 * malformed input.  All reads are bounds-checked and recursion is capped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FOUND	0
#define EXIT_NOTFOUND	1
#define EXIT_BAD	2

#define MAX_FILE	(1UL << 30)	/* refuse larger inputs */
#define MAX_DEPTH	32		/* type chain / nesting limit */
#define MAX_TYPESTR	65536		/* longest rendered type */
#define MAX_OUTPUT	(16UL << 20)	/* longest layout output */

#define BTF_MAGIC_LE	0xeb9f
#define BTF_HDR_MIN	24
#define BTF_TYPE_SIZE	12

enum {
	KIND_UNKN, KIND_INT, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION,
	KIND_ENUM, KIND_FWD, KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST,
	KIND_RESTRICT, KIND_FUNC, KIND_FUNC_PROTO, KIND_VAR, KIND_DATASEC,
	KIND_FLOAT, KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64,
};

#define Q_CONST		1
#define Q_VOLATILE	2
#define Q_RESTRICT	4

struct blob {
	unsigned char *data;
	size_t len;
};

/* One parsed BTF object (base or split). */
struct btf {
	const char *what;
	const unsigned char *types;
	uint32_t types_len;
	const char *strs;
	uint32_t strs_len;
	uint32_t nr;		/* number of types in this object */
	uint32_t *off;		/* offset of each type in types */
};

/* Split BTF on top of its base: ids 1..base->nr, then the split ones. */
struct ctx {
	const struct btf *base;
	const struct btf *split;
	uint32_t nr;		/* highest valid type id */
};

/* A decoded struct btf_type. */
struct type {
	uint32_t name_off;
	uint32_t kind;
	uint32_t vlen;
	uint32_t kflag;
	uint32_t st;		/* size or type, depending on kind */
	const unsigned char *x;	/* kind-specific data following it */
};

struct quals {
	unsigned int mask;
	unsigned int ntags;
	const char *tags[MAX_DEPTH + 2];
};

/* Growing output buffer. */
struct sbuf {
	char *s;
	size_t len;
	size_t cap;
};

static void msg(const char *fmt, ...)
{
	va_list ap;

	fputs("btf-struct: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Does [off, off + n) lie within a buffer of len bytes? */
static int in_bounds(uint64_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

static int read_file(const char *path, struct blob *b)
{
	FILE *f;
	size_t cap = 0, n;
	unsigned char *p;

	b->data = NULL;
	b->len = 0;
	f = fopen(path, "rb");
	if (!f) {
		msg("%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (b->len == cap) {
			if (cap >= MAX_FILE) {
				msg("%s: file too large", path);
				goto fail;
			}
			cap = cap ? cap * 2 : 65536;
			p = realloc(b->data, cap);
			if (!p) {
				msg("%s: out of memory", path);
				goto fail;
			}
			b->data = p;
		}
		n = fread(b->data + b->len, 1, cap - b->len, f);
		if (!n)
			break;
		b->len += n;
	}
	if (ferror(f)) {
		msg("%s: read error: %s", path, strerror(errno));
		goto fail;
	}
	fclose(f);
	return 0;
fail:
	fclose(f);
	free(b->data);
	b->data = NULL;
	b->len = 0;
	return -1;
}

/*
 * Find section NAME in the ELF64 little-endian image B.  Returns 1 and
 * sets *sec and *sec_len if found, 0 if there is no such section and -1
 * if the image is malformed.
 */
static int elf_section(const struct blob *b, const char *what,
		       const char *name, const unsigned char **sec,
		       size_t *sec_len)
{
	const unsigned char *d = b->data, *sh;
	uint64_t shoff, shnum, shstrndx, str_off, str_size, i;
	size_t name_len = strlen(name);

	if (b->len < 64 || memcmp(d, "\177ELF", 4)) {
		msg("%s: not an ELF file", what);
		return -1;
	}
	if (d[4] != 2 || d[5] != 1) {
		msg("%s: not a 64-bit little-endian ELF file", what);
		return -1;
	}
	shoff = le64(d + 0x28);
	shnum = le16(d + 0x3c);
	shstrndx = le16(d + 0x3e);
	if (!shoff || le16(d + 0x3a) != 64 || !in_bounds(b->len, shoff, 64)) {
		msg("%s: bad or missing ELF section header table", what);
		return -1;
	}
	/* extended numbering: the real values live in section header 0 */
	if (!shnum)
		shnum = le64(d + shoff + 32);
	if (shstrndx == 0xffff)
		shstrndx = le32(d + shoff + 40);
	if (shnum > (b->len - shoff) / 64 || shstrndx >= shnum) {
		msg("%s: ELF section headers out of bounds", what);
		return -1;
	}
	sh = d + shoff + shstrndx * 64;
	str_off = le64(sh + 24);
	str_size = le64(sh + 32);
	if (le32(sh + 4) == 8 /* SHT_NOBITS */ ||
	    !in_bounds(b->len, str_off, str_size)) {
		msg("%s: bad ELF section name table", what);
		return -1;
	}
	for (i = 0; i < shnum; i++) {
		uint64_t name_off, off, size;

		sh = d + shoff + i * 64;
		name_off = le32(sh);
		if (name_off >= str_size) {
			msg("%s: ELF section %llu: bad name offset", what,
			    (unsigned long long)i);
			return -1;
		}
		if (str_size - name_off < name_len + 1 ||
		    memcmp(d + str_off + name_off, name, name_len + 1))
			continue;
		off = le64(sh + 24);
		size = le64(sh + 32);
		if (le32(sh + 4) == 8 || !in_bounds(b->len, off, size)) {
			msg("%s: section %s out of bounds", what, name);
			return -1;
		}
		*sec = d + off;
		*sec_len = size;
		return 1;
	}
	return 0;
}

/* Size of the data following a btf_type of this kind, or -1. */
static int64_t kind_extra(uint32_t kind, uint32_t vlen)
{
	switch (kind) {
	case KIND_INT:
	case KIND_VAR:
	case KIND_DECL_TAG:
		return 4;
	case KIND_PTR:
	case KIND_FWD:
	case KIND_TYPEDEF:
	case KIND_VOLATILE:
	case KIND_CONST:
	case KIND_RESTRICT:
	case KIND_FUNC:
	case KIND_FLOAT:
	case KIND_TYPE_TAG:
		return 0;
	case KIND_ARRAY:
		return 12;
	case KIND_STRUCT:
	case KIND_UNION:
	case KIND_DATASEC:
	case KIND_ENUM64:
		return (int64_t)vlen * 12;
	case KIND_ENUM:
	case KIND_FUNC_PROTO:
		return (int64_t)vlen * 8;
	}
	return -1;
}

static int btf_parse(struct btf *btf, const unsigned char *d, size_t len,
		     const char *what, int is_base)
{
	uint32_t hdr_len, type_off, str_off, pos;

	memset(btf, 0, sizeof(*btf));
	btf->what = what;
	if (len < BTF_HDR_MIN || le16(d) != BTF_MAGIC_LE) {
		msg("%s: not little-endian BTF", what);
		return -1;
	}
	if (d[2] != 1) {
		msg("%s: unsupported BTF version %u", what, d[2]);
		return -1;
	}
	hdr_len = le32(d + 4);
	type_off = le32(d + 8);
	btf->types_len = le32(d + 12);
	str_off = le32(d + 16);
	btf->strs_len = le32(d + 20);
	if (hdr_len < BTF_HDR_MIN || hdr_len > len ||
	    !in_bounds(len - hdr_len, type_off, btf->types_len) ||
	    !in_bounds(len - hdr_len, str_off, btf->strs_len)) {
		msg("%s: BTF header out of bounds", what);
		return -1;
	}
	btf->types = d + hdr_len + type_off;
	btf->strs = (const char *)d + hdr_len + str_off;
	if (btf->strs_len && btf->strs[btf->strs_len - 1]) {
		msg("%s: BTF string section not NUL-terminated", what);
		return -1;
	}
	if (is_base && (!btf->strs_len || btf->strs[0])) {
		msg("%s: BTF string section does not start with \"\"", what);
		return -1;
	}
	btf->off = malloc(((size_t)btf->types_len / BTF_TYPE_SIZE + 1) *
			  sizeof(*btf->off));
	if (!btf->off) {
		msg("%s: out of memory", what);
		return -1;
	}
	for (pos = 0; pos < btf->types_len; ) {
		const unsigned char *p = btf->types + pos;
		uint32_t info, kind;
		int64_t extra;

		if (btf->types_len - pos < BTF_TYPE_SIZE) {
			msg("%s: BTF type section truncated", what);
			return -1;
		}
		info = le32(p + 4);
		kind = (info >> 24) & 0x1f;
		extra = kind_extra(kind, info & 0xffff);
		if (extra < 0) {
			msg("%s: BTF type #%u in this file: unknown kind %u",
			    what, btf->nr + 1, kind);
			return -1;
		}
		if ((uint64_t)extra > btf->types_len - pos - BTF_TYPE_SIZE) {
			msg("%s: BTF type #%u truncated", what, btf->nr + 1);
			return -1;
		}
		btf->off[btf->nr++] = pos;
		pos += BTF_TYPE_SIZE + (uint32_t)extra;
	}
	return 0;
}

static int get_type(const struct ctx *c, uint32_t id, struct type *t)
{
	const struct btf *b = c->base;
	const unsigned char *p;
	uint32_t idx, info;

	if (!id || id > c->nr) {
		msg("BTF type id %u out of range", id);
		return -1;
	}
	idx = id - 1;
	if (idx >= b->nr) {
		idx -= b->nr;
		b = c->split;
	}
	p = b->types + b->off[idx];
	info = le32(p + 4);
	t->name_off = le32(p);
	t->kind = (info >> 24) & 0x1f;
	t->vlen = info & 0xffff;
	t->kflag = info >> 31;
	t->st = le32(p + 8);
	t->x = p + BTF_TYPE_SIZE;
	return 0;
}

/* Both string sections end in a NUL, so any in-range offset is safe. */
static const char *get_str(const struct ctx *c, uint32_t off)
{
	if (off < c->base->strs_len)
		return c->base->strs + off;
	off -= c->base->strs_len;
	if (off < c->split->strs_len)
		return c->split->strs + off;
	msg("BTF string offset %u out of range",
	    off + c->base->strs_len);
	return NULL;
}

/*
 * Check a string reference of type ID.  Split types must also point at
 * the start of a string: with a mismatched base that almost always fails.
 */
static int check_str(const struct ctx *c, uint32_t id, uint32_t off)
{
	const struct btf *b = c->base;
	uint32_t local = off;

	if (id <= c->base->nr) {
		if (off < c->base->strs_len)
			return 0;
		msg("%s: type %u: bad string offset %u", b->what, id, off);
		return -1;
	}
	if (local >= b->strs_len) {
		local -= b->strs_len;
		b = c->split;
	}
	if (local < b->strs_len && (!local || !b->strs[local - 1]))
		return 0;
	msg("%s: type %u: bad string offset %u (wrong base BTF?)",
	    c->split->what, id, off);
	return -1;
}

static int check_ref(const struct ctx *c, uint32_t id, uint32_t ref)
{
	uint32_t limit = id <= c->base->nr ? c->base->nr : c->nr;

	if (ref <= limit)
		return 0;
	msg("BTF type %u refers to type %u, out of range", id, ref);
	return -1;
}

/* Check every name and type reference once, before using any. */
static int validate(const struct ctx *c)
{
	struct type t;
	uint32_t id, i;

	for (id = 1; id <= c->nr; id++) {
		if (get_type(c, id, &t) || check_str(c, id, t.name_off))
			return -1;
		switch (t.kind) {
		case KIND_PTR:
		case KIND_TYPEDEF:
		case KIND_VOLATILE:
		case KIND_CONST:
		case KIND_RESTRICT:
		case KIND_FUNC:
		case KIND_VAR:
		case KIND_DECL_TAG:
		case KIND_TYPE_TAG:
			if (check_ref(c, id, t.st))
				return -1;
			break;
		case KIND_ARRAY:
			if (check_ref(c, id, le32(t.x)) ||
			    check_ref(c, id, le32(t.x + 4)))
				return -1;
			break;
		case KIND_STRUCT:
		case KIND_UNION:
			for (i = 0; i < t.vlen; i++) {
				const unsigned char *m = t.x + i * 12;

				if (check_str(c, id, le32(m)) ||
				    check_ref(c, id, le32(m + 4)))
					return -1;
			}
			break;
		case KIND_ENUM:
		case KIND_ENUM64:
			for (i = 0; i < t.vlen; i++) {
				uint32_t sz = t.kind == KIND_ENUM ? 8 : 12;

				if (check_str(c, id, le32(t.x + i * sz)))
					return -1;
			}
			break;
		case KIND_FUNC_PROTO:
			if (check_ref(c, id, t.st))
				return -1;
			for (i = 0; i < t.vlen; i++) {
				const unsigned char *p = t.x + i * 8;

				if (check_str(c, id, le32(p)) ||
				    check_ref(c, id, le32(p + 4)))
					return -1;
			}
			break;
		case KIND_DATASEC:
			for (i = 0; i < t.vlen; i++)
				if (check_ref(c, id, le32(t.x + i * 12)))
					return -1;
			break;
		}
	}
	return 0;
}

/* Concatenate N strings into a new one, at most MAX_TYPESTR long. */
static char *join(int n, ...)
{
	va_list ap;
	size_t len = 0, l;
	char *s, *p;
	int i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		len += strlen(va_arg(ap, const char *));
	va_end(ap);
	if (len > MAX_TYPESTR) {
		msg("rendered type too long");
		return NULL;
	}
	s = malloc(len + 1);
	if (!s) {
		msg("out of memory");
		return NULL;
	}
	p = s;
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		const char *a = va_arg(ap, const char *);

		l = strlen(a);
		memcpy(p, a, l);
		p += l;
	}
	va_end(ap);
	*p = '\0';
	return s;
}

/* Make room for N more bytes plus a NUL, keeping the total under LIMIT. */
static int sb_grow(struct sbuf *sb, size_t n, size_t limit)
{
	size_t cap;
	char *p;

	if (n >= limit - sb->len) {
		msg("output too long");
		return -1;
	}
	if (sb->cap - sb->len > n)
		return 0;
	cap = (sb->len + n + 1) * 2;
	p = realloc(sb->s, cap);
	if (!p) {
		msg("out of memory");
		return -1;
	}
	sb->s = p;
	sb->cap = cap;
	return 0;
}

static int sb_add(struct sbuf *sb, const char *s, size_t limit)
{
	size_t n = strlen(s);

	if (sb_grow(sb, n, limit))
		return -1;
	memcpy(sb->s + sb->len, s, n + 1);
	sb->len += n;
	return 0;
}

static int sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_grow(sb, (size_t)n, MAX_OUTPUT))
		return -1;
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

/* "const volatile restrict __tag(x)", or "" */
static char *qual_str(const struct quals *q)
{
	static const char *const names[] = { "const", "volatile", "restrict" };
	char *s = join(0), *t;
	unsigned int i;

	for (i = 0; s && i < 3 + q->ntags; i++) {
		const char *sep = *s ? " " : "";

		if (i < 3) {
			if (!(q->mask & (1u << i)))
				continue;
			t = join(3, s, sep, names[i]);
		} else {
			t = join(5, s, sep, "__tag(", q->tags[i - 3], ")");
		}
		free(s);
		s = t;
	}
	return s;
}

/* DECL wrapped in parentheses if a suffix would bind to its '*' */
static char *wrap(const char *decl, const char *suffix)
{
	if (decl[0] == '*')
		return join(4, "(", decl, ")", suffix);
	return join(2, decl, suffix);
}

static char *render(const struct ctx *c, uint32_t id, const struct quals *inq,
		    const char *decl, unsigned int depth);

static char *render_proto(const struct ctx *c, const struct type *t,
			  const char *decl, unsigned int depth)
{
	struct sbuf args = { NULL, 0, 0 };
	char *a, *nd, *res = NULL;
	uint32_t i;
	int err = 0;

	err = sb_add(&args, "(", MAX_TYPESTR);
	for (i = 0; !err && i < t->vlen; i++) {
		uint32_t ptype = le32(t->x + i * 8 + 4);

		if (i)
			err = sb_add(&args, ", ", MAX_TYPESTR);
		if (err)
			break;
		if (!ptype && i + 1 == t->vlen) {
			err = sb_add(&args, "...", MAX_TYPESTR);
		} else if (!ptype) {
			msg("BTF function prototype with a void argument");
			err = -1;
		} else {
			a = render(c, ptype, NULL, "", depth);
			err = a ? sb_add(&args, a, MAX_TYPESTR) : -1;
			free(a);
		}
	}
	if (!err && !t->vlen)
		err = sb_add(&args, "void", MAX_TYPESTR);
	if (!err)
		err = sb_add(&args, ")", MAX_TYPESTR);
	if (err)
		goto out;
	nd = wrap(decl, args.s);
	if (!nd)
		goto out;
	res = render(c, t->st, NULL, nd, depth);
	free(nd);
out:
	free(args.s);
	return res;
}

static char *render_named(const struct ctx *c, const struct type *t,
			  const struct quals *q, const char *decl)
{
	const char *prefix = "", *name = get_str(c, t->name_off);
	char *qs, *res;

	if (!name)
		return NULL;
	if (!*name)
		name = "<anon>";
	switch (t->kind) {
	case KIND_STRUCT:
		prefix = "struct ";
		break;
	case KIND_UNION:
		prefix = "union ";
		break;
	case KIND_ENUM:
	case KIND_ENUM64:
		prefix = "enum ";
		break;
	case KIND_FWD:
		prefix = t->kflag ? "union " : "struct ";
		break;
	}
	qs = qual_str(q);
	if (!qs)
		return NULL;
	res = join(6, qs, *qs ? " " : "", prefix, name,
		   *decl && *decl != '[' ? " " : "", decl);
	free(qs);
	return res;
}

/*
 * Render type ID, with qualifiers INQ applying to it, around the C
 * declarator DECL built so far (the part nearer the name).
 */
static char *render(const struct ctx *c, uint32_t id, const struct quals *inq,
		    const char *decl, unsigned int depth)
{
	struct quals q;
	struct type t;
	char *qs, *nd, *res;
	char num[16];
	const char *s;

	if (inq)
		q = *inq;
	else
		memset(&q, 0, sizeof(q));
	for (;; id = t.st) {
		if (++depth > MAX_DEPTH) {
			msg("BTF type %u: types nested too deeply", id);
			return NULL;
		}
		if (!id) {
			qs = qual_str(&q);
			if (!qs)
				return NULL;
			res = join(4, qs, *qs ? " void" : "void",
				   *decl && *decl != '[' ? " " : "", decl);
			free(qs);
			return res;
		}
		if (get_type(c, id, &t))
			return NULL;
		if (t.kind == KIND_CONST)
			q.mask |= Q_CONST;
		else if (t.kind == KIND_VOLATILE)
			q.mask |= Q_VOLATILE;
		else if (t.kind == KIND_RESTRICT)
			q.mask |= Q_RESTRICT;
		else if (t.kind != KIND_TYPE_TAG)
			break;
		if (t.kind == KIND_TYPE_TAG) {
			s = get_str(c, t.name_off);
			if (!s || q.ntags >= MAX_DEPTH + 2)
				return NULL;
			q.tags[q.ntags++] = s;
		}
	}

	switch (t.kind) {
	case KIND_PTR:
		qs = qual_str(&q);
		if (!qs)
			return NULL;
		nd = join(4, "*", qs, *qs && *decl ? " " : "", decl);
		free(qs);
		if (!nd)
			return NULL;
		res = render(c, t.st, NULL, nd, depth);
		free(nd);
		return res;
	case KIND_ARRAY:
		snprintf(num, sizeof(num), "[%u]", le32(t.x + 8));
		nd = wrap(decl, num);
		if (!nd)
			return NULL;
		/* qualifiers of an array belong to its elements */
		res = render(c, le32(t.x), &q, nd, depth);
		free(nd);
		return res;
	case KIND_FUNC_PROTO:
		/* qualifiers on a function type mean nothing; drop them */
		return render_proto(c, &t, decl, depth);
	case KIND_INT:
	case KIND_FLOAT:
	case KIND_TYPEDEF:
	case KIND_STRUCT:
	case KIND_UNION:
	case KIND_ENUM:
	case KIND_ENUM64:
	case KIND_FWD:
		return render_named(c, &t, &q, decl);
	}
	msg("BTF type %u: kind %u is not a data type", id, t.kind);
	return NULL;
}

enum what { WHAT_STRUCT, WHAT_ENUM, WHAT_FUNC };

static const char *const what_names[] = { "struct", "enum", "func" };

static int is_what(const struct type *t, enum what what)
{
	switch (what) {
	case WHAT_ENUM:
		return t->kind == KIND_ENUM || t->kind == KIND_ENUM64;
	case WHAT_FUNC:
		return t->kind == KIND_FUNC;
	default:
		return t->kind == KIND_STRUCT;
	}
}

/* Find a STRUCT (an ENUM/ENUM64, a FUNC) named NAME in ids [from, to]. */
static uint32_t find_struct(const struct ctx *c, const char *name,
			    uint32_t from, uint32_t to, enum what what)
{
	uint32_t id, found = 0, count = 0;
	struct type t;
	const char *s;

	for (id = from; id && id <= to; id++) {
		if (get_type(c, id, &t) || !is_what(&t, what))
			continue;
		s = get_str(c, t.name_off);
		if (!s || strcmp(s, name))
			continue;
		if (!found)
			found = id;
		count++;
	}
	if (count > 1)
		msg("warning: %u definitions of %s %s, using type %u",
		    count, what_names[what], name, found);
	return found;
}

/* Write the buffer to stdout: 0, or -1 (said) on a write error. */
static int sb_write(const struct sbuf *sb)
{
	if (fwrite(sb->s, 1, sb->len, stdout) != sb->len || fflush(stdout)) {
		msg("write error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* "func NAME TYPE": a function's prototype, written as its pointer type. */
static int print_func(const struct ctx *c, uint32_t id, const char *name)
{
	struct type t;
	char *ts;
	int ret = -1;

	if (get_type(c, id, &t))
		return -1;
	ts = render(c, t.st, NULL, "(*)", 0);
	if (!ts)
		return -1;
	if (printf("func %s %s\n", name, ts) < 0 || fflush(stdout))
		msg("write error: %s", strerror(errno));
	else
		ret = 0;
	free(ts);
	return ret;
}

static int print_enum(const struct ctx *c, uint32_t id, const char *name)
{
	struct sbuf sb = { NULL, 0, 0 };
	int wide, sign, ret = -1;
	struct type t;
	uint32_t i;

	if (get_type(c, id, &t) ||
	    sb_printf(&sb, "enum %s size %u\n", name, t.st))
		goto out;
	wide = t.kind == KIND_ENUM64;
	sign = t.kflag;
	for (i = 0; i < t.vlen; i++) {
		const unsigned char *e = t.x + i * (wide ? 12 : 8);
		const char *ename = get_str(c, le32(e));
		uint64_t v = le32(e + 4);
		int err;

		if (!ename)
			goto out;
		if (wide)
			v |= (uint64_t)le32(e + 8) << 32;
		else if (sign)
			v = (uint64_t)(int64_t)(int32_t)v;
		if (sign)
			err = sb_printf(&sb, "%s = %lld\n", ename, (long long)v);
		else
			err = sb_printf(&sb, "%s = %llu\n", ename,
					(unsigned long long)v);
		if (err)
			goto out;
	}
	ret = sb_write(&sb);
out:
	free(sb.s);
	return ret;
}

static int print_struct(const struct ctx *c, uint32_t id, const char *name)
{
	struct sbuf sb = { NULL, 0, 0 };
	struct type t, mt;
	uint32_t i;
	int ret = -1;

	if (get_type(c, id, &t) ||
	    sb_printf(&sb, "struct %s size %u\n", name, t.st))
		goto out;
	for (i = 0; i < t.vlen; i++) {
		const unsigned char *m = t.x + i * 12;
		uint32_t type = le32(m + 4), off = le32(m + 8);
		uint64_t bitoff = off;
		uint32_t bits = 0;
		const char *mname = get_str(c, le32(m));
		char *ts;
		int err;

		if (!mname)
			goto out;
		if (t.kflag) {
			bits = off >> 24;
			bitoff = off & 0xffffff;
		} else if (type) {
			/* old encoding: the int type itself is the bitfield */
			if (get_type(c, type, &mt))
				goto out;
			if (mt.kind == KIND_INT) {
				uint32_t enc = le32(mt.x);

				if ((enc & 0xff) != (uint64_t)mt.st * 8 ||
				    (enc >> 16 & 0xff)) {
					bits = enc & 0xff;
					bitoff += enc >> 16 & 0xff;
				}
			}
		}
		ts = render(c, type, NULL, "", 0);
		if (!ts)
			goto out;
		if (bits)
			err = sb_printf(&sb, "%llu %s %s:%u\n",
					(unsigned long long)bitoff,
					*mname ? mname : "<anon>", ts, bits);
		else
			err = sb_printf(&sb, "%llu %s %s\n",
					(unsigned long long)bitoff,
					*mname ? mname : "<anon>", ts);
		free(ts);
		if (err)
			goto out;
	}
	ret = sb_write(&sb);
out:
	free(sb.s);
	return ret;
}

static int cmd_layout(const char *name, const char *mod_path,
		      const char *base_path, enum what what)
{
	struct blob mod = { NULL, 0 }, base = { NULL, 0 };
	struct btf mod_btf, base_btf, dist_btf;
	struct ctx c;
	const unsigned char *sec, *dsec = NULL;
	size_t sec_len, dsec_len = 0;
	uint32_t id;
	int ret = EXIT_BAD, r;

	memset(&mod_btf, 0, sizeof(mod_btf));
	memset(&base_btf, 0, sizeof(base_btf));
	memset(&dist_btf, 0, sizeof(dist_btf));
	if (read_file(base_path, &base) || read_file(mod_path, &mod))
		goto out;

	if (base.len >= 2 && le16(base.data) == BTF_MAGIC_LE) {
		sec = base.data;
		sec_len = base.len;
	} else {
		r = elf_section(&base, base_path, ".BTF", &sec, &sec_len);
		if (r <= 0) {
			if (!r)
				msg("%s: no .BTF section", base_path);
			goto out;
		}
	}
	if (btf_parse(&base_btf, sec, sec_len, base_path, 1))
		goto out;

	r = elf_section(&mod, mod_path, ".BTF", &sec, &sec_len);
	if (r <= 0) {
		if (!r)
			msg("%s: no .BTF section", mod_path);
		goto out;
	}
	r = elf_section(&mod, mod_path, ".BTF.base", &dsec, &dsec_len);
	if (r < 0)
		goto out;
	if (r && btf_parse(&dist_btf, dsec, dsec_len, mod_path, 1))
		goto out;
	if (btf_parse(&mod_btf, sec, sec_len, mod_path, 0))
		goto out;

	c.base = r ? &dist_btf : &base_btf;
	c.split = &mod_btf;
	c.nr = c.base->nr + mod_btf.nr;
	if (validate(&c))
		goto out;

	id = find_struct(&c, name, c.base->nr + 1, c.nr, what);
	if (!id)
		id = find_struct(&c, name, 1, c.base->nr, what);
	if (!id) {
		msg("%s %s not found in the BTF of %s",
		    what_names[what], name, mod_path);
		ret = EXIT_NOTFOUND;
		goto out;
	}
	if (!(what == WHAT_ENUM ? print_enum(&c, id, name) :
	      what == WHAT_FUNC ? print_func(&c, id, name) :
				  print_struct(&c, id, name)))
		ret = EXIT_FOUND;
out:
	free(mod_btf.off);
	free(base_btf.off);
	free(dist_btf.off);
	free(mod.data);
	free(base.data);
	return ret;
}

static int cmd_payload(const char *path)
{
	struct blob b;
	uint64_t start;
	uint32_t len;
	unsigned int setup_sects;
	int ret = EXIT_BAD;

	if (read_file(path, &b))
		return EXIT_BAD;
	if (b.len < 0x250 || le16(b.data + 0x1fe) != 0xaa55 ||
	    memcmp(b.data + 0x202, "HdrS", 4)) {
		msg("%s: not an x86 bzImage", path);
		goto out;
	}
	if (le16(b.data + 0x206) < 0x208) {
		msg("%s: boot protocol older than 2.08, no payload fields",
		    path);
		goto out;
	}
	setup_sects = b.data[0x1f1] ? b.data[0x1f1] : 4;
	start = (uint64_t)(setup_sects + 1) * 512 + le32(b.data + 0x248);
	len = le32(b.data + 0x24c);
	if (!len || !in_bounds(b.len, start, len)) {
		msg("%s: payload out of bounds", path);
		goto out;
	}
	if (fwrite(b.data + start, 1, len, stdout) != len || fflush(stdout)) {
		msg("write error: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(b.data);
	return ret;
}

static void print_usage(void)
{
	fputs("usage: btf-struct layout STRUCT_NAME MODULE_ELF BASE_BTF\n"
	      "       btf-struct enum ENUM_NAME MODULE_ELF BASE_BTF\n"
	      "       btf-struct func FUNC_NAME MODULE_ELF BASE_BTF\n"
	      "       btf-struct bzimage-payload VMLINUZ\n", stderr);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "layout"))
		return cmd_layout(argv[2], argv[3], argv[4], WHAT_STRUCT);
	if (argc == 5 && !strcmp(argv[1], "enum"))
		return cmd_layout(argv[2], argv[3], argv[4], WHAT_ENUM);
	if (argc == 5 && !strcmp(argv[1], "func"))
		return cmd_layout(argv[2], argv[3], argv[4], WHAT_FUNC);
	if (argc == 3 && !strcmp(argv[1], "bzimage-payload"))
		return cmd_payload(argv[2]);
	print_usage();
	return EXIT_BAD;
}
