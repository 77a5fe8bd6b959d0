// SPDX-License-Identifier: GPL-2.0
/*
 * ps_decon - simulated display controller (IOMMU consumer) for probestorm.
 *
 * Binds "probestorm,sim-decon" platform devices. The interesting work happens before
 * probe() runs: really_probe() -> dma_configure() -> of_iommu_configure() resolves the
 * node's "iommus" list, which is where the IOMMU readiness race fires. probe() itself
 * only sets a DMA mask and counts, and offers fault injection so probestorm can see
 * its oops, hang and slow-probe paths on a real kernel:
 *   oops_on_bind=N     NULL dereference on the Nth probe (counting from 1)
 *   warn_on_bind=N     WARN() on the Nth probe (a generic WARNING, not the IOMMU one)
 *   hang_on_bind_s=S   sleep S seconds in every probe (hung-task / action timeout)
 *   probe_delay_us=U   sleep U microseconds in every probe
 */

#include <linux/delay.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mod_devicetable.h>
#include <linux/of.h>
#include <linux/platform_device.h>

static bool async_probe;
module_param(async_probe, bool, 0444);
MODULE_PARM_DESC(async_probe, "Register the driver with PROBE_PREFER_ASYNCHRONOUS");

static unsigned int oops_on_bind;
module_param(oops_on_bind, uint, 0644);
MODULE_PARM_DESC(oops_on_bind, "Dereference NULL on the Nth probe (0: never)");

static unsigned int warn_on_bind;
module_param(warn_on_bind, uint, 0644);
MODULE_PARM_DESC(warn_on_bind, "WARN() on the Nth probe (0: never)");

static unsigned int hang_on_bind_s;
module_param(hang_on_bind_s, uint, 0644);
MODULE_PARM_DESC(hang_on_bind_s, "Sleep this many seconds in probe (0: no)");

static unsigned int probe_delay_us;
module_param(probe_delay_us, uint, 0644);
MODULE_PARM_DESC(probe_delay_us, "Sleep this many microseconds in probe");

static bool verbose;
module_param(verbose, bool, 0644);
MODULE_PARM_DESC(verbose, "Log each probe with its IOMMU group");

static atomic_t probe_count = ATOMIC_INIT(0);

static int probe_count_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&probe_count));
}

static const struct kernel_param_ops probe_count_ops = {
	.get = probe_count_get,
};
module_param_cb(probe_count, &probe_count_ops, NULL, 0444);
MODULE_PARM_DESC(probe_count, "probe() calls so far (read only)");

static int ps_decon_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	unsigned int n = atomic_inc_return(&probe_count);
	unsigned int oops_n = READ_ONCE(oops_on_bind);
	unsigned int warn_n = READ_ONCE(warn_on_bind);
	unsigned int hang_s = READ_ONCE(hang_on_bind_s);
	unsigned int delay = READ_ONCE(probe_delay_us);
	int ret;

	if (oops_n && n == oops_n) {
		/* volatile: keep the compiler from proving the store undefined and dropping it */
		int *volatile p = NULL;

		dev_emerg(dev, "fault injection: NULL dereference on probe %u\n", n);
		*p = n;
	}
	WARN(warn_n && n == warn_n, "ps-decon: fault injection: warning on probe %u\n", n);
	if (hang_s) {
		dev_warn(dev, "fault injection: sleeping %u s in probe\n", hang_s);
		msleep(hang_s * 1000);
	}
	if (delay)
		fsleep(delay);

	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32));
	if (ret)
		return dev_err_probe(dev, ret, "cannot set DMA mask\n");

	if (verbose)
		dev_info(dev, "probe %u, iommu group %d\n", n,
			 dev->iommu_group ? iommu_group_id(dev->iommu_group) : -1);
	return 0;
}

static void ps_decon_remove(struct platform_device *pdev)
{
}

static const struct of_device_id ps_decon_of_match[] = {
	{ .compatible = "probestorm,sim-decon" },
	{ }
};
MODULE_DEVICE_TABLE(of, ps_decon_of_match);

static struct platform_driver ps_decon_driver = {
	.probe = ps_decon_probe,
	.remove = ps_decon_remove,
	.driver = {
		.name = "ps-decon",
		.of_match_table = ps_decon_of_match,
	},
};

static int __init ps_decon_init(void)
{
	if (async_probe)
		ps_decon_driver.driver.probe_type = PROBE_PREFER_ASYNCHRONOUS;
	return platform_driver_register(&ps_decon_driver);
}
module_init(ps_decon_init);

static void __exit ps_decon_exit(void)
{
	platform_driver_unregister(&ps_decon_driver);
}
module_exit(ps_decon_exit);

MODULE_DESCRIPTION("probestorm simulated display controller (IOMMU consumer)");
MODULE_LICENSE("GPL");
