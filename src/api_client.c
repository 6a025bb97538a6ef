// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The command line's side of the API (docs/api.md): one HTTP/1.0 request over the
 * running agent's unix socket RUN_DIR/api.sock. No agent there (no socket, or nobody
 * listening) is -ENOTCONN: the command then works on the pins as it always did.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "http.h"
#include "json.h"

#define ANSWER_MAX (64u << 20)

int tg_api_request(const char *run_dir, const char *method, const char *path, const char *body,
		   int *status, char **answer, size_t *len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 60 };
	char *req = NULL, *buf = NULL, *p;
	size_t cap = 0, n = 0, blen = body ? strlen(body) : 0;
	int fd, rlen, err = 0;
	ssize_t got;

	*answer = NULL;
	*len = 0;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", run_dir, TG_API_SOCK) >=
	    sizeof(sun.sun_path))
		return -ENOTCONN;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = errno;
		close(fd);
		/* no agent, a dead one's socket, or not ours to use: the pins decide */
		return err == ENOENT || err == ECONNREFUSED || err == EACCES || err == ENOTDIR
			       ? -ENOTCONN
			       : -err;
	}
	rlen = asprintf(&req,
			"%s %s HTTP/1.0\r\nHost: localhost\r\nUser-Agent: tollgate\r\n"
			"Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			method, path, blen, body ? body : "");
	if (rlen < 0) {
		close(fd);
		return -ENOMEM;
	}
	for (int off = 0; off < rlen;) {
		ssize_t w = send(fd, req + off, (size_t)(rlen - off), MSG_NOSIGNAL);

		if (w < 0) {
			err = -errno;
			break;
		}
		off += (int)w;
	}
	free(req);
	while (!err) {
		if (n + 4096 + 1 > cap) {
			char *b;

			cap = cap ? 2 * cap : 65536;
			if (cap > ANSWER_MAX || !(b = realloc(buf, cap))) {
				err = -ENOMEM;
				break;
			}
			buf = b;
		}
		got = recv(fd, buf + n, cap - n - 1, 0);
		if (got < 0)
			err = -errno;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	if (!buf || n < 12 || strncmp(buf, "HTTP/1.", 7)) {
		free(buf);
		return -EPROTO;
	}
	buf[n] = '\0';
	*status = atoi(buf + 9);
	p = strstr(buf, "\r\n\r\n");
	if (!p) {
		free(buf);
		return -EPROTO;
	}
	p += 4;
	*len = n - (size_t)(p - buf);
	memmove(buf, p, *len + 1);
	*answer = buf;
	return 0;
}

int tg_api_status(const char *run_dir, bool json)
{
	char *a;
	size_t len;
	int status, err;

	err = tg_api_request(run_dir, "GET", json ? "/api/v1/status" : "/api/v1/status?format=text",
			     NULL, &status, &a, &len);
	if (err)
		return -ENOTCONN;
	if (status != 200) { /* the agent could not read the pins: try them here */
		free(a);
		return -ENOTCONN;
	}
	fwrite(a, 1, len, stdout);
	/* the exit status: 0 only when healthy, as the report says */
	err = json ? strncmp(a, "{\"healthy\": true", 16) != 0
		   : !(len >= 19 && !strcmp(a + len - 19, "health:    healthy\n"));
	free(a);
	return err;
}

int tg_api_block(const char *run_dir, bool unblock, const char *cidr, const char *ttl, bool *guard,
		 char *msg, size_t msg_len)
{
	struct json_object *o, *v;
	char *body = NULL, *a;
	size_t len;
	FILE *f;
	int status, err;

	f = open_memstream(&body, &len);
	if (!f)
		return -ENOMEM;
	fputs("{\"cidr\": ", f);
	tg_json_string(f, cidr);
	if (ttl) {
		fputs(", \"ttl\": ", f);
		tg_json_string(f, ttl);
	}
	fputs("}", f);
	if (fclose(f)) {
		free(body);
		return -ENOMEM;
	}
	err = tg_api_request(run_dir, "POST", unblock ? "/api/v1/unblock" : "/api/v1/block", body,
			     &status, &a, &len);
	free(body);
	if (err == -ENOTCONN)
		return err;
	if (err) {
		snprintf(msg, msg_len, "the agent's API (%s/%s): %s", run_dir, TG_API_SOCK,
			 strerror(-err));
		return err;
	}
	o = json_tokener_parse(a);
	if (status == 503) { /* no datapath behind the agent: the pins say why */
		json_object_put(o);
		free(a);
		return -ENOTCONN;
	}
	if (status == 200) {
		*guard = unblock || (json_object_object_get_ex(o, "guard_attached", &v) &&
				     json_object_get_boolean(v));
		err = 0;
	} else {
		snprintf(msg, msg_len, "%s",
			 json_object_object_get_ex(o, "error", &v)
				 ? json_object_get_string(v)
				 : "the agent refused the request");
		err = -EIO;
	}
	json_object_put(o);
	free(a);
	return err;
}
