// SPDX-License-Identifier: GPL-2.0-only
/*
 * iorp_emu - two emulated (mdev-style) VFIO devices for the tests. Each is
 * a platform device registered with vfio_register_emulated_iommu_dev(), so
 * it sits alone in an emulated iommu group and reaches memory only through
 * its container's backend: vfio_pin_pages(), vfio_unpin_pages() and
 * vfio_dma_rw(), asked for with the ioctls of iorp_emu.h on its device fd.
 * "iorp-emu.0" has a dma_unmap callback, which unpins what an unmap covers
 * and counts what it was told; "iorp-emu.1" has none.
 *
 * Each device keeps its pinned pages in a small table (struct
 * iorp_emu_pinned, one per page). Locking: emu->lock guards the table and
 * the counters; it is held across the backend's pin and unpin calls, as
 * drivers do, and taken by dma_unmap, which the backend calls with none of
 * it held.
 */
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vfio.h>

#include "iorp_emu.h"

#define IORP_EMU_DEVICES	2

struct iorp_emu_pinned {
	u64 iova;		/* as pinned (type1 unpins only that IOVA) */
	struct page *page;	/* NULL: a free entry */
};

struct iorp_emu {
	struct vfio_device vdev;	/* first, as vfio_alloc_device() needs */
	struct mutex lock;		/* the table and the counters */
	struct iorp_emu_pinned pins[IORP_EMU_MAX_PINS];
	struct iorp_emu_status status;
};

static struct platform_device *iorp_emu_pdevs[IORP_EMU_DEVICES];
static struct iorp_emu *iorp_emu_devs[IORP_EMU_DEVICES];

static struct iorp_emu *to_emu(struct vfio_device *vdev)
{
	return container_of(vdev, struct iorp_emu, vdev);
}

static int iorp_emu_init_dev(struct vfio_device *vdev)
{
	mutex_init(&to_emu(vdev)->lock);
	return 0;
}

static void iorp_emu_release_dev(struct vfio_device *vdev)
{
	mutex_destroy(&to_emu(vdev)->lock);
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	vfio_free_device(vdev);		/* 6.1's drivers free it here */
#endif
}

/* Unpin the table's pages in [iova, iova + length); emu->lock held. */
static u32 iorp_emu_unpin_range(struct iorp_emu *emu, u64 iova, u64 length)
{
	u32 n = 0;
	int i;

	lockdep_assert_held(&emu->lock);
	for (i = 0; i < IORP_EMU_MAX_PINS; i++) {
		struct iorp_emu_pinned *p = &emu->pins[i];

		if (!p->page || p->iova < iova || p->iova - iova >= length)
			continue;
		vfio_unpin_pages(&emu->vdev, p->iova, 1);
		p->page = NULL;
		emu->status.pinned--;
		n++;
	}
	return n;
}

static void iorp_emu_close_device(struct vfio_device *vdev)
{
	struct iorp_emu *emu = to_emu(vdev);

	/* a driver lets go of every pin before its device is closed */
	mutex_lock(&emu->lock);
	iorp_emu_unpin_range(emu, 0, U64_MAX);
	mutex_unlock(&emu->lock);
}

static void iorp_emu_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct iorp_emu *emu = to_emu(vdev);

	mutex_lock(&emu->lock);
	emu->status.unmap_calls++;
	emu->status.last_unmap_iova = iova;
	emu->status.last_unmap_length = length;
	emu->status.unpinned_by_unmap += iorp_emu_unpin_range(emu, iova,
							      length);
	mutex_unlock(&emu->lock);
}

static struct iorp_emu_pinned *iorp_emu_find(struct iorp_emu *emu, u64 iova)
{
	int i;

	for (i = 0; i < IORP_EMU_MAX_PINS; i++)
		if (emu->pins[i].page &&
		    ALIGN_DOWN(emu->pins[i].iova, PAGE_SIZE) ==
		    ALIGN_DOWN(iova, PAGE_SIZE))
			return &emu->pins[i];
	return NULL;
}

