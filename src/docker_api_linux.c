/* docker_api_linux.c - follow the Docker engine's containers over its API socket
 *
 * Theory of operation: libcurl speaks HTTP over the unix socket and its
 * multi-socket interface runs inside our event loop (its sockets are
 * loop fds, its timeouts one timerfd of ours); json-c reads the bodies.
 * A connection starts with GET /version, whose ApiVersion (capped at the
 * newest we know) prefixes every later path, so engines from 20.10 (API
 * 1.41) to 29 are spoken to in their own version. Then the whole list of
 * running containers (GET /containers/json) fills the name table: every
 * container is marked, the listed ones are put, the rest swept. Then GET
 * /events, a stream of one JSON object per event, filtered to containers
 * and networks, starting a second before the list was asked for, so
 * nothing that happened between the two is missed (a replayed event only
 * makes us look again). An event does not carry the container's state,
 * so each one queues its container for GET /containers/{id}/json, asked
 * one at a time in order: the answer (running, or not, or 404) is the
 * truth at that moment, whatever the events said. When the stream ends
 * (engine restart) or anything fails, everything starts again after a
 * backoff of 250 ms doubling to 5 s; the table is kept meanwhile and the
 * next list reconciles it. A missing or refused socket is one warning
 * (and another when it changes), never an error: routing does not need it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "docker_api.h"
#include "log.h"

#define DOCKER_MAX_VERSION_BODY	(64 * 1024)
#define DOCKER_MAX_LIST_BODY	(64 * 1024 * 1024)	/* 4096 containers, generously */
#define DOCKER_MAX_INSPECT_BODY	(4 * 1024 * 1024)
#define DOCKER_MAX_EVENT	(256 * 1024)		/* bytes of one event object */
#define DOCKER_QUEUE		256			/* containers waiting for a look */
#define DOCKER_BACKOFF_MIN	250			/* ms */
#define DOCKER_BACKOFF_MAX	5000
#define DOCKER_REQ_TIMEOUT	30000			/* ms, for everything but /events */

enum docker_kind { DOCKER_VERSION, DOCKER_LIST, DOCKER_INSPECT, DOCKER_EVENTS };

struct docker_req {
	struct docker_api *d;
	CURL *easy;			/* NULL: idle */
	enum docker_kind kind;
	char *body;
	size_t len, cap, max;
	char id[NAMES_ID_LEN + 1];	/* inspect: whose */
};

struct docker_api {
	struct loop *loop;
	struct names *names;
	char sock[108];
	CURLM *multi;
	int timerfd;
	uint64_t curl_deadline, retry_deadline;
	enum docker_api_state state;
	bool warned;			/* the current state's warning was given */
	char version[16];
	unsigned int backoff;		/* ms */
	time_t since;			/* events from here: a second before the list */
	struct docker_req ctl;		/* /version, the list, inspects: one at a time */
	struct docker_req ev;		/* the /events stream */
	json_tokener *tok;
	size_t ev_pending;		/* bytes fed to tok since its last object */
	char queue[DOCKER_QUEUE][NAMES_ID_LEN + 1];
	size_t q_head, q_n;
	bool relist;			/* the queue overflowed: list everything again */
};

static void docker_connect(struct docker_api *d);

const char *docker_api_state_name(enum docker_api_state s)
{
	switch (s) {
	case DOCKER_API_CONNECTING: return "connecting";
	case DOCKER_API_LIVE: return "live";
	case DOCKER_API_MISSING: return "no socket";
	case DOCKER_API_DENIED: return "access denied";
	case DOCKER_API_RETRYING: return "retrying";
	}
	return "?";
}

enum docker_api_state docker_api_state(const struct docker_api *d)
{
	return d->state;
}

/* ---- JSON: what we keep of a container ---- */

