// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio_type1.c - VFIO type1's container ioctls, served from an IOAS.
 *
 * A container opened as VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU (with the
 * module parameter vfio_type1, vfio_backend.c) has a context of its own,
 * which no file descriptor names, with one IOAS to start with; every
 * device of its groups is attached to the same IOAS (the REPLACE
 * extension, vfio_backend.c, adds others). VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA
 * and VFIO_IOMMU_GET_INFO become IOAS maps, unmaps and questions, with the
 * checks, their order and the errnos of the kernel's vfio_iommu_type1:
 *
 *  - MAP_DMA: flags (READ, WRITE; anything else, VADDR too, EINVAL), a
 *    direction, size, IOVA and address aligned to the smallest IO page,
 *    no wrap (all EINVAL); then what the IOAS refuses: a reserved or
 *    untranslated IOVA (EINVAL), an IOVA already mapped (EEXIST), memory
 *    that cannot be pinned (EFAULT) or charged (ENOMEM, RLIMIT_MEMLOCK of
 *    the mapping process, as type1 charges). There is no count limit:
 *    what mappings take is charged to the caller's memory cgroup.
 *  - UNMAP_DMA: flags ALL (only with IOVA and size 0) or none (GET_DIRTY_BITMAP, VADDR: EINVAL);
 *    alignment and wrap as above. v2: a range that cuts a mapping is
 *    EINVAL; v1: a range that starts inside a mapping unmaps nothing, and
 *    mappings that start in the range go whole. A range with no mapping
 *    succeeds with size 0. The size unmapped is written back.
 *  - GET_INFO: the IO page sizes of all the IOAS's domains, and the
 *    capabilities DMA_AVAIL (U32_MAX: no limit) and IOVA_RANGE (the IOVA
 *    the IOAS may map), laid out by VFIO's own helpers, so they match the
 *    running kernel's vfio_iommu_type1 (6.12's padding word after
 *    cap_offset is not written, as 6.1 has none). No migration
 *    capability: dirty tracking is not served (VFIO_IOMMU_DIRTY_PAGES is
 *    ENOTTY).
 *
 * Locking: none here; the IOAS locks what it touches. The caller holds the
 * context's file across the call (vfio_backend.c).
 */
#include <linux/iommu.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include <iommu_replace/compat.h>
#include <iommu_replace/core.h>
#include <iommu_replace/io_pagetable.h>
#include <iommu_replace/vfio_type1.h>

/* built with the VFIO backend only: it links to vfio */
#ifdef IORP_VFIO_OPS_LAYOUT

/* The smallest IO page every domain of the IOAS maps. */
static unsigned long iorp_type1_pgsize(struct iorp_ioas *ioas)
{
	return 1UL << __ffs(iorp_iopt_pgsize_bitmap(&ioas->iopt));
}

