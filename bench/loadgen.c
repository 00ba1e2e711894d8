/*
 * loadgen: the benchmark's load generator for NUT line-protocol servers.
 *
 * One thread, one epoll loop, so that the generator is never what limits a
 * measurement (the harness also reports its CPU time and runs it against a
 * trivial server to show its headroom).  Connects to 127.0.0.1 only.
 *
 *   loadgen run  PORT CLIENTS SECONDS WARMUP INTERVAL_US REQUEST TERMINATOR
 *       CLIENTS connections; each sends REQUEST + "\n", waits until what it
 *       received ends with TERMINATOR (+ "\n"), records the round trip, and
 *       sends again: at once (INTERVAL_US = 0: closed loop, for throughput)
 *       or INTERVAL_US after its previous request was sent (paced, for
 *       latency; never more than one request outstanding per client).
 *       Round trips finished during the first WARMUP seconds are not counted.
 *   loadgen hold PORT CLIENTS SECONDS
 *       Opens CLIENTS connections (a few at a time, as a backlog of 16
 *       allows), sends "VER" on each and waits for its answer, so each one
 *       has really been accepted and served; prints "ready" (or, if that
 *       takes longer than SECONDS, what it got by then), then keeps them all
 *       open and silent until SECONDS pass or stdin closes.
 *   loadgen echo PORT REPLY
 *       A trivial server: answers REPLY + "\n" to every line it reads.
 *
 * Results go to stdout as one line of key=value pairs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536
#define MAX_EVENTS 512

struct conn {
	int fd;
	int state;           /* 0 connecting, 1 idle (waiting to send), 2 awaiting reply, 3 dead */
	size_t have;         /* bytes of the current reply received */
	char tail[128];      /* the last bytes received, to spot the terminator */
	int64_t sent_at;     /* ns */
	int64_t next_at;     /* ns: when a paced client sends next */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int connect_to(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void add_tail(struct conn *c, const char *data, size_t len)
{
	size_t keep = sizeof(c->tail) - 1;
	if (len >= keep) {
		memcpy(c->tail, data + len - keep, keep);
		c->tail[keep] = 0;
		return;
	}
	size_t old = strlen(c->tail);
	if (old + len > keep) {
		size_t drop = old + len - keep;
		memmove(c->tail, c->tail + drop, old - drop);
		old -= drop;
	}
	memcpy(c->tail + old, data, len);
	c->tail[old + len] = 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static void print_usage(const char *mode, double wall)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	double sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf(" mode=%s wall_s=%.3f cpu_user_s=%.3f cpu_sys_s=%.3f\n", mode, wall, user, sys);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static uint32_t pct(const uint32_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* ---- run: closed or paced request loop ---------------------------------- */

static int run(int port, int clients, double seconds, double warmup, long interval_us,
	       const char *request, const char *terminator)
{
	char req[1024], term[256], buf[BUF];
	struct epoll_event ev, events[MAX_EVENTS];
	size_t cap = 1 << 20, n = 0;
	uint32_t *lat = malloc(cap * sizeof(*lat));
	long errors = 0, failed = 0, closed = 0;
	int64_t start = now_ns(), counting_from, end, interval = (int64_t)interval_us * 1000;
	int ep = epoll_create1(0);
	struct conn *conns = calloc((size_t)clients, sizeof(*conns));

	snprintf(req, sizeof(req), "%s\n", request);
	snprintf(term, sizeof(term), "%s\n", terminator);
	size_t reqlen = strlen(req);
	if (!lat || !conns || ep < 0)
		die("setup");
	for (int i = 0; i < clients; i++) {
		struct conn *c = &conns[i];
		c->fd = connect_to(port);
		if (c->fd < 0) {
			c->state = 3;
			failed++;
			continue;
		}
		ev.events = EPOLLOUT | EPOLLIN;
		ev.data.ptr = c;
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		/* spread paced clients over one interval so they do not beat in step */
		c->next_at = interval ? start + (interval * i) / clients : 0;
	}
	counting_from = start + (int64_t)(warmup * 1e9);
	end = counting_from + (int64_t)(seconds * 1e9);
	for (;;) {
		int64_t t = now_ns();
		if (t >= end)
			break;
		int64_t wake = end;
		/* Paced clients due now send; others tell us when to wake. */
		for (int i = 0; i < clients; i++) {
			struct conn *c = &conns[i];
			if (c->state != 1)
				continue;
			if (c->next_at <= t) {
				ssize_t w = send(c->fd, req, reqlen, MSG_NOSIGNAL);
				if (w != (ssize_t)reqlen) {
					c->state = 3;
					closed++;
					close(c->fd);
					continue;
				}
				c->sent_at = t;
				c->next_at = interval ? c->next_at + interval : 0;
				if (c->next_at < t)
					c->next_at = t; /* fell behind: never burst to catch up */
				c->have = 0;
				c->tail[0] = 0;
				c->state = 2;
			} else if (c->next_at < wake) {
				wake = c->next_at;
			}
		}
		int timeout_ms = (int)((wake - t + 999999) / 1000000);
		if (interval == 0)
			timeout_ms = (int)((end - t) / 1000000) + 1;
		int got = epoll_wait(ep, events, MAX_EVENTS, timeout_ms);
		if (got < 0 && errno != EINTR)
			die("epoll_wait");
		t = now_ns();
		for (int k = 0; k < got; k++) {
			struct conn *c = events[k].data.ptr;
			if (c->state == 0) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					c->state = 3;
					failed++;
					close(c->fd);
					continue;
				}
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->state = 1;
				continue;
			}
			if (c->state == 3)
				continue;
			/* One read per readiness event: epoll is level-triggered, so a
			 * reply not yet complete comes round again, and the common case
			 * (a whole reply in one segment) costs no EAGAIN read. */
			for (int once = 1; once; once = 0) {
				ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
				if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (r <= 0) {
					c->state = 3;
					closed++;
					close(c->fd);
					break;
				}
				if (c->have == 0 && r >= 3 && memcmp(buf, "ERR", 3) == 0)
					errors++;
				c->have += (size_t)r;
				add_tail(c, buf, (size_t)r);
				if (c->state == 2 && ends_with(c->tail, term)) {
					if (c->sent_at >= counting_from) {
						if (n == cap) {
							cap *= 2;
							lat = realloc(lat, cap * sizeof(*lat));
							if (!lat)
								die("realloc");
						}
						lat[n++] = (uint32_t)((t - c->sent_at) / 1000);
					}
					c->state = 1;
					if (interval == 0) { /* closed loop: next request at once */
						ssize_t w = send(c->fd, req, reqlen, MSG_NOSIGNAL);
						if (w != (ssize_t)reqlen) {
							c->state = 3;
							closed++;
							close(c->fd);
							break;
						}
						c->sent_at = t;
						c->have = 0;
						c->tail[0] = 0;
						c->state = 2;
					}
				}
			}
		}
	}
	double wall = (double)(now_ns() - start) / 1e9;
	qsort(lat, n, sizeof(*lat), cmp_u32);
	printf("requests=%zu seconds=%.3f rate=%.1f p50_us=%u p90_us=%u p99_us=%u max_us=%u"
	       " errors=%ld connect_failed=%ld closed=%ld",
	       n, seconds, (double)n / seconds, pct(lat, n, 0.50), pct(lat, n, 0.90),
	       pct(lat, n, 0.99), n ? lat[n - 1] : 0, errors, failed, closed);
	print_usage("run", wall);
	return 0;
}

/* ---- hold: many idle connections ---------------------------------------- */

static int hold(int port, int clients, double seconds)
{
	struct epoll_event ev, events[MAX_EVENTS];
	struct conn *conns = calloc((size_t)clients, sizeof(*conns));
	int ep = epoll_create1(0), opened = 0, inflight = 0, ready = 0;
	long failed = 0, dropped = 0;
	const int max_inflight = 16;
	char buf[4096];
	int64_t start = now_ns(), deadline = start + (int64_t)(seconds * 1e9), ready_at = 0;

	if (!conns || ep < 0)
		die("setup");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* stdin */
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
	for (;;) {
		while (opened < clients && inflight < max_inflight) {
			struct conn *c = &conns[opened++];
			c->fd = connect_to(port);
			if (c->fd < 0) {
				c->state = 3;
				failed++;
				continue;
			}
			c->state = 0;
			ev.events = EPOLLOUT;
			ev.data.ptr = c;
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
			inflight++;
		}
		int64_t t = now_ns();
		/* Ready when every connection answered, or when SECONDS pass first
		 * (a server that cannot take them all): report what it holds. */
		if (!ready_at && ((opened == clients && inflight == 0) || t >= deadline)) {
			ready_at = t;
			printf("ready held=%d failed=%ld dropped=%ld pending=%d connect_s=%.3f\n",
			       ready, failed, dropped, inflight + clients - opened,
			       (double)(ready_at - start) / 1e9);
			fflush(stdout);
			opened = clients; /* open no more */
			deadline = ready_at + (int64_t)(seconds * 1e9);
		}
		if (t >= deadline)
			break;
		int got = epoll_wait(ep, events, MAX_EVENTS, (int)((deadline - t) / 1000000) + 1);
		if (got < 0 && errno != EINTR)
			die("epoll_wait");
		for (int k = 0; k < got; k++) {
			struct conn *c = events[k].data.ptr;
			if (c == NULL) { /* stdin readable: EOF means stop */
				if (read(0, buf, sizeof(buf)) <= 0)
					goto done;
				continue;
			}
			if (c->state == 0) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err || send(c->fd, "VER\n", 4, MSG_NOSIGNAL) != 4) {
					c->state = 3;
					failed++;
					inflight--;
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					close(c->fd);
					continue;
				}
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->state = 2;
				continue;
			}
			ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				continue;
			if (r <= 0) {
				if (c->state == 2) {
					inflight--;
					failed++;
				} else {
					dropped++;
					ready--;
				}
				c->state = 3;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				continue;
			}
			if (c->state == 2 && memchr(buf, '\n', (size_t)r)) {
				c->state = 1;
				inflight--;
				ready++;
			}
		}
	}