static const char *docker_json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *docker_json_obj(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* Copy s into a field of size bytes; false (field untouched) when it does not fit. */
static bool docker_copy(char *dst, size_t size, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (!s || len >= size)
		return false;
	memcpy(dst, s, len + 1);
	return true;
}

static void docker_parse_extra(struct names_container *c, const char *v)
{
	while (v && *v && c->n_extra < NAMES_MAX_EXTRA) {
		const char *end = strchr(v, ',');
		size_t len = end ? (size_t)(end - v) : strlen(v);
		const char *s = v;

		v = end ? end + 1 : NULL;
		while (len && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0 || len > NAMES_NAME_LEN)
			continue;
		memcpy(c->extra[c->n_extra], s, len);
		c->extra[c->n_extra++][len] = '\0';
	}
}

static void docker_parse_addr(struct names_container *c, const char *s)
{
	struct prefix p;

	if (!s || !*s || c->n_addrs >= NAMES_MAX_ADDRS || strlen(s) >= INET6_ADDRSTRLEN ||
	    strchr(s, '/') || prefix_parse(&p, s, true))
		return;
	for (size_t i = 0; i < c->n_addrs; i++)
		if (prefix_equal(&c->addrs[i], &p))
			return;
	c->addrs[c->n_addrs++] = p;
}

int docker_api_parse_container(struct json_object *o, struct names_container *c)
{
	struct json_object *labels, *nets, *state, *v;
	const char *name = NULL;
	bool running;

	memset(c, 0, sizeof(*c));
	if (!o || !json_object_is_type(o, json_type_object))
		return -EINVAL;
	if (!docker_copy(c->id, sizeof(c->id), docker_json_str(o, "Id")) || !c->id[0])
		return 0;
	/* A list element has Names and a State word; an inspect Name and a State object. */
	if (json_object_object_get_ex(o, "Names", &v) && json_object_is_type(v, json_type_array) &&
	    json_object_array_length(v) > 0 &&
	    json_object_is_type(json_object_array_get_idx(v, 0), json_type_string))
		name = json_object_get_string(json_object_array_get_idx(v, 0));
	else
		name = docker_json_str(o, "Name");
	if (name && name[0] == '/')
		name++;
	if (name)
		docker_copy(c->name, sizeof(c->name), name);
	state = docker_json_obj(o, "State");
	if (state) {
		running = json_object_object_get_ex(state, "Running", &v) &&
			  json_object_get_boolean(v);
		labels = docker_json_obj(docker_json_obj(o, "Config"), "Labels");
	} else {
		const char *s = docker_json_str(o, "State");

		running = !s || !strcmp(s, "running");
		labels = docker_json_obj(o, "Labels");
	}
	if (labels) {
		docker_copy(c->service, sizeof(c->service),
			    docker_json_str(labels, "com.docker.compose.service"));
		docker_copy(c->project, sizeof(c->project),
			    docker_json_str(labels, "com.docker.compose.project"));
		docker_parse_extra(c, docker_json_str(labels, NAMES_USER_LABEL));
	}
	nets = docker_json_obj(docker_json_obj(o, "NetworkSettings"), "Networks");
	if (nets) {
		json_object_object_foreach(nets, key, net) {
			(void)key;
			if (!json_object_is_type(net, json_type_object))
				continue;
			docker_parse_addr(c, docker_json_str(net, "IPAddress"));
			docker_parse_addr(c, docker_json_str(net, "GlobalIPv6Address"));
		}
	}
	return running ? 1 : 0;
}

/* "1.41" -> 1041, or -1. */
static long docker_version_num(const char *s)
{
	char *end;
	long major, minor;

	major = strtol(s, &end, 10);
	if (end == s || *end != '.' || major < 1 || major > 9)
		return -1;
	s = end + 1;
	minor = strtol(s, &end, 10);
	if (end == s || *end || minor < 0 || minor > 999)
		return -1;
	return major * 1000 + minor;
}

int docker_api_parse_version(const char *body, size_t len, char *buf, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	const char *v;
	long have;
	int ret = -EINVAL;

	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, body, (int)(len > 0x7fffffff ? 0x7fffffff : len));
	v = docker_json_str(o, "ApiVersion");
	if (v && (have = docker_version_num(v)) >= docker_version_num(DOCKER_API_MIN_VERSION)) {
		if (have > docker_version_num(DOCKER_API_MAX_VERSION))
			v = DOCKER_API_MAX_VERSION;
		ret = docker_copy(buf, size, v) ? 0 : -EINVAL;
	}
	json_object_put(o);
	json_tokener_free(tok);
	return ret;
}

