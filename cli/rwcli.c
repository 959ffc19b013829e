/* rwcli: talking to a --rw mount's control socket (journal/ctl.h). */
#include "rwcli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ctl.h"

int rwcli_request(const char *mountpoint, json_t *req, json_t **rep)
{
	char *text = json_dumps(req, JSON_COMPACT), *answer = NULL;
	struct stat st;
	int err;

	*rep = NULL;
	if (!text)
		return EXIT_FAIL;
	err = ctl_call(mountpoint, text, &answer);
	free(text);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		if (stat(mountpoint, &st) < 0)
			cli_error("%s: %s", mountpoint, strerror(errno));
		else
			cli_error("%s is not a write-through mount (embassy mount --rw) of this "
				  "user, or its daemon is gone",
				  mountpoint);
		free(answer);
		return EXIT_FAIL;
	}
	if (err) {
		cli_error("cannot talk to the mount at %s: %s", mountpoint, strerror(-err));
		free(answer);
		return EXIT_FAIL;
	}
	*rep = json_loads(answer, 0, NULL);
	free(answer);
	if (!json_is_object(*rep)) {
		json_decref(*rep);
		*rep = NULL;
		cli_error("the mount at %s gave an answer that is not JSON", mountpoint);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

void rwcli_time_field(json_t *o, const char *key)
{
	json_t *t = json_object_get(o, key);
	char iso[48], ns_key[64];

	if (!json_is_integer(t))
		return;
	cli_format_time(json_integer_value(t), false, iso);
	snprintf(ns_key, sizeof(ns_key), "%s_ns", key);
	json_object_set_new(o, ns_key, json_integer(json_integer_value(t)));
	json_object_set_new(o, key, json_string(iso));
}

void rwcli_times(json_t *o)
{
	rwcli_time_field(o, "time");
}