static int iorp_emu_pin(struct iorp_emu *emu, struct iorp_emu_pin *cmd)
{
	struct page *pages[IORP_EMU_MAX_NPAGE];
	int prot = IOMMU_READ | (cmd->write ? IOMMU_WRITE : 0);
	int ret, i, j = 0;

	/* npage == 0 is VFIO's to refuse */
	if (cmd->npage > IORP_EMU_MAX_NPAGE)
		return -EINVAL;
	if (cmd->npage > IORP_EMU_MAX_PINS - emu->status.pinned)
		return -ENOSPC;
	ret = vfio_pin_pages(&emu->vdev, cmd->iova, cmd->npage, prot, pages);
	if (ret < 0)
		return ret;
	if (WARN_ON(ret != cmd->npage))
		return -EIO;
	for (i = 0; i < ret; i++) {
		while (emu->pins[j].page)
			j++;
		emu->pins[j].iova = cmd->iova + (u64)i * PAGE_SIZE;
		emu->pins[j].page = pages[i];
		emu->status.pinned++;
	}
	return 0;
}

static int iorp_emu_unpin(struct iorp_emu *emu, struct iorp_emu_pin *cmd)
{
	u64 iova = cmd->iova;
	u32 i;

	if (!cmd->npage || cmd->npage > IORP_EMU_MAX_NPAGE)
		return -EINVAL;
	/* only what this device pinned, as the backend expects */
	for (i = 0; i < cmd->npage; i++)
		if (!iorp_emu_find(emu, iova + (u64)i * PAGE_SIZE))
			return -ENOENT;
	for (i = 0; i < cmd->npage; i++) {
		struct iorp_emu_pinned *p;

		p = iorp_emu_find(emu, iova + (u64)i * PAGE_SIZE);
		vfio_unpin_pages(&emu->vdev, p->iova, 1);
		p->page = NULL;
		emu->status.pinned--;
	}
	return 0;
}

