// SPDX-License-Identifier: GPL-2.0-only
/*
 * Probe: symbol namespaces are written as identifiers, as in
 * EXPORT_SYMBOL_NS_GPL(sym, IOMMU_REPLACE) and MODULE_IMPORT_NS(NAME)
 * (Linux 6.12 and earlier; Linux 6.13 made them string literals).
 * Required: needs symbol namespaces written as identifiers (Linux 6.12 or
 * earlier; 6.13 made them string literals, which this module does not use yet)
 */
#include <linux/export.h>
#include <linux/module.h>

int iorp_probe_ns_symbol(void);
int iorp_probe_ns_symbol(void)
{
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iorp_probe_ns_symbol, IORP_PROBE_NS);
MODULE_IMPORT_NS(IORP_PROBE_NS);
