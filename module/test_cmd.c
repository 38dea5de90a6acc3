// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_cmd.c - IOMMU_TEST_CMD, compiled into the test flavour only.
 *
 * The operations of upstream iommufd's selftest ABI (test_cmd.h), so that
 * selftest runs against this module: mock devices attached, replaced and
 * checked; reserved IOVA; page pin counts; and a test emulated access
 * driver, handed to user space as a file descriptor, which pins and copies
 * through the access API and unpins whatever its unmap callback is told to.
 *
 * Locking: a test access's lock guards its item list and is held across a
 * pin and its recording; it is a driver's own lock, between the IOAS's
 * access_lock (the unmap callback takes it) and access->lock (locking.h).
 */
#include <linux/anon_inodes.h>
#include <linux/errno.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <iommu_replace/access.h>
#include <iommu_replace/io_pagetable.h>
#include <iommu_replace/mock.h>
#include <iommu_replace/test_cmd.h>

/* Longest ACCESS_PAGES or ACCESS_RW, as upstream: ENOMEM beyond. */
#define IORP_TEST_ACCESS_MAX	SZ_16M

/* The owner of IOVA reserved by IOMMU_TEST_OP_ADD_RESERVED. */
static const int iorp_test_reserved_owner;

/**
 * struct iorp_test_access - the test driver behind an access fd
 * @access: the access
 * @lock: guards @items and @next_id
 * @items: struct iorp_test_access_item, one per ACCESS_PAGES
 * @next_id: the ID of the next item
 */
struct iorp_test_access {
	struct iorp_access *access;
	struct mutex lock;	/* @items, @next_id */
	struct list_head items;
	unsigned int next_id;
};

struct iorp_test_access_item {
	struct list_head node;
	unsigned long iova;
	unsigned long length;
	unsigned int id;
	bool sticky;	/* the unmap callback keeps it */
};

static int iorp_test_add_reserved(struct iorp_ucmd *ucmd, u32 ioas_id,
				  u64 start, u64 length)
{
	struct iorp_ioas *ioas;
	u64 last;
	int ret;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last) || last > ULONG_MAX)
		return -EOVERFLOW;
	ioas = iorp_ioas_get(ucmd->ctx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = iorp_iopt_reserve(&ioas->iopt, start, last,
				&iorp_test_reserved_owner);
	iorp_object_put(ucmd->ctx, &ioas->obj);
	return ret;
}

static int iorp_test_mock_domain(struct iorp_ucmd *ucmd,
				 struct iommu_test_cmd *cmd, u32 flags)
{
	struct iorp_mock *mdev;
	u32 pt_id = cmd->id;
	int ret;

	mdev = iorp_mock_create(ucmd->ctx, flags);
	if (IS_ERR(mdev))
		return PTR_ERR(mdev);
	ret = iorp_device_attach(mdev->idev, &pt_id);
	if (ret)
		goto err_abort;
	cmd->mock_domain.out_stdev_id = mdev->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = mdev->idev->obj.id;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto err_abort;
	iorp_object_finalize(ucmd->ctx, &mdev->obj);
	return 0;

err_abort:
	iorp_mock_abort(ucmd->ctx, mdev);
	return ret;
}

static int iorp_test_mock_domain_replace(struct iorp_ucmd *ucmd,
					 struct iommu_test_cmd *cmd)
{
	struct iorp_object *obj;
	struct iorp_mock *mdev;
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	int ret;

