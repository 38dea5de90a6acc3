// SPDX-License-Identifier: GPL-2.0-only
/*
 * uapi_header - compile-time check of uapi/linux/iommu_replace.h.
 *
 * make check compiles this file as C11 and as C++11, alone and together with
 * a system <linux/iommufd.h> included before (IOMMUFD_FIRST) or after
 * (IOMMUFD_AFTER) our header. The layout assertions hold whichever header
 * ended up defining a struct. Running the program checks nothing more; it
 * exists so the compile is the test.
 */
#ifdef IOMMUFD_FIRST
#include <linux/iommufd.h>
#endif
#include <linux/iommu_replace.h>
#ifdef IOMMUFD_AFTER
#include <linux/iommufd.h>
#endif

#include <stddef.h>

#ifdef __cplusplus
#define LAYOUT(expr) static_assert(expr, #expr)
#else
#define LAYOUT(expr) _Static_assert(expr, #expr)
#endif

LAYOUT(IOMMUFD_TYPE == ';');
LAYOUT(IOMMU_DESTROY == 0x3b80);
LAYOUT(sizeof(struct iommu_destroy) == 8);
LAYOUT(offsetof(struct iommu_destroy, id) == 4);
LAYOUT(IOMMU_REPLACE_NR_BASE > 0xa0);
/* the link is a VFIO container ioctl: clear of VFIO's own numbers */
LAYOUT(IOMMU_REPLACE_VFIO_LINK == 0x3bd0);
LAYOUT(sizeof(struct iommu_replace_vfio_link) == 16);
LAYOUT(offsetof(struct iommu_replace_vfio_link, iommufd) == 8);

int main(void)
{
	struct iommu_destroy destroy = { sizeof(destroy), 0 };

	return (int)destroy.id;
}
