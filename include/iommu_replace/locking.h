/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * locking.h - the one lock order of iommu_replace.ko.
 *
 * Every "Locking:" comment of the module points here. A lock may be taken
 * while holding only locks above it in this list (outermost first); two
 * locks are never held in the other order. Functions that need a lock held
 * say so with lockdep_assert_held().
 *
 *  1. device_lock() of a PCI device being bound (the driver core's): its
 *     driver cannot change, so a bind cannot race its removal. VFIO holds
 *     one (of a vfio-pci device being unbound) around a group's detach
 *  2. VFIO's own locks (vfio.group_lock, a group's group_lock, a
 *     container's group_lock, vfio.iommu_drivers_lock), held when VFIO
 *     calls the backend (vfio_backend.c; a type1 container's attach_group
 *     binds and attaches under them). Nothing of ours takes them
 * 2a. container->ioas_lock (vfio_backend.c): a type1 container's IOASes
 *     and devices: its type1 ioctls, a group's attach and unbind, SWITCH.
 *     Held across pinning, as type1 holds its own lock
 *  3. iorp_pci_lock (pci_device.c): the bound PCI devices. Held briefly;
 *     never while waiting for anything a user can stall (a pin, a fault)
 *  4. iorp_vfio_lock (vfio_backend.c): the containers of our VFIO
 *     backend, their groups and links. Held briefly, calling nothing
 *  5. ctx->groups_lock (core.h): a file's owned iommu groups
 *  6. agroup->lock (device.h): one iommu group's attachment: its devices'
 *     HWPT. May be held across pinning user memory (filling a new HWPT),
 *     so nothing that must not stall (hot-unplug, other files) takes it
 *  7. access->attach_lock (access.h): an access's attach, replace, destroy
 *  8. iopt->access_lock (io_pagetable.h): an IOAS's accesses; held while
 *     their unmap callbacks run
 * 8a. container->emu_lock (vfio_backend.c): a type1 container's emulated
 *     devices; held while their drivers' dma_unmap callbacks run (which
 *     take the drivers' own locks, then unpin: access->lock). VFIO
 *     registers devices under its locks (item 2). Pins only read the list
 *     (RCU), since drivers pin under their own locks
 *  9. access->lock (access.h): an access's IOAS and pin records
 * 10. ioas->mutex (io_pagetable.h): an IOAS's automatic HWPTs
 * 11. pci->iommu_lock (pci_device.c, rwsem): read around each use of a PCI
 *     device's IOMMU state; the hot-unplug notifier writes it once
 * 12. rg->lock (domain_switch.c): a claimed group's switches
 * 13. the iommu group's own mutex (taken by iommu_group_for_each_dev())
 * 14. iopt->domains_rwsem (io_pagetable.h): an IOAS's HWPTs
 * 15. iopt->iova_rwsem (io_pagetable.h): its areas and IOVA trees
 * 16. pages->mutex (io_pagetable.h): pinned pages and their accounting
 * 17. ctx->objects' xa_lock (core.h, a spinlock): the object table and the
 *     users counts' transitions from and to one; nothing sleeps under it
 *
 * Pairs that are never nested are ordered anyway, so the list stays one
 * line. Outside the list: the fault and pause state of the test flavour
 * (atomics) and the debugfs counters (atomics).
 *
 * References, not locks, keep objects alive across the gaps: a users count
 * per object (core.h), a kref per struct iorp_pages, a file reference per
 * access. Hot-unplug's deferred work is cancelled before its device is
 * freed (pci_device.c).
 */
#ifndef IORP_LOCKING_H
#define IORP_LOCKING_H
#endif /* IORP_LOCKING_H */