/* ---- the loop: curl's sockets and timeouts ---- */

static void docker_arm(struct docker_api *d)
{
	struct itimerspec its = { 0 };
	uint64_t t = d->curl_deadline < d->retry_deadline ? d->curl_deadline : d->retry_deadline;

	if (t != UINT64_MAX) {
		if (t == 0)
			t = 1;
		its.it_value.tv_sec = (time_t)(t / 1000000000ULL);
		its.it_value.tv_nsec = (long)(t % 1000000000ULL);
	}
	if (timerfd_settime(d->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("Docker engine: failed to arm the timer: %m");
}

static int docker_on_timeout_set(CURLM *m, long timeout_ms, void *userp)
{
	struct docker_api *d = userp;

	(void)m;
	d->curl_deadline = timeout_ms < 0 ? UINT64_MAX :
			   loop_now() + (uint64_t)timeout_ms * 1000000ULL;
	docker_arm(d);
	return 0;
}

static void docker_done(struct docker_api *d);

static void docker_on_fd(void *ctx, int fd, uint32_t events)
{
	struct docker_api *d = ctx;
	int running, flags = 0;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(d->multi, fd, flags, &running);
	docker_done(d);
}

static int docker_on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
	struct docker_api *d = userp;
	uint32_t ev = 0;

	(void)e;
	(void)sockp;
	loop_del_fd(d->loop, s);
	if (what == CURL_POLL_REMOVE)
		return 0;
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (loop_add_fd(d->loop, s, ev, docker_on_fd, d) < 0)
		log_warn("Docker engine: no room in the event loop for a connection");
	return 0;
}

static void docker_on_timer(void *ctx, int fd, uint32_t events)
{
	struct docker_api *d = ctx;
	uint64_t expirations, now = loop_now();
	int running;

	(void)events;
	if (read(fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	if (now >= d->curl_deadline) {
		d->curl_deadline = UINT64_MAX;
		curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		docker_done(d);
	}
	if (now >= d->retry_deadline) {
		d->retry_deadline = UINT64_MAX;
		docker_connect(d);
	}
	docker_arm(d);
}

/* ---- requests ---- */

static size_t docker_on_body(char *p, size_t size, size_t nmemb, void *userp)
{
	struct docker_req *r = userp;
	size_t n = size * nmemb;

	if (n > r->max - r->len)
		return 0;		/* too big: curl fails the transfer */
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (!nb)
			return 0;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void docker_on_event(struct docker_api *d, struct json_object *o);

/* The stream: objects one after another; each is handled as it completes. */
static size_t docker_on_events(char *p, size_t size, size_t nmemb, void *userp)
{
	struct docker_req *r = userp;
	struct docker_api *d = r->d;
	size_t n = size * nmemb, off = 0;

	while (off < n) {
		size_t chunk = n - off > 65536 ? 65536 : n - off;
		struct json_object *o = json_tokener_parse_ex(d->tok, p + off, (int)chunk);
		enum json_tokener_error err = json_tokener_get_error(d->tok);
		size_t used;

		if (!o && err == json_tokener_continue) {
			d->ev_pending += chunk;
			off += chunk;
			if (d->ev_pending > DOCKER_MAX_EVENT) {
				log_warn("Docker engine: an event longer than %d bytes; reconnecting",
					 DOCKER_MAX_EVENT);
				return 0;
			}
			continue;
		}
		if (!o) {
			log_warn("Docker engine: unreadable event (%s); reconnecting",
				 json_tokener_error_desc(err));
			return 0;
		}
		used = json_tokener_get_parse_end(d->tok);
		if (used == 0 || used > chunk)
			used = chunk;
		off += used;
		d->ev_pending = 0;
		json_tokener_reset(d->tok);
		docker_on_event(d, o);
		json_object_put(o);
	}
	return n;
}

static void docker_req_reset(struct docker_req *r)
{
	if (r->easy) {
		curl_multi_remove_handle(r->d->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	r->len = 0;
}

static int docker_req_start(struct docker_api *d, struct docker_req *r, enum docker_kind kind,
			    const char *path)
{
	char url[512];

	docker_req_reset(r);
	r->kind = kind;
	r->max = kind == DOCKER_VERSION ? DOCKER_MAX_VERSION_BODY :
		 kind == DOCKER_LIST ? DOCKER_MAX_LIST_BODY : DOCKER_MAX_INSPECT_BODY;
	if (kind == DOCKER_VERSION)
		snprintf(url, sizeof(url), "http://localhost%s", path);
	else
		snprintf(url, sizeof(url), "http://localhost/v%s%s", d->version, path);
	r->easy = curl_easy_init();
	if (!r->easy)
		return -ENOMEM;
	curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	if (kind == DOCKER_EVENTS) {
		curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, docker_on_events);
		json_tokener_reset(d->tok);
		d->ev_pending = 0;
	} else {
		curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, docker_on_body);
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)DOCKER_REQ_TIMEOUT);
	}
	if (curl_multi_add_handle(d->multi, r->easy) != CURLM_OK) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void docker_set_state(struct docker_api *d, enum docker_api_state s)
{
	if (d->state != s)
		d->warned = false;
	d->state = s;
}

/* Start again later: both requests dropped, the table kept. */
static void docker_retry(struct docker_api *d, enum docker_api_state why)
{
	docker_req_reset(&d->ctl);
	docker_req_reset(&d->ev);
	d->q_n = 0;
	docker_set_state(d, why);
	d->retry_deadline = loop_now() + (uint64_t)d->backoff * 1000000ULL;
	d->backoff = d->backoff * 2 > DOCKER_BACKOFF_MAX ? DOCKER_BACKOFF_MAX : d->backoff * 2;
	docker_arm(d);
}

static void docker_start_list(struct docker_api *d)
{
	d->since = time(NULL) - 1;
	d->relist = false;
	if (docker_req_start(d, &d->ctl, DOCKER_LIST, "/containers/json"))
		docker_retry(d, DOCKER_API_RETRYING);
}

/* The next queued container, if nothing else is being asked. */
static void docker_next(struct docker_api *d)
{
	char path[NAMES_ID_LEN + 32];
	struct docker_req *r = &d->ctl;

	if (r->easy)
		return;
	if (d->relist) {
		d->q_n = 0;
		docker_start_list(d);
		return;
	}
	if (!d->q_n)
		return;
	snprintf(r->id, sizeof(r->id), "%s", d->queue[d->q_head]);
	d->q_head = (d->q_head + 1) % DOCKER_QUEUE;
	d->q_n--;
	snprintf(path, sizeof(path), "/containers/%s/json", r->id);
	if (docker_req_start(d, r, DOCKER_INSPECT, path))
		docker_retry(d, DOCKER_API_RETRYING);
}

/* From curl's write callback, where no request may start: docker_done asks. */
static void docker_enqueue(struct docker_api *d, const char *id)
{
	size_t len = strlen(id);

	/* Engine ids are hex; anything else is not looked up. */
	if (len == 0 || len > NAMES_ID_LEN || strspn(id, "0123456789abcdef") != len)
		return;
	for (size_t i = 0; i < d->q_n; i++)
		if (!strcmp(d->queue[(d->q_head + i) % DOCKER_QUEUE], id))
			return;
	if (d->q_n == DOCKER_QUEUE) {
		d->relist = true;
		return;
	}
	memcpy(d->queue[(d->q_head + d->q_n) % DOCKER_QUEUE], id, len + 1);
	d->q_n++;
}

static void docker_on_event(struct docker_api *d, struct json_object *o)
{
	static const char *const actions[] = {
		"start", "die", "destroy", "rename", "connect", "disconnect", "restart",
	};
	const char *type = docker_json_str(o, "Type"), *action = docker_json_str(o, "Action");
	struct json_object *actor = docker_json_obj(o, "Actor");
	const char *id = NULL;
	bool wanted = false;

	if (!type || !action)
		return;
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		wanted |= !strcmp(action, actions[i]);
	if (!wanted)
		return;
	if (!strcmp(type, "container"))
		id = docker_json_str(actor, "ID");
	else if (!strcmp(type, "network"))
		id = docker_json_str(docker_json_obj(actor, "Attributes"), "container");
	if (id) {
		log_debug("Docker engine: %s %s %.12s", type, action, id);
		docker_enqueue(d, id);
	}
}

static struct json_object *docker_body_json(struct docker_req *r)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *o;

	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, r->body ? r->body : "", (int)r->len);
	json_tokener_free(tok);
	return o;
}

static void docker_list_done(struct docker_api *d)
{
	struct json_object *o = docker_body_json(&d->ctl);
	struct names_container c;
	size_t n, full = 0;
	char path[128], *filters;

	if (!o || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		log_warn("Docker engine: unreadable container list; trying again");
		docker_retry(d, DOCKER_API_RETRYING);
		return;
	}
	names_mark(d->names);
	n = json_object_array_length(o);
	for (size_t i = 0; i < n; i++) {
		if (docker_api_parse_container(json_object_array_get_idx(o, i), &c) == 1 &&
		    names_put(d->names, &c) == -ENOSPC)
			full++;
	}
	json_object_put(o);
	names_sweep(d->names);
	if (full)
		log_warn("Docker engine: %zu container(s) beyond the limit of %d get no names",
			 full, NAMES_MAX_CONTAINERS);
	log_info("Docker engine (API %s): %zu running container(s), %zu name(s)", d->version,
		 names_containers(d->names), names_count(d->names));
	docker_set_state(d, DOCKER_API_LIVE);
	d->backoff = DOCKER_BACKOFF_MIN;
	docker_req_reset(&d->ctl);
	if (!d->ev.easy) {
		filters = curl_easy_escape(NULL, "{\"type\":[\"container\",\"network\"]}", 0);
		if (!filters) {
			docker_retry(d, DOCKER_API_RETRYING);
			return;
		}
		snprintf(path, sizeof(path), "/events?since=%lld&filters=%s", (long long)d->since,
			 filters);
		curl_free(filters);
		if (docker_req_start(d, &d->ev, DOCKER_EVENTS, path)) {
			docker_retry(d, DOCKER_API_RETRYING);
			return;
		}
	}
	docker_next(d);
}

static void docker_inspect_done(struct docker_api *d, long status)
{
	struct docker_req *r = &d->ctl;
	struct names_container c;
	struct json_object *o;
	int ret = 0;

	if (status == 200) {
		o = docker_body_json(r);
		ret = docker_api_parse_container(o, &c);
		json_object_put(o);
	}
	if (status != 200 && status != 404) {
		log_debug("Docker engine: inspect %.12s: HTTP %ld", r->id, status);
	} else if (ret == 1 && !strcmp(c.id, r->id)) {
		if (names_put(d->names, &c) == -ENOSPC && !d->warned) {
			log_warn("Docker engine: more than %d containers; the others get no names",
				 NAMES_MAX_CONTAINERS);
			d->warned = true;
		}
	} else {
		names_remove(d->names, r->id);	/* gone, or not running */
	}
	docker_req_reset(r);
	docker_next(d);
}

/* Every transfer curl has finished. */
static void docker_done(struct docker_api *d)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(d->multi, &left))) {
		struct docker_req *r = NULL;
		long status = 0;
		CURLcode res;

		if (m->msg != CURLMSG_DONE)
			continue;
		res = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		if (!r || r->easy != m->easy_handle)
			continue;
		if (r->kind == DOCKER_EVENTS) {
			log_notice("Docker engine: event stream ended (%s); reconnecting",
				   res == CURLE_OK ? "closed" : curl_easy_strerror(res));
			docker_retry(d, DOCKER_API_RETRYING);
			return;
		}
		if (res != CURLE_OK || (r->kind != DOCKER_INSPECT && status != 200)) {
			if (d->state != DOCKER_API_RETRYING || !d->warned)
				log_warn("Docker engine at %s: %s%s; container names wait for it",
					 d->sock, res != CURLE_OK ? curl_easy_strerror(res) : "HTTP error",
					 res != CURLE_OK ? "" : " status");
			docker_retry(d, DOCKER_API_RETRYING);
			d->warned = true;
			return;
		}
		switch (r->kind) {
		case DOCKER_VERSION:
			if (docker_api_parse_version(r->body ? r->body : "", r->len, d->version,
						     sizeof(d->version))) {
				log_warn("Docker engine at %s: no usable API version (need %s or later)",
					 d->sock, DOCKER_API_MIN_VERSION);
				docker_retry(d, DOCKER_API_RETRYING);
				d->backoff = DOCKER_BACKOFF_MAX;
				return;
			}
			docker_start_list(d);
			break;
		case DOCKER_LIST:
			docker_list_done(d);
			break;
		case DOCKER_INSPECT:
			docker_inspect_done(d, status);
			break;
		case DOCKER_EVENTS:
			break;
		}
	}
	if (d->state == DOCKER_API_LIVE)
		docker_next(d);
}

