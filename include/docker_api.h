/* docker_api.h - the Docker engine's API over its unix socket: running containers, live */
#ifndef GANGWAY_DOCKER_API_H
#define GANGWAY_DOCKER_API_H

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "names.h"

/* The newest API version we know; older engines are spoken to in theirs. */
#define DOCKER_API_MAX_VERSION	"1.47"
#define DOCKER_API_MIN_VERSION	"1.24"

enum docker_api_state {
	DOCKER_API_CONNECTING,		/* asking /version, listing */
	DOCKER_API_LIVE,		/* listed; following /events */
	DOCKER_API_MISSING,		/* the socket does not exist */
	DOCKER_API_DENIED,		/* the socket refused us */
	DOCKER_API_RETRYING,		/* lost the engine; trying again */
};

struct docker_api;

/*
 * Follow the engine at socket_path in loop, keeping table n current (every
 * running container with its names and addresses). Never fails for want
 * of an engine: a missing or refused socket is warned about once and
 * retried with backoff. NULL + errno only for lack of memory or fds.
 */
struct docker_api *docker_api_new(struct loop *loop, const char *socket_path,
				  struct names *n);
void docker_api_free(struct docker_api *d);
enum docker_api_state docker_api_state(const struct docker_api *d);
const char *docker_api_state_name(enum docker_api_state s);

struct json_object;
/*
 * One container from /containers/json (a list element) or
 * /containers/{id}/json (an inspect) into c: id, name, Compose labels,
 * NAMES_USER_LABEL, and the addresses of every network. Returns 1 when it
 * runs, 0 when it does not (or has no id), -EINVAL when o is not a
 * container object. Every string is length-checked; what does not fit is
 * left out.
 */
int docker_api_parse_container(struct json_object *o, struct names_container *c);
/*
 * "1.41" from the /version body, capped at DOCKER_API_MAX_VERSION, into buf;
 * 0, or -EINVAL when the body has no usable ApiVersion.
 */
int docker_api_parse_version(const char *body, size_t len, char *buf, size_t size);

#endif
