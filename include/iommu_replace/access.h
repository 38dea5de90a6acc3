/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * access.h - emulated access: the in-kernel API for mdev-style drivers.
 *
 * A driver that emulates a device (no IOMMU between it and memory) reaches
 * IOAS memory through an access: it attaches the access to an IOAS, then
 * pins pages at IOVAs or copies to and from them. Pins keep the IOVA range
 * mapped: unmapping it calls the driver's unmap callback, which must unpin
 * everything it pinned in the range before returning (the unmap is retried
 * until it did). An access can move to another IOAS; the move either
 * completes or leaves the access on its old IOAS. While it moves, the
 * driver is asked, pin by pin, to unpin the range of the areas of the old
 * IOAS that hold it, and its pins and copies fail (no IOAS).
 *
 * Locking (order: locking.h): access->attach_lock serialises attach,
 * replace, detach and destroy; iopt->access_lock is held while callbacks
 * run for an unmap (attach_lock when the access moves or detaches, with
 * its pins and copies failing meanwhile); access->lock guards the current
 * IOAS and the pin records. A callback may pin, unpin and copy (a driver's
 * own lock it takes there sits between iopt->access_lock and
 * access->lock), but must not attach, replace, detach or destroy.
 */
#ifndef IORP_ACCESS_H
#define IORP_ACCESS_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct page;
struct iorp_access;
struct iorp_ctx;
struct iorp_ioas;

/**
 * struct iorp_access_ops - the driver's side of an access
 * @needs_pin_pages: the driver pins pages (not only copies); the IOAS then
 *                   needs PAGE_SIZE alignment
 * @unmap: required; [iova, iova + length) is being unmapped: unpin every
 *         pin inside it before returning
 */
struct iorp_access_ops {
	bool needs_pin_pages;
	void (*unmap)(void *data, unsigned long iova, unsigned long length);
};

/**
 * struct iorp_access_link - an access's entry in an IOAS's access list
 * @node: in iopt->accesses
 * @access: the access
 */
struct iorp_access_link {
	struct list_head node;
	struct iorp_access *access;
};

/**
 * struct iorp_access - an emulated access
 * @ctx: the context (the access holds a reference on its file)
 * @ops: the driver's callbacks
 * @data: the driver's cookie for @ops
 * @attach_lock: serialises attach, replace, detach and destroy
 * @lock: guards @ioas and @pins
 * @ioas: the IOAS pins and copies go to (holds a users reference), or NULL
 * @pins: struct iorp_access_pinrec, one per pin call
 * @links: list entries: one for the IOAS the access is on and, during a
 *         replace, one for the IOAS it moves to
 * @link: index in @links of the entry for @ioas
 */
struct iorp_access {
	struct iorp_ctx *ctx;
	const struct iorp_access_ops *ops;
	void *data;
	struct mutex attach_lock;	/* attach, replace, detach, destroy */
	struct mutex lock;		/* @ioas and @pins */
	struct iorp_ioas *ioas;
	struct list_head pins;
	struct iorp_access_link links[2];
	unsigned int link;
};

struct iorp_access *iorp_access_create(struct iorp_ctx *ctx,
				       const struct iorp_access_ops *ops,
				       void *data);
void iorp_access_destroy(struct iorp_access *access);
int iorp_access_attach(struct iorp_access *access, u32 ioas_id);
int iorp_access_replace(struct iorp_access *access, u32 ioas_id);
void iorp_access_detach(struct iorp_access *access);
int iorp_access_pin_pages(struct iorp_access *access, unsigned long iova,
			  unsigned long length, struct page **out, int prot);
/* pages one iorp_access_pin_each_page() pins at most: VFIO's own bound */
#define IORP_ACCESS_PIN_EACH_MAX	(PAGE_SIZE / sizeof(unsigned long))

int iorp_access_pin_each_page(struct iorp_access *access, unsigned long iova,
			      unsigned int npage, struct page **out, int prot);
void iorp_access_unpin_pages(struct iorp_access *access, unsigned long iova,
			     unsigned long length);
void iorp_access_undo_pin(struct iorp_access *access, unsigned long iova,
			  unsigned long length);
int iorp_access_rw(struct iorp_access *access, unsigned long iova, void *buf,
		   unsigned long length, int prot);

#endif /* IORP_ACCESS_H */
