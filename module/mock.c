// SPDX-License-Identifier: GPL-2.0-only
/*
 * mock.c - the mock IOMMU of the test flavour: mock domains (software page
 * tables behind real struct iommu_domain) and mock devices (a device kind
 * for device.c whose hardware is a pointer). See mock.h.
 *
 * A mock page table maps IORP_MOCK_PAGE_SIZE pieces: ptes maps
 * iova / IORP_MOCK_PAGE_SIZE to paddr / IORP_MOCK_PAGE_SIZE. Mapping over a
 * live entry or unmapping a missing one is a bug of the IO page table and
 * warns.
 *
 * Locking: the xarray's own lock; the IO page table serialises map and unmap
 * of one range; a mock device's hardware pointer is its agroup->lock's
 * (order: locking.h).
 */
#include <linux/errno.h>
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include <iommu_replace/device.h>
#include <iommu_replace/fault.h>
#include <iommu_replace/mock.h>
#include <iommu_replace/test_cmd.h>

#define IORP_MOCK_DEVICE_FLAGS (MOCK_FLAGS_DEVICE_NO_DIRTY | \
				MOCK_FLAGS_DEVICE_HUGE_IOVA | \
				MOCK_FLAGS_DEVICE_PASID)

/* The x86 MSI window, reported as every mock device's reserved region. */
#define IORP_MOCK_MSI_START	0xfee00000UL
#define IORP_MOCK_MSI_LAST	0xfeefffffUL

struct iorp_mock_domain {
	struct iommu_domain domain;
	struct xarray ptes;
};

static struct iorp_mock_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct iorp_mock_domain, domain);
}

static int iorp_mock_map_pages(struct iommu_domain *domain, unsigned long iova,
			       phys_addr_t paddr, size_t pgsize, size_t pgcount,
			       int prot, gfp_t gfp, size_t *mapped)
{
	struct iorp_mock_domain *mock = to_mock_domain(domain);
	size_t pieces = pgsize / IORP_MOCK_PAGE_SIZE, i, j;

	if (iorp_should_fail(IORP_FAULT_MOCK_MAP))
		return -ENOMEM;
	for (i = 0; i < pgcount; i++) {
		for (j = 0; j < pieces; j++) {
			unsigned long index = iova / IORP_MOCK_PAGE_SIZE + j;
			void *old;

			old = xa_cmpxchg(&mock->ptes, index, NULL,
					 xa_mk_value(paddr / IORP_MOCK_PAGE_SIZE + j),
					 gfp);
			if (!old)
				continue;
			/* undo this page's pieces; the core unmaps the rest */
			while (j--)
				xa_erase(&mock->ptes, iova / IORP_MOCK_PAGE_SIZE + j);
			if (xa_is_err(old))
				return xa_err(old);
			WARN(1, "iommu_replace: mock IOVA %#lx mapped twice\n", iova);
			return -EEXIST;
		}
		iova += pgsize;
		paddr += pgsize;
		*mapped += pgsize;
	}
	return 0;
}

static size_t iorp_mock_unmap_pages(struct iommu_domain *domain,
				    unsigned long iova, size_t pgsize,
				    size_t pgcount,
				    struct iommu_iotlb_gather *gather)
{
	struct iorp_mock_domain *mock = to_mock_domain(domain);
	size_t pieces = pgsize * pgcount / IORP_MOCK_PAGE_SIZE, i;

	if (iorp_should_fail(IORP_FAULT_MOCK_UNMAP))
		return 0;
	for (i = 0; i < pieces; i++) {
		if (WARN_ON(!xa_erase(&mock->ptes,
				      iova / IORP_MOCK_PAGE_SIZE + i)))
			break;
	}
	return i * IORP_MOCK_PAGE_SIZE;
}

static phys_addr_t iorp_mock_iova_to_phys(struct iommu_domain *domain,
					  dma_addr_t iova)
{
	struct iorp_mock_domain *mock = to_mock_domain(domain);
	void *ent = xa_load(&mock->ptes, iova / IORP_MOCK_PAGE_SIZE);

	if (!ent)
		return 0;
	return xa_to_value(ent) * IORP_MOCK_PAGE_SIZE +
	       iova % IORP_MOCK_PAGE_SIZE;
}

static void iorp_mock_domain_free(struct iommu_domain *domain)
{
	struct iorp_mock_domain *mock = to_mock_domain(domain);

	WARN_ON(!xa_empty(&mock->ptes));
	xa_destroy(&mock->ptes);
	kfree(mock);
}

static const struct iommu_domain_ops iorp_mock_domain_ops = {
	.map_pages = iorp_mock_map_pages,
	.unmap_pages = iorp_mock_unmap_pages,
	.iova_to_phys = iorp_mock_iova_to_phys,
	.free = iorp_mock_domain_free,
};

bool iorp_is_mock_domain(struct iommu_domain *domain)
{
	return domain->ops == &iorp_mock_domain_ops;
}