	obj = iorp_object_get(ucmd->ctx, cmd->id, IORP_OBJ_MOCK);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	mdev = container_of(obj, struct iorp_mock, obj);
	ret = iorp_device_replace(mdev->idev, &pt_id);
	if (!ret) {
		cmd->mock_domain_replace.pt_id = pt_id;
		ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iorp_object_put(ucmd->ctx, obj);
	return ret;
}

/* The physical address the user's uptr is backed by now. */
static int iorp_test_user_phys(unsigned long uptr, phys_addr_t *phys)
{
	struct page *page;
	long got;

	got = get_user_pages_fast(uptr & PAGE_MASK, 1, 0, &page);
	if (got < 0)
		return got;
	if (got != 1)
		return -EFAULT;
	*phys = page_to_phys(page) + (uptr & ~PAGE_MASK);
	put_page(page);
	return 0;
}

/* Does mock HWPT id translate [iova, iova + length) to the memory at uptr? */
static int iorp_test_check_map(struct iorp_ucmd *ucmd, u32 id, u64 iova,
			       u64 length, u64 uptr)
{
	struct iorp_object *obj;
	struct iorp_hwpt *hwpt;
	phys_addr_t phys;
	u64 end;
	int ret = 0;

	if (iova % IORP_MOCK_PAGE_SIZE || length % IORP_MOCK_PAGE_SIZE ||
	    uptr % IORP_MOCK_PAGE_SIZE || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	obj = iorp_object_get(ucmd->ctx, id, IORP_OBJ_HWPT);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iorp_hwpt, obj);
	if (!iorp_is_mock_domain(hwpt->domain)) {
		ret = -EINVAL;
		goto out_put;
	}
	for (; length; length -= IORP_MOCK_PAGE_SIZE) {
		ret = iorp_test_user_phys(uptr, &phys);
		if (ret)
			break;
		if (iommu_iova_to_phys(hwpt->domain, iova) != phys) {
			ret = -EINVAL;
			break;
		}
		iova += IORP_MOCK_PAGE_SIZE;
		uptr += IORP_MOCK_PAGE_SIZE;
	}
out_put:
	iorp_object_put(ucmd->ctx, obj);
	return ret;
}

/* HWPT_INFO: what HWPT id's domain is. */
static int iorp_test_hwpt_info(struct iorp_ucmd *ucmd,
			       struct iommu_test_cmd *cmd)
{
	struct iorp_object *obj;
	struct iorp_hwpt *hwpt;

	obj = iorp_object_get(ucmd->ctx, cmd->id, IORP_OBJ_HWPT);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iorp_hwpt, obj);
	cmd->hwpt_info.out_pgsize_bitmap = hwpt->domain->pgsize_bitmap;
	cmd->hwpt_info.out_aperture_start = hwpt->domain->geometry.aperture_start;
	cmd->hwpt_info.out_aperture_last = hwpt->domain->geometry.aperture_end;
	cmd->hwpt_info.out_flags = hwpt->coherent ? IORP_HWPT_INFO_COHERENT : 0;
	iorp_object_put(ucmd->ctx, obj);
	return iorp_ucmd_respond(ucmd, sizeof(*cmd));
}

/* IOPTE_SIZE: the IO page that maps an IOVA in HWPT id. */
static int iorp_test_iopte_size(struct iorp_ucmd *ucmd,
				struct iommu_test_cmd *cmd)
{
	struct iorp_object *obj;
	struct iorp_hwpt *hwpt;
	size_t size;
	int ret;

	if (cmd->iopte_size.iova > ULONG_MAX)
		return -EOVERFLOW;
	obj = iorp_object_get(ucmd->ctx, cmd->id, IORP_OBJ_HWPT);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	hwpt = container_of(obj, struct iorp_hwpt, obj);
	ret = iorp_iopt_iopte_size(&hwpt->ioas->iopt, hwpt->domain,
				   cmd->iopte_size.iova, &size);
	iorp_object_put(ucmd->ctx, obj);
	if (ret)
		return ret;
	cmd->iopte_size.out_size = size;
	return iorp_ucmd_respond(ucmd, sizeof(*cmd));
}

/* Is every page at uptr pinned exactly refs times? */
static int iorp_test_check_refs(u64 uptr, u64 length, u32 refs)
{
	u64 end;

	if (length % PAGE_SIZE || uptr % PAGE_SIZE ||
	    check_add_overflow(uptr, length, &end))
		return -EINVAL;
	for (; length; length -= PAGE_SIZE, uptr += PAGE_SIZE) {
		struct page *page;
		long got;
		int ret = 0;

		got = get_user_pages_fast(uptr, 1, 0, &page);
		if (got < 0)
			return got;
		if (got != 1)
			return -EFAULT;
		/* a compound page's count is its folio's; skip those */
		if (!PageCompound(page) &&
		    page_ref_count(page) / GUP_PIN_COUNTING_BIAS != refs)
			ret = -EIO;
		put_page(page);
		if (ret)
			return ret;
	}
	return 0;
}