static int iorp_type1_map(struct iorp_ctx *ctx, struct iorp_ioas *ioas,
			  void __user *uarg)
{
	struct vfio_iommu_type1_dma_map map;
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	unsigned long pgsize, iova, last;
	int prot = IOMMU_CACHE;	/* as every map of ours, and type1's */

	if (copy_from_user(&map, uarg, minsz))
		return -EFAULT;
	if (map.argsz < minsz ||
	    map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (!(prot & (IOMMU_READ | IOMMU_WRITE)))
		return -EINVAL;
	pgsize = iorp_type1_pgsize(ioas);
	if (!map.size || (map.size | map.iova | map.vaddr) & (pgsize - 1))
		return -EINVAL;
	if (check_add_overflow(map.iova, map.size - 1, &last) ||
	    check_add_overflow(map.vaddr, map.size - 1, &last))
		return -EINVAL;
	iova = map.iova;
	return iorp_iopt_map_user(ctx, &ioas->iopt, &iova, map.vaddr, map.size,
				  prot, true);
}

static int iorp_type1_unmap(struct iorp_ioas *ioas, bool v2,
			    void __user *uarg)
{
	struct vfio_iommu_type1_dma_unmap unmap;
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	unsigned long pgsize, unmapped = 0, last;
	int ret;

	if (copy_from_user(&unmap, uarg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;
	pgsize = iorp_type1_pgsize(ioas);
	if (unmap.iova & (pgsize - 1))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		ret = iorp_iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		if (!unmap.size || unmap.size & (pgsize - 1) ||
		    check_add_overflow(unmap.iova, unmap.size - 1, &last))
			return -EINVAL;
		ret = iorp_iopt_unmap_type1(&ioas->iopt, unmap.iova,
					    unmap.size, !v2, &unmapped);
	}
	if (ret)
		return ret;
	unmap.size = unmapped;
	return copy_to_user(uarg, &unmap, minsz) ? -EFAULT : 0;
}

/* The IOVA ranges the IOAS may map: the holes in its reserved ranges. */
static int iorp_type1_iova_cap(struct iorp_ioas *ioas,
			       struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	struct vfio_info_cap_header *header;
	struct rb_root_cached *reserved = &ioas->iopt.reserved_itree;
	unsigned long pos, hole_last;
	u32 nr = 0, room = 0;
	size_t size;

	/* counted, then filled under one hold of the lock */
	down_read(&ioas->iopt.iova_rwsem);
	for (pos = 0; iorp_next_hole(&reserved, 1, &pos, ULONG_MAX, &hole_last);
	     pos = hole_last + 1) {
		room++;
		if (hole_last == ULONG_MAX)
			break;
	}
	if (!room) {
		up_read(&ioas->iopt.iova_rwsem);
		return 0;
	}
	size = struct_size(cap, iova_ranges, room);
	header = vfio_info_cap_add(caps, size,
				   VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
	if (IS_ERR(header)) {
		up_read(&ioas->iopt.iova_rwsem);
		return PTR_ERR(header);
	}
	cap = container_of(header, struct vfio_iommu_type1_info_cap_iova_range,
			   header);
	for (pos = 0; nr < room &&
	     iorp_next_hole(&reserved, 1, &pos, ULONG_MAX, &hole_last);
	     pos = hole_last + 1) {
		cap->iova_ranges[nr].start = pos;
		cap->iova_ranges[nr].end = hole_last;
		nr++;
		if (hole_last == ULONG_MAX)
			break;
	}
	cap->nr_iovas = nr;
	up_read(&ioas->iopt.iova_rwsem);
	return 0;
}

static int iorp_type1_get_info(struct iorp_ioas *ioas, void __user *uarg)
{
	struct vfio_iommu_type1_info info = {};
	struct vfio_iommu_type1_info_dma_avail avail = {
		.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
		.header.version = 1,
		.avail = U32_MAX,
	};
	struct vfio_info_cap caps = {};
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	int ret;

	if (copy_from_user(&info, uarg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	/* older callers' struct ends before cap_offset, as type1 allows */
	if (info.argsz >= offsetofend(struct vfio_iommu_type1_info, cap_offset))
		minsz = offsetofend(struct vfio_iommu_type1_info, cap_offset);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iorp_iopt_pgsize_bitmap(&ioas->iopt);

	ret = vfio_info_add_capability(&caps, &avail.header, sizeof(avail));
	if (!ret)
		ret = iorp_type1_iova_cap(ioas, &caps);
	if (ret)
		goto out_free;
	if (caps.size) {
		info.flags |= VFIO_IOMMU_INFO_CAPS;
		if (info.argsz < sizeof(info) + caps.size) {
			info.argsz = sizeof(info) + caps.size;
		} else {
			vfio_info_cap_shift(&caps, sizeof(info));
			if (copy_to_user(uarg + sizeof(info), caps.buf,
					 caps.size)) {
				ret = -EFAULT;
				goto out_free;
			}
			info.cap_offset = sizeof(info);
		}
	}
	ret = copy_to_user(uarg, &info, minsz) ? -EFAULT : 0;
out_free:
	kfree(caps.buf);
	return ret;
}

/**
 * iorp_type1_ioctl() - a type1 container's MAP_DMA, UNMAP_DMA or GET_INFO
 * @ctx: the container's context (the caller holds the container)
 * @ioas_id: the IOAS: the selected one, or for GET_INFO the attached one
 *           (the caller holds the container's ioas_lock, so it exists)
 * @v2: opened as VFIO_TYPE1v2_IOMMU
 * @cmd: the ioctl
 * @uarg: its argument
 *
 * Return: as the kernel's vfio_iommu_type1 answers (see the file comment);
 * ENOTTY for any other ioctl.
 */
long iorp_type1_ioctl(struct iorp_ctx *ctx, u32 ioas_id, bool v2,
		      unsigned int cmd, void __user *uarg)
{
	struct iorp_ioas *ioas = iorp_ioas_get(ctx, ioas_id);
	long ret;

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);	/* cannot be: see @ioas_id */
	switch (cmd) {
	case VFIO_IOMMU_MAP_DMA:
		ret = iorp_type1_map(ctx, ioas, uarg);
		break;
	case VFIO_IOMMU_UNMAP_DMA:
		ret = iorp_type1_unmap(ioas, v2, uarg);
		break;
	case VFIO_IOMMU_GET_INFO:
		ret = iorp_type1_get_info(ioas, uarg);
		break;
	default:
		ret = -ENOTTY;
	}
	iorp_object_put(ctx, &ioas->obj);
	return ret;
}

#endif /* IORP_VFIO_OPS_LAYOUT */
