// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the configuration parser (lib/conf.c) on text held in memory, the
 * path the main file and every drop-in take after they are read. A config that loads is
 * looked up by each of its names, as the daemon and the CLI do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	char *text, *err = NULL;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0'; /* a NUL inside ends the text, as a C string does */
	if (conf_load_string("fuzz.conf", text, &c, &err) == 0) {
		for (size_t i = 0; i < c->n_campaigns; i++) {
			const struct conf_campaign *k = &c->campaigns[i];

			if (!conf_campaign_find(c, k->name) ||
			    (k->scenario && !conf_scenario_find(c, k->scenario)) ||
			    (k->target && !conf_target_find(c, k->target)) ||
			    (k->load && !conf_load_find(c, k->load)))
				abort(); /* cross-references are checked at load */
		}
		for (size_t i = 0; i < c->n_devices; i++)
			if (!conf_device_find(c, c->devices[i].name))
				abort();
		conf_free(c);
	}
	free(err);
	free(text);
	return 0;
}