static void docker_connect(struct docker_api *d)
{
	if (access(d->sock, F_OK) < 0) {
		if (!(d->state == DOCKER_API_MISSING && d->warned))
			log_warn("No Docker engine socket at %s: containers get no names until it "
				 "appears (routing is not affected; DockerSocket = sets the path)",
				 d->sock);
		docker_retry(d, DOCKER_API_MISSING);
		d->warned = true;
		return;
	}
	if (access(d->sock, R_OK | W_OK) < 0) {
		if (!(d->state == DOCKER_API_DENIED && d->warned))
			log_warn("Docker engine socket %s: %m: containers get no names "
				 "(routing is not affected)", d->sock);
		docker_retry(d, DOCKER_API_DENIED);
		d->warned = true;
		return;
	}
	if (d->state != DOCKER_API_RETRYING)
		docker_set_state(d, DOCKER_API_CONNECTING);
	if (docker_req_start(d, &d->ctl, DOCKER_VERSION, "/version"))
		docker_retry(d, DOCKER_API_RETRYING);
}

struct docker_api *docker_api_new(struct loop *loop, const char *socket_path, struct names *n)
{
	struct docker_api *d;
	static bool curl_ready;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
			errno = ENOMEM;
			return NULL;
		}
		curl_ready = true;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->loop = loop;
	d->names = n;
	d->ctl.d = d->ev.d = d;
	d->timerfd = -1;
	d->curl_deadline = d->retry_deadline = UINT64_MAX;
	d->backoff = DOCKER_BACKOFF_MIN;
	snprintf(d->sock, sizeof(d->sock), "%s", socket_path);
	d->multi = curl_multi_init();
	d->tok = json_tokener_new_ex(32);
	d->timerfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!d->multi || !d->tok || d->timerfd < 0 ||
	    loop_add_fd(loop, d->timerfd, EPOLLIN, docker_on_timer, d) < 0) {
		docker_api_free(d);
		errno = ENOMEM;
		return NULL;
	}
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, docker_on_socket);
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, docker_on_timeout_set);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
	docker_connect(d);
	return d;
}

void docker_api_free(struct docker_api *d)
{
	if (!d)
		return;
	if (d->multi) {
		docker_req_reset(&d->ctl);
		docker_req_reset(&d->ev);
		curl_multi_cleanup(d->multi);
	}
	free(d->ctl.body);
	free(d->ev.body);
	if (d->tok)
		json_tokener_free(d->tok);
	if (d->timerfd >= 0) {
		loop_del_fd(d->loop, d->timerfd);
		close(d->timerfd);
	}
	free(d);
}
