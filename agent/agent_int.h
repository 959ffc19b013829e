/* agent_int: the wire format shared by the agent's client (agent.c) and server
 * (agent_server.c); described in agent.h. */
#ifndef EMBASSY_AGENT_INT_H
#define EMBASSY_AGENT_INT_H
#include <stdbool.h>
#include <stddef.h>

#include "agent.h"

#define AGENT_MAGIC	"EMA1"
#define AGENT_REQ_LEN	(4 + 1 + AGENT_ID_LEN + AGENT_BUNDLE_LEN)
#define AGENT_REPLY_MAX (12 + AGENT_MAX_KEYS * AGENT_ID_LEN) /* STATUS is the longest */
#define AGENT_IO_MS	2000 /* a peer that stalls longer is dropped */

enum {
	AGENT_OP_GET = 1,
	AGENT_OP_ADD,
	AGENT_OP_REMOVE,
	AGENT_OP_STATUS,
	AGENT_OP_STOP,
	AGENT_OP_REMOVE_ALL
};
enum { AGENT_OK = 0, AGENT_NOT_HELD, AGENT_FULL, AGENT_BAD };

struct sockaddr_un;
/* Fill a Unix socket address with path: 0 or -ENAMETOOLONG. */
int agent_sockaddr(const char *path, struct sockaddr_un *sa);
/* Exactly n bytes each way, each step bounded by AGENT_IO_MS: 0 or -errno. */
int agent_io(int fd, void *buf, size_t n, bool wr);
/* The peer of a connected Unix socket runs as our user (SO_PEERCRED). */
bool agent_peer_ok(int fd);

#endif