done:
	printf("held=%d failed=%ld dropped=%ld", ready, failed, dropped);
	print_usage("hold", (double)(now_ns() - start) / 1e9);
	return 0;
}

/* ---- echo: the trivial server that shows the generator's headroom -------- */

static int echo(int port, const char *reply)
{
	char rep[65536], buf[BUF];
	struct epoll_event ev, events[MAX_EVENTS];
	struct sockaddr_in sa;
	int one = 1, ep = epoll_create1(0);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(rep, sizeof(rep), "%s\n", reply);
	size_t replen = strlen(rep);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0)
		die("bind");
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) { /* until killed */
		int got = epoll_wait(ep, events, MAX_EVENTS, -1);
		for (int k = 0; k < got; k++) {
			int fd = events[k].data.fd;
			if (fd == lfd) {
				int c;
				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			ssize_t r = recv(fd, buf, sizeof(buf), 0);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				close(fd);
				continue;
			}
			for (ssize_t i = 0; i < r; i++)
				if (buf[i] == '\n' && send(fd, rep, replen, MSG_NOSIGNAL) < 0)
					break;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 9 && strcmp(argv[1], "run") == 0)
		return run(atoi(argv[2]), atoi(argv[3]), atof(argv[4]), atof(argv[5]),
			   atol(argv[6]), argv[7], argv[8]);
	if (argc == 5 && strcmp(argv[1], "hold") == 0)
		return hold(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && strcmp(argv[1], "echo") == 0)
		return echo(atoi(argv[2]), argv[3]);
	fprintf(stderr, "usage: loadgen run PORT CLIENTS SECONDS WARMUP INTERVAL_US REQUEST TERMINATOR\n"
			"       loadgen hold PORT CLIENTS SECONDS\n"
			"       loadgen echo PORT REPLY\n");
	return 2;
}