static void iorp_test_access_unmap(void *data, unsigned long iova,
				   unsigned long length)
{
	struct iorp_test_access *staccess = data;
	struct iorp_test_access_item *item, *next;
	unsigned long last = iova + length - 1;

	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, next, &staccess->items, node) {
		if (item->sticky ||
		    item->iova > last || item->iova + item->length - 1 < iova)
			continue;
		iorp_access_unpin_pages(staccess->access, item->iova,
					item->length);
		list_del(&item->node);
		kfree(item);
	}
	mutex_unlock(&staccess->lock);
}

static const struct iorp_access_ops iorp_test_access_ops = {
	.unmap = iorp_test_access_unmap,
};

static const struct iorp_access_ops iorp_test_access_pin_ops = {
	.needs_pin_pages = true,
	.unmap = iorp_test_access_unmap,
};

static int iorp_test_access_release(struct inode *inode, struct file *file)
{
	struct iorp_test_access *staccess = file->private_data;
	struct iorp_test_access_item *item, *next;

	/* sticky pins first; then detaching unpins every other item */
	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, next, &staccess->items, node) {
		if (!item->sticky)
			continue;
		iorp_access_unpin_pages(staccess->access, item->iova,
					item->length);
		list_del(&item->node);
		kfree(item);
	}
	mutex_unlock(&staccess->lock);
	iorp_access_destroy(staccess->access);
	WARN_ON(!list_empty(&staccess->items));
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return 0;
}

static const struct file_operations iorp_test_access_fops = {
	.owner = THIS_MODULE,
	.release = iorp_test_access_release,
};

/* The test access behind fd, if it belongs to this context. */
static struct iorp_test_access *iorp_test_access_get(struct iorp_ucmd *ucmd,
						     unsigned int fd,
						     struct file **file)
{
	struct iorp_test_access *staccess;

	*file = fget(fd);
	if (!*file)
		return ERR_PTR(-EBADFD);
	if ((*file)->f_op != &iorp_test_access_fops) {
		fput(*file);
		return ERR_PTR(-EBADFD);
	}
	staccess = (*file)->private_data;
	if (staccess->access->ctx != ucmd->ctx) {
		fput(*file);
		return ERR_PTR(-ENOENT);
	}
	return staccess;
}

static int iorp_test_create_access(struct iorp_ucmd *ucmd,
				   struct iommu_test_cmd *cmd)
{
	u32 flags = cmd->create_access.flags;
	const struct iorp_access_ops *ops;
	struct iorp_test_access *staccess;
	struct file *file;
	int fd, ret;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	staccess = kzalloc(sizeof(*staccess), GFP_KERNEL_ACCOUNT);
	if (!staccess)
		return -ENOMEM;
	mutex_init(&staccess->lock);
	INIT_LIST_HEAD(&staccess->items);
	staccess->next_id = 1;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	ops = flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES ?
	      &iorp_test_access_pin_ops : &iorp_test_access_ops;
	staccess->access = iorp_access_create(ucmd->ctx, ops, staccess);
	if (IS_ERR(staccess->access)) {
		ret = PTR_ERR(staccess->access);
		goto err_put_fd;
	}
	ret = iorp_access_attach(staccess->access, cmd->id);
	if (ret)
		goto err_destroy;
	cmd->create_access.out_access_fd = fd;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto err_destroy;
	file = anon_inode_getfile("[iommu_replace_test_access]",
				  &iorp_test_access_fops, staccess, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_destroy;
	}
	fd_install(fd, file);
	return 0;

err_destroy:
	iorp_access_destroy(staccess->access);
err_put_fd:
	put_unused_fd(fd);
err_free:
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return ret;
}

