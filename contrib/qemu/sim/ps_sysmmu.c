// SPDX-License-Identifier: GPL-2.0
/*
 * ps_sysmmu - simulated SysMMU instance for probestorm.
 *
 * Each "probestorm,sim-sysmmu" platform device registers one IOMMU instance that
 * translates nothing (identity domain only). Its only purpose is to reproduce the
 * timing of a real SysMMU registration: iommu_device_register() walks the platform
 * bus and calls probe_device() for every device behind the instance before the
 * instance becomes "ready". probe_device() sleeps walk_delay_us per device, which
 * widens that window at will, so a consumer bound during the walk meets the race in
 * iommu_fwspec_init() (see probestorm's docs/kernel-facts.md).
 *
 * Bind/unbind through sysfs is allowed on purpose: a race cycle unregisters the
 * suppliers and registers them again.
 */

#include <linux/delay.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mod_devicetable.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/platform_device.h>

static unsigned int walk_delay_us;
module_param(walk_delay_us, uint, 0644);
MODULE_PARM_DESC(walk_delay_us,
		 "Sleep in probe_device() for each device behind an instance (us)");

static bool async_probe;
module_param(async_probe, bool, 0444);
MODULE_PARM_DESC(async_probe, "Register the driver with PROBE_PREFER_ASYNCHRONOUS");

static char fail_probe[64];
module_param_string(fail_probe, fail_probe, sizeof(fail_probe), 0644);
MODULE_PARM_DESC(fail_probe, "Device name of the instance whose probe returns -EIO");

static unsigned int probe_device_count;
module_param(probe_device_count, uint, 0444);
MODULE_PARM_DESC(probe_device_count, "probe_device() calls so far (read only)");

struct ps_sysmmu {
	struct iommu_device iommu;
	struct device *dev;
	struct list_head node;
};

/* Registered instances, looked up by fwnode from probe_device(). */
static LIST_HEAD(ps_sysmmu_list);
static DEFINE_MUTEX(ps_sysmmu_lock);

static struct ps_sysmmu *ps_sysmmu_find(const struct fwnode_handle *fwnode)
{
	struct ps_sysmmu *mmu;

	list_for_each_entry(mmu, &ps_sysmmu_list, node)
		if (dev_fwnode(mmu->dev) == fwnode)
			return mmu;
	return NULL;
}

static int ps_sysmmu_identity_attach(struct iommu_domain *domain, struct device *dev,
				     struct iommu_domain *old)
{
	return 0;
}

static const struct iommu_domain_ops ps_sysmmu_identity_ops = {
	.attach_dev = ps_sysmmu_identity_attach,
};

static struct iommu_domain ps_sysmmu_identity_domain = {
	.type = IOMMU_DOMAIN_IDENTITY,
	.ops = &ps_sysmmu_identity_ops,
};

/*
 * Called with iommu_probe_device_lock held, both from the registering instance's bus
 * walk and from a consumer's own dma_configure(). The fwspec names the first instance
 * in the consumer's "iommus" list; that instance owns the device.
 */
static struct iommu_device *ps_sysmmu_probe_device(struct device *dev)
{
	struct iommu_fwspec *fwspec = dev_iommu_fwspec_get(dev);
	struct ps_sysmmu *mmu;
	unsigned int delay = READ_ONCE(walk_delay_us);

	if (!fwspec)
		return ERR_PTR(-ENODEV);

	mutex_lock(&ps_sysmmu_lock);
	mmu = ps_sysmmu_find(fwspec->iommu_fwnode);
	mutex_unlock(&ps_sysmmu_lock);
	if (!mmu)
		return ERR_PTR(-ENODEV);

	probe_device_count++;
	if (delay)
		fsleep(delay);
	return &mmu->iommu;
}

static void ps_sysmmu_release_device(struct device *dev)
{
}

static int ps_sysmmu_of_xlate(struct device *dev, const struct of_phandle_args *args)
{
	/* #iommu-cells = <0>: there are no stream IDs to record. */
	return 0;
}

static int ps_sysmmu_def_domain_type(struct device *dev)
{
	return IOMMU_DOMAIN_IDENTITY;
}

static const struct iommu_ops ps_sysmmu_ops = {
	.identity_domain = &ps_sysmmu_identity_domain,
	.probe_device = ps_sysmmu_probe_device,
	.release_device = ps_sysmmu_release_device,
	.device_group = generic_device_group,
	.of_xlate = ps_sysmmu_of_xlate,
	.def_domain_type = ps_sysmmu_def_domain_type,
	.owner = THIS_MODULE,
};

static int ps_sysmmu_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct ps_sysmmu *mmu;
	int ret;

	if (fail_probe[0] && sysfs_streq(fail_probe, dev_name(dev))) {
		dev_err(dev, "fault injection: failing probe (fail_probe)\n");
		return -EIO;
	}

	/* Fresh per bind: iommu->ready must start out false on every registration. */
	mmu = devm_kzalloc(dev, sizeof(*mmu), GFP_KERNEL);
	if (!mmu)
		return -ENOMEM;
	mmu->dev = dev;
	platform_set_drvdata(pdev, mmu);

	ret = iommu_device_sysfs_add(&mmu->iommu, dev, NULL, "%s", dev_name(dev));
	if (ret)
		return ret;

	mutex_lock(&ps_sysmmu_lock);
	list_add_tail(&mmu->node, &ps_sysmmu_list);
	mutex_unlock(&ps_sysmmu_lock);

	ret = iommu_device_register(&mmu->iommu, &ps_sysmmu_ops, dev);
	if (ret) {
		mutex_lock(&ps_sysmmu_lock);
		list_del(&mmu->node);
		mutex_unlock(&ps_sysmmu_lock);
		iommu_device_sysfs_remove(&mmu->iommu);
		return ret;
	}
	return 0;
}

static void ps_sysmmu_remove(struct platform_device *pdev)
{
	struct ps_sysmmu *mmu = platform_get_drvdata(pdev);

	iommu_device_unregister(&mmu->iommu);
	iommu_device_sysfs_remove(&mmu->iommu);
	mutex_lock(&ps_sysmmu_lock);
	list_del(&mmu->node);
	mutex_unlock(&ps_sysmmu_lock);
}

static const struct of_device_id ps_sysmmu_of_match[] = {
	{ .compatible = "probestorm,sim-sysmmu" },
	{ }
};
MODULE_DEVICE_TABLE(of, ps_sysmmu_of_match);

static struct platform_driver ps_sysmmu_driver = {
	.probe = ps_sysmmu_probe,
	.remove = ps_sysmmu_remove,
	.driver = {
		.name = "ps-sysmmu",
		.of_match_table = ps_sysmmu_of_match,
	},
};

static int __init ps_sysmmu_init(void)
{
	if (async_probe)
		ps_sysmmu_driver.driver.probe_type = PROBE_PREFER_ASYNCHRONOUS;
	return platform_driver_register(&ps_sysmmu_driver);
}
module_init(ps_sysmmu_init);

static void __exit ps_sysmmu_exit(void)
{
	platform_driver_unregister(&ps_sysmmu_driver);
}
module_exit(ps_sysmmu_exit);

MODULE_DESCRIPTION("probestorm simulated SysMMU (IOMMU registration race)");
MODULE_LICENSE("GPL");
