/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * device.h - hardware page tables (HWPT), bound devices and their groups.
 *
 * A HWPT (IORP_OBJ_HWPT) owns an iommu_domain kept filled from one IOAS.
 * Automatic HWPTs are made when a device attaches to an IOAS and destroyed
 * when their last device leaves; manual ones (IOMMU_HWPT_ALLOC) live until
 * IOMMU_DESTROY.
 *
 * A bound device (IORP_OBJ_DEVICE, "idev") belongs to a struct
 * iorp_attach_group ("agroup"): the devices of one iommu group that one
 * file bound, and the HWPT they are attached to. Devices of one group
 * always share one HWPT; attaching is per device, but the group's hardware
 * follows its HWPT.
 *
 * The other "groups" of this module, so they are never confused: struct
 * iommu_group is the kernel's ("iommu_group" wherever it appears); struct
 * iommu_replace_group is a group claimed for domain switches
 * (linux/iommu_replace.h, "rg"); struct iorp_owned_group is a file's record
 * of an iommu group of PCI devices it owns, which embeds the agroup and
 * holds the rg (pci_device.c, "owned").
 *
 * Kinds of devices (the mock devices of the test flavour, PCI devices)
 * plug in through struct iorp_device_ops; everything else, attach, replace
 * and detach included, is common code in device.c.
 *
 * Locking (order: locking.h): agroup->lock guards a group's attachment
 * and its devices' @attached. An attached device holds a users reference
 * on its HWPT, a HWPT on its IOAS.
 */
#ifndef IORP_DEVICE_H
#define IORP_DEVICE_H

#include <linux/list.h>
#include <linux/mutex.h>

#include <iommu_replace/core.h>

struct device;
struct iommu_domain;
struct iommu_group;
struct iommu_replace_group;
struct iorp_device;
struct iorp_attach_group;
struct iorp_ioas;

/**
 * struct iorp_resv - an IOVA range a device must not have mapped
 * @node: in a list built by iorp_device_ops.reserved
 * @start: first IOVA
 * @last: last IOVA (inclusive)
 */
struct iorp_resv {
	struct list_head node;
	unsigned long start;
	unsigned long last;
};

/**
 * struct iorp_hw_info - what IOMMU_GET_HW_INFO reports
 * @type: enum iommu_hw_info_type, or a test type
 * @data: driver data; @len bytes of it are valid
 * @len: size of @data
 * @capabilities: enum iommufd_hw_capabilities
 * @max_pasid_log2: PASID width, 0 for none
 */
struct iorp_hw_info {
	u32 type;
	u8 data[32];
	u32 len;
	u64 capabilities;
	u8 max_pasid_log2;
};

/**
 * struct iorp_device_ops - what a kind of device provides
 * @alloc_flags: IOMMU_HWPT_ALLOC_* flags @domain_alloc understands
 * @domain_alloc: a new, empty paging domain for the device's IOMMU; sets
 *                *@coherent if the IOMMU forces its DMA to snoop CPU caches
 * @domain_free: free a domain from @domain_alloc
 * @domain_compatible: 0 if the device could be attached to this domain,
 *                     else an errno (EINVAL; ENODEV for a removed device)
 * @group_switch: move the group's hardware from @old to @new (either may be
 *                NULL: blocked). On failure the hardware is still on @old,
 *                unless the kind could not put it back: then it is
 *                blocked, which @group_domain tells. A switch to NULL does
 *                not fail.
 * @group_domain: the domain the group's hardware uses, NULL if blocked
 * @reserved: add the device's reserved IOVA ranges to @list
 * @hw_info: fill in IOMMU_GET_HW_INFO's answer
 * @unbind: optional; the device object is going away, detached and out of
 *          its group: release what binding it took
 */
struct iorp_device_ops {
	u32 alloc_flags;
	struct iommu_domain *(*domain_alloc)(struct iorp_device *idev, u32 flags,
					     bool *coherent);
	void (*domain_free)(struct iommu_domain *domain);
	int (*domain_compatible)(struct iorp_device *idev,
				 struct iommu_domain *domain);
	int (*group_switch)(struct iorp_attach_group *agroup,
			    struct iommu_domain *old, struct iommu_domain *new);
	struct iommu_domain *(*group_domain)(struct iorp_attach_group *agroup);
	int (*reserved)(struct iorp_device *idev, struct list_head *list);
	void (*hw_info)(struct iorp_device *idev, struct iorp_hw_info *info);
	void (*unbind)(struct iorp_device *idev);
};

/**
 * struct iorp_hwpt - a hardware page table (IORP_OBJ_HWPT)
 * @obj: the object
 * @ctx: the owning context
 * @domain: the iommu_domain, filled from @ioas
 * @ops: the kind of device that made @domain (frees it)
 * @ioas: the IOAS (holds a users reference)
 * @iopt_node: in ioas->iopt.domains
 * @auto_node: in ioas->auto_hwpts, for automatic HWPTs
 * @auto_domain: made by an attach to an IOAS; goes with its last device
 * @nest_parent: allocated with IOMMU_HWPT_ALLOC_NEST_PARENT
 * @coherent: the IOMMU forces the DMA through @domain to snoop CPU caches
 */