/* Are the pinned pages the ones backing the user's memory at uptr? */
static int iorp_test_same_pages(struct page **pages, unsigned long npages,
				u64 uptr)
{
	unsigned long i;
	int ret;

	for (i = 0; i < npages; i++) {
		phys_addr_t phys;

		ret = iorp_test_user_phys((uptr & PAGE_MASK) + i * PAGE_SIZE,
					  &phys);
		if (ret)
			return ret;
		if (phys != page_to_phys(pages[i]))
			return -EBADE;
	}
	return 0;
}

static int iorp_test_access_pages(struct iorp_ucmd *ucmd,
				  struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->access_pages.iova;
	unsigned long length = cmd->access_pages.length;
	struct iorp_test_access_item *item;
	struct iorp_test_access *staccess;
	unsigned long npages, last;
	struct page **pages;
	struct file *file;
	int ret;

	if (cmd->access_pages.length > IORP_TEST_ACCESS_MAX)
		return -ENOMEM;
	if (cmd->access_pages.flags &
	    ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ |
	      IORP_FLAGS_ACCESS_STICKY))
		return -EOPNOTSUPP;
	if (!length)
		return -EINVAL;
	if (cmd->access_pages.iova > ULONG_MAX ||
	    cmd->access_pages.length > ULONG_MAX ||
	    check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	staccess = iorp_test_access_get(ucmd, cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	if (!staccess->access->ops->needs_pin_pages) {
		ret = -EOPNOTSUPP;	/* created without NEEDS_PIN_PAGES */
		goto out_put;
	}

	npages = (last >> PAGE_SHIFT) - (iova >> PAGE_SHIFT) + 1;
	pages = kvcalloc(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!pages || !item) {
		ret = -ENOMEM;
		goto out_free;
	}
	/*
	 * Pin and record the pin in one step under the item lock, so the
	 * unmap callback never runs between the two and misses the pin.
	 */
	mutex_lock(&staccess->lock);
	ret = iorp_access_pin_pages(staccess->access, iova, length, pages,
				    cmd->access_pages.flags &
				    MOCK_FLAGS_ACCESS_WRITE ? IOMMU_WRITE : 0);
	if (ret == -ESRCH)	/* an exited process: iommufd says EFAULT */
		ret = -EFAULT;
	if (ret)
		goto out_unlock;
	if (cmd->access_pages.uptr) {
		ret = iorp_test_same_pages(pages, npages, cmd->access_pages.uptr);
		if (ret) {
			iorp_access_undo_pin(staccess->access, iova, length);
			goto out_unlock;
		}
	}
	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	item->sticky = cmd->access_pages.flags & IORP_FLAGS_ACCESS_STICKY;
	list_add_tail(&item->node, &staccess->items);
	cmd->access_pages.out_access_pages_id = item->id;
	item = NULL;
	ret = iorp_ucmd_respond(ucmd, sizeof(*cmd));
out_unlock:
	mutex_unlock(&staccess->lock);
out_free:
	kfree(item);
	kvfree(pages);
out_put:
	fput(file);
	return ret;
}

static int iorp_test_destroy_access_pages(struct iorp_ucmd *ucmd, u32 fd,
					  u32 id)
{
	struct iorp_test_access_item *item;
	struct iorp_test_access *staccess;
	struct file *file;
	int ret = -ENOENT;

	staccess = iorp_test_access_get(ucmd, fd, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	mutex_lock(&staccess->lock);
	list_for_each_entry(item, &staccess->items, node) {
		if (item->id != id)
			continue;
		iorp_access_unpin_pages(staccess->access, item->iova,
					item->length);
		list_del(&item->node);
		kfree(item);
		ret = 0;
		break;
	}
	mutex_unlock(&staccess->lock);
	fput(file);
	return ret;
}

/*
 * Copy between IOVA and the user's buffer through a bounce buffer: on the
 * stack for short copies (the upstream selftest makes tens of thousands of
 * them, which must fit its per-test timeout on a KASAN kernel), else a
 * page.
 */
#define IORP_TEST_SHORT_RW	128

static int iorp_test_access_rw(struct iorp_ucmd *ucmd,
			       struct iommu_test_cmd *cmd)
{
	bool write = cmd->access_rw.flags & MOCK_ACCESS_RW_WRITE;
	void __user *uptr = u64_to_user_ptr(cmd->access_rw.uptr);
	unsigned long iova = cmd->access_rw.iova;
	unsigned long length = cmd->access_rw.length;
	u8 short_bounce[IORP_TEST_SHORT_RW];
	struct iorp_test_access *staccess;
	unsigned long last, chunk;
	struct file *file;
	void *bounce;
	int ret = 0;

	if (cmd->access_rw.length > IORP_TEST_ACCESS_MAX)
		return -ENOMEM;
	if (cmd->access_rw.flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH |
				     MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	if (!length)
		return -EINVAL;
	if (cmd->access_rw.iova > ULONG_MAX || cmd->access_rw.length > ULONG_MAX ||
	    check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	staccess = iorp_test_access_get(ucmd, cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	bounce = short_bounce;
	chunk = sizeof(short_bounce);
	if (length > chunk) {
		bounce = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
		chunk = PAGE_SIZE;
	}
	if (!bounce) {
		ret = -ENOMEM;
		goto out_put;
	}
	while (length) {
		unsigned long n = min(length, chunk);

		if (write && copy_from_user(bounce, uptr, n)) {
			ret = -EFAULT;
			break;
		}
		ret = iorp_access_rw(staccess->access, iova, bounce, n,
				     write ? IOMMU_WRITE : 0);
		if (ret == -ESRCH)	/* an exited process: iommufd says EFAULT */
			ret = -EFAULT;
		if (ret)
			break;
		if (!write && copy_to_user(uptr, bounce, n)) {
			ret = -EFAULT;
			break;
		}
		iova += n;
		uptr += n;
		length -= n;
	}
	if (bounce != short_bounce)
		kfree(bounce);
out_put:
	fput(file);
	return ret;
}

static int iorp_test_access_replace_ioas(struct iorp_ucmd *ucmd, u32 fd,
					 u32 ioas_id)
{
	struct iorp_test_access *staccess;
	struct file *file;
	int ret;

	staccess = iorp_test_access_get(ucmd, fd, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	ret = iorp_access_replace(staccess->access, ioas_id);
	fput(file);
	return ret;
}

int iorp_cmd_test(struct iorp_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iorp_test_add_reserved(ucmd, cmd->id,
					      cmd->add_reserved.start,
					      cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
		return iorp_test_mock_domain(ucmd, cmd, 0);
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iorp_test_mock_domain(ucmd, cmd,
					     cmd->mock_domain_flags.dev_flags);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iorp_test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iorp_test_check_map(ucmd, cmd->id, cmd->check_map.iova,
					   cmd->check_map.length,
					   cmd->check_map.uptr);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iorp_test_check_refs(cmd->check_refs.uptr,
					    cmd->check_refs.length,
					    cmd->check_refs.refs);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iorp_test_create_access(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iorp_test_destroy_access_pages(ucmd, cmd->id,
						      cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iorp_test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iorp_test_access_rw(ucmd, cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* the smallest limit the upstream ABI accepts */
		if (cmd->memory_limit.limit < sizeof(unsigned long) + sizeof(u32))
			return -EINVAL;
		iorp_set_temp_memory_limit(cmd->memory_limit.limit);
		return 0;
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iorp_test_access_replace_ioas(ucmd, cmd->id,
						     cmd->access_replace_ioas.ioas_id);
	case IORP_TEST_OP_HWPT_INFO:
		return iorp_test_hwpt_info(ucmd, cmd);
	case IORP_TEST_OP_IOPTE_SIZE:
		return iorp_test_iopte_size(ucmd, cmd);
	default:
		return -EOPNOTSUPP;
	}
}
