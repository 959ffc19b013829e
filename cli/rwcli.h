/* rwcli: what the commands that talk to a --rw mount (commit, status) share. */
#ifndef EMBASSY_RWCLI_H
#define EMBASSY_RWCLI_H
#include <jansson.h>

/* Send req to the --rw mount at mountpoint; *rep is its answer. Returns an exit code (with
 * one error line printed when it is not EXIT_OK). */
int rwcli_request(const char *mountpoint, json_t *req, json_t **rep);
/* The mount answers times in nanoseconds as "time"; commands print them as every --json
 * output does (docs/JSON.md): "time" in ISO 8601 UTC and "time_ns". o may be NULL. */
void rwcli_times(json_t *o);
/* The same for the field key: key in ISO 8601 UTC, key_ns in nanoseconds. */
void rwcli_time_field(json_t *o, const char *key);

#endif