struct iorp_hwpt {
	struct iorp_object obj;
	struct iorp_ctx *ctx;
	struct iommu_domain *domain;
	const struct iorp_device_ops *ops;
	struct iorp_ioas *ioas;
	struct list_head iopt_node;
	struct list_head auto_node;
	bool auto_domain;
	bool nest_parent;
	bool coherent;
};

/**
 * struct iorp_attach_group - the devices of an iommu group one file bound
 * @lock: guards the fields below and the devices' @attached
 * @devices: bound devices (struct iorp_device, group_node)
 * @hwpt: the HWPT the group's hardware uses, or NULL (blocked)
 * @attached: devices attached to @hwpt (each holds a reference on it)
 * @need_coherent: only HWPTs that force DMA to snoop CPU caches (set once,
 *                 before the group is used: VFIO told KVM they would)
 * @priv: the device kind's own state
 */
struct iorp_attach_group {
	struct mutex lock;	/* attachment state of the group */
	struct list_head devices;
	struct iorp_hwpt *hwpt;
	unsigned int attached;
	bool need_coherent;
	void *priv;
};

/**
 * struct iorp_device - a bound device (IORP_OBJ_DEVICE)
 * @obj: the object; a device with a kernel owner (a mock device) has one
 *       more reference, so user space cannot IOMMU_DESTROY it (EBUSY); one
 *       user space bound can be destroyed (unbound) like any object
 * @ctx: the owning context
 * @group: its group
 * @group_node: in group->devices
 * @ops: its kind
 * @priv: the kind's own state
 * @attached: attached to agroup->hwpt (agroup->lock)
 * @gone: hot-unplugged, or its group taken back by VFIO: it cannot attach
 *        any more; set once by its kind,
 *        read with READ_ONCE() (the kind refuses what needs the device)
 */
struct iorp_device {
	struct iorp_object obj;
	struct iorp_ctx *ctx;
	struct iorp_attach_group *agroup;
	struct list_head group_node;
	const struct iorp_device_ops *ops;
	void *priv;
	bool attached;
	bool gone;
};

/* hwpt.c */
struct iorp_hwpt *iorp_hwpt_alloc(struct iorp_ctx *ctx, struct iorp_ioas *ioas,
				  struct iorp_device *idev, u32 flags,
				  bool auto_domain);

/* domain_switch.c: what the device kinds use beyond linux/iommu_replace.h */
unsigned int iorp_group_device_count(struct iommu_group *iommu_group);
struct iommu_replace_group *iorp_replace_borrow(struct iommu_group *iommu_group);
void iorp_replace_abandon(struct iommu_replace_group *rg);
void iorp_replace_leaving(struct iommu_replace_group *rg, struct device *dev);
void iorp_replace_left(struct iommu_replace_group *rg, struct device *dev);
int iorp_replace_introduce(struct iommu_replace_group *rg,
			   struct iommu_domain *domain, bool *coherent);

/* pci_device.c */
void iorp_pci_vfio_group_left(struct iorp_ctx *ctx,
			      struct iommu_group *iommu_group);
bool iorp_pci_group_coherent(struct iommu_group *iommu_group);
struct iorp_device **iorp_pci_bind_group(struct iorp_ctx *ctx,
					 struct iommu_group *iommu_group,
					 bool coherent, unsigned int *nr);
void iorp_pci_unbind_group(struct iorp_device **idevs, unsigned int nr);
int iorp_pci_init(void);
void iorp_pci_exit(void);

/* device.c */
void iorp_attach_group_init(struct iorp_attach_group *agroup, void *priv);
struct iorp_device *iorp_device_create(struct iorp_ctx *ctx,
				       struct iorp_attach_group *agroup,
				       const struct iorp_device_ops *ops,
				       void *priv);
void iorp_device_link(struct iorp_device *idev);
struct iorp_device *iorp_device_bind(struct iorp_ctx *ctx,
				     struct iorp_attach_group *agroup,
				     const struct iorp_device_ops *ops,
				     void *priv);
void iorp_device_unbind(struct iorp_device *idev);
int iorp_device_attach(struct iorp_device *idev, u32 *pt_id);
int iorp_device_replace(struct iorp_device *idev, u32 *pt_id);
int iorp_device_set_pt(struct iorp_device *idev, u32 *pt_id);
void iorp_device_detach(struct iorp_device *idev);
struct iorp_hwpt *iorp_device_hold_hwpt(struct iorp_device *idev);
void iorp_device_put_hwpt(struct iorp_hwpt *hwpt);
struct iorp_device *iorp_device_get(struct iorp_ctx *ctx, u32 id);

#endif /* IORP_DEVICE_H */