static struct iommu_domain *iorp_mock_domain_alloc(struct iorp_device *idev,
						   u32 flags, bool *coherent)
{
	struct iorp_mock *mdev = idev->priv;
	struct iorp_mock_domain *mock;

	mock = kzalloc(sizeof(*mock), GFP_KERNEL_ACCOUNT);
	if (!mock)
		return ERR_PTR(-ENOMEM);
	mock->domain.type = IOMMU_DOMAIN_UNMANAGED;
	mock->domain.ops = &iorp_mock_domain_ops;
	mock->domain.pgsize_bitmap = IORP_MOCK_PAGE_SIZE;
	if (mdev->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA)
		mock->domain.pgsize_bitmap |= IORP_MOCK_HUGE_PAGE_SIZE;
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	xa_init_flags(&mock->ptes, XA_FLAGS_ACCOUNT);
	*coherent = true;	/* a software page table: nothing to snoop */
	return &mock->domain;
}

static int iorp_mock_domain_compatible(struct iorp_device *idev,
				       struct iommu_domain *domain)
{
	return iorp_is_mock_domain(domain) ? 0 : -EINVAL;
}

static int iorp_mock_group_switch(struct iorp_attach_group *agroup,
				  struct iommu_domain *old,
				  struct iommu_domain *new)
{
	struct iorp_mock *mdev = agroup->priv;

	lockdep_assert_held(&agroup->lock);
	WARN_ON(mdev->hw_domain != old);
	/* a switch to blocked cannot fail */
	if (new && iorp_should_fail(IORP_FAULT_MOCK_ATTACH))
		return -EIO;
	/* as a driver that cannot use this domain for this device */
	if (new && iorp_should_fail(IORP_FAULT_MOCK_INCOMPATIBLE))
		return -EINVAL;
	mdev->hw_domain = new;
	return 0;
}

static struct iommu_domain *iorp_mock_group_domain(struct iorp_attach_group *agroup)
{
	struct iorp_mock *mdev = agroup->priv;

	return mdev->hw_domain;
}

static int iorp_mock_reserved(struct iorp_device *idev, struct list_head *list)
{
	struct iorp_resv *resv;

	resv = kzalloc(sizeof(*resv), GFP_KERNEL);
	if (!resv)
		return -ENOMEM;
	resv->start = IORP_MOCK_MSI_START;
	resv->last = IORP_MOCK_MSI_LAST;
	list_add_tail(&resv->node, list);
	return 0;
}

static void iorp_mock_hw_info(struct iorp_device *idev,
			      struct iorp_hw_info *info)
{
	struct iorp_mock *mdev = idev->priv;
	struct iommu_test_hw_info data = {
		.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL,
	};

	info->type = IOMMU_HW_INFO_TYPE_SELFTEST;
	memcpy(info->data, &data, sizeof(data));
	info->len = sizeof(data);
	if (mdev->flags & MOCK_FLAGS_DEVICE_PASID)
		info->max_pasid_log2 = MOCK_PASID_WIDTH;
}

static const struct iorp_device_ops iorp_mock_device_ops = {
	.alloc_flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
	.domain_alloc = iorp_mock_domain_alloc,
	.domain_free = iorp_mock_domain_free,
	.domain_compatible = iorp_mock_domain_compatible,
	.group_switch = iorp_mock_group_switch,
	.group_domain = iorp_mock_group_domain,
	.reserved = iorp_mock_reserved,
	.hw_info = iorp_mock_hw_info,
};

/**
 * iorp_mock_create() - a new, bound, detached mock device
 * @ctx: the context
 * @flags: MOCK_FLAGS_DEVICE_* (EINVAL for others)
 *
 * The mock device object is not published: finalize it, or end it with
 * iorp_mock_abort(). Return: the mock device or an ERR_PTR.
 */
struct iorp_mock *iorp_mock_create(struct iorp_ctx *ctx, u32 flags)
{
	struct iorp_device *idev;
	struct iorp_mock *mdev;

	if (flags & ~IORP_MOCK_DEVICE_FLAGS)
		return ERR_PTR(-EINVAL);
	mdev = iorp_object_alloc_type(ctx, struct iorp_mock, IORP_OBJ_MOCK);
	if (IS_ERR(mdev))
		return mdev;
	mdev->flags = flags;
	iorp_attach_group_init(&mdev->agroup, mdev);
	idev = iorp_device_bind(ctx, &mdev->agroup, &iorp_mock_device_ops, mdev);
	if (IS_ERR(idev)) {
		iorp_object_abort(ctx, &mdev->obj);
		return ERR_CAST(idev);
	}
	mdev->idev = idev;
	return mdev;
}

/* Undo iorp_mock_create() of an unpublished mock device. */
void iorp_mock_abort(struct iorp_ctx *ctx, struct iorp_mock *mdev)
{
	iorp_object_abort_and_destroy(ctx, &mdev->obj);
}

void iorp_mock_destroy(struct iorp_object *obj)
{
	struct iorp_mock *mdev = container_of(obj, struct iorp_mock, obj);

	iorp_device_unbind(mdev->idev);
	WARN_ON(mdev->hw_domain);
	mutex_destroy(&mdev->agroup.lock);
}