static int iorp_emu_dma_rw(struct iorp_emu *emu, struct iorp_emu_rw *cmd)
{
	void __user *data = u64_to_user_ptr(cmd->data);
	void *buf;
	int ret;

	if (!cmd->len || cmd->len > IORP_EMU_MAX_RW)
		return -EINVAL;
	buf = kvzalloc(cmd->len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	ret = -EFAULT;
	if (cmd->write && copy_from_user(buf, data, cmd->len))
		goto out;
	ret = vfio_dma_rw(&emu->vdev, cmd->iova, buf, cmd->len, cmd->write);
	if (!ret && !cmd->write && copy_to_user(data, buf, cmd->len))
		ret = -EFAULT;
out:
	kvfree(buf);
	return ret;
}

/* The CPU at a pinned page, as a device model would (emu->lock held) */
static int iorp_emu_page_rw(struct iorp_emu *emu, struct iorp_emu_rw *cmd)
{
	u64 offset = cmd->iova & (PAGE_SIZE - 1);
	void __user *data = u64_to_user_ptr(cmd->data);
	struct iorp_emu_pinned *p;
	u8 buf[256];
	void *va;

	if (!cmd->len || cmd->len > sizeof(buf) ||
	    offset + cmd->len > PAGE_SIZE)
		return -EINVAL;
	p = iorp_emu_find(emu, cmd->iova);
	if (!p)
		return -ENOENT;
	if (cmd->write && copy_from_user(buf, data, cmd->len))
		return -EFAULT;
	va = kmap_local_page(p->page);
	if (cmd->write)
		memcpy(va + offset, buf, cmd->len);
	else
		memcpy(buf, va + offset, cmd->len);
	kunmap_local(va);
	if (!cmd->write && copy_to_user(data, buf, cmd->len))
		return -EFAULT;
	return 0;
}

static long iorp_emu_ioctl(struct vfio_device *vdev, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct iorp_emu *emu = to_emu(vdev);
	struct iorp_emu_status status;
	struct iorp_emu_pin pin;
	struct iorp_emu_rw rw;
	int ret;

	switch (cmd) {
	case IORP_EMU_PIN:
	case IORP_EMU_UNPIN:
		if (copy_from_user(&pin, uarg, sizeof(pin)))
			return -EFAULT;
		mutex_lock(&emu->lock);
		ret = cmd == IORP_EMU_PIN ? iorp_emu_pin(emu, &pin) :
					    iorp_emu_unpin(emu, &pin);
		mutex_unlock(&emu->lock);
		return ret;
	case IORP_EMU_DMA_RW:
	case IORP_EMU_PAGE_RW:
		if (copy_from_user(&rw, uarg, sizeof(rw)))
			return -EFAULT;
		if (rw.__reserved)
			return -EINVAL;
		if (cmd == IORP_EMU_DMA_RW)
			return iorp_emu_dma_rw(emu, &rw);
		mutex_lock(&emu->lock);
		ret = iorp_emu_page_rw(emu, &rw);
		mutex_unlock(&emu->lock);
		return ret;
	case IORP_EMU_STATUS:
		mutex_lock(&emu->lock);
		status = emu->status;
		mutex_unlock(&emu->lock);
		return copy_to_user(uarg, &status, sizeof(status)) ? -EFAULT :
								     0;
	default:
		return -ENOTTY;
	}
}

static const struct vfio_device_ops iorp_emu_ops[IORP_EMU_DEVICES] = {
	{
		.name		= "iorp-emu",
		.init		= iorp_emu_init_dev,
		.release	= iorp_emu_release_dev,
		.close_device	= iorp_emu_close_device,
		.ioctl		= iorp_emu_ioctl,
		.dma_unmap	= iorp_emu_dma_unmap,
	},
	{
		.name		= "iorp-emu-no-unmap",
		.init		= iorp_emu_init_dev,
		.release	= iorp_emu_release_dev,
		.close_device	= iorp_emu_close_device,
		.ioctl		= iorp_emu_ioctl,
	},
};

/* VFIO needs the device bound to a driver (it holds the driver's module) */
static struct platform_driver iorp_emu_driver = {
	.driver = { .name = "iorp-emu" },
};

static void iorp_emu_remove_all(void)
{
	int i;

	for (i = IORP_EMU_DEVICES - 1; i >= 0; i--) {
		if (iorp_emu_devs[i]) {
			/* waits until no file has the device open */
			vfio_unregister_group_dev(&iorp_emu_devs[i]->vdev);
			vfio_put_device(&iorp_emu_devs[i]->vdev);
			iorp_emu_devs[i] = NULL;
		}
		if (iorp_emu_pdevs[i])
			platform_device_unregister(iorp_emu_pdevs[i]);
		iorp_emu_pdevs[i] = NULL;
	}
}

static int iorp_emu_add(int i)
{
	struct platform_device *pdev;
	struct iorp_emu *emu;
	int ret;

	pdev = platform_device_register_simple("iorp-emu", i, NULL, 0);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	iorp_emu_pdevs[i] = pdev;
	if (!pdev->dev.driver)
		return -ENODEV;
	emu = vfio_alloc_device(iorp_emu, vdev, &pdev->dev, &iorp_emu_ops[i]);
	if (IS_ERR(emu))
		return PTR_ERR(emu);
	ret = vfio_register_emulated_iommu_dev(&emu->vdev);
	if (ret) {
		vfio_put_device(&emu->vdev);
		return ret;
	}
	iorp_emu_devs[i] = emu;
	return 0;
}

static int __init iorp_emu_init(void)
{
	int i, ret;

	ret = platform_driver_register(&iorp_emu_driver);
	if (ret)
		return ret;
	for (i = 0; i < IORP_EMU_DEVICES; i++) {
		ret = iorp_emu_add(i);
		if (ret)
			goto out_remove;
	}
	return 0;

out_remove:
	iorp_emu_remove_all();
	platform_driver_unregister(&iorp_emu_driver);
	return ret;
}

static void __exit iorp_emu_exit(void)
{
	iorp_emu_remove_all();
	platform_driver_unregister(&iorp_emu_driver);
}

module_init(iorp_emu_init);
module_exit(iorp_emu_exit);
MODULE_DESCRIPTION("iommu-replace tests: emulated VFIO devices that pin through their container");
MODULE_LICENSE("GPL");
