// SPDX-License-Identifier: GPL-2.0-only
/*
 * Traffic for tools/bench/rootless.sh: a server and two clients measuring
 * TCP throughput and connection latency, whatever is in between (the
 * rootless forwarder, slirp4netns port forwarding).
 *
 *   bench_rootless serve ADDR PORT SECONDS
 *   bench_rootless tput ADDR PORT SECONDS       -> "tput_gbps X"
 *   bench_rootless connect ADDR PORT COUNT      -> "connect_us p50 X p99 Y"
 *
 * The first byte a client sends picks the server's behaviour: 'T' sink
 * everything and answer with one byte at EOF, 'L' answer one byte and close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define MAX_CONNECTS 100000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static socklen_t make_addr(const char *text, unsigned int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
		return 0;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	return sizeof(*s6);
}

static void serve_one(int fd)
{
	static char buf[CHUNK];
	char mode = 0, ack = 'k';
	ssize_t n;

	if (read(fd, &mode, 1) != 1)
		_exit(0);
	if (mode == 'T')
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
	if (write(fd, &ack, 1) != 1)
		_exit(1);
	_exit(0);
}

static int serve(const char *addr, unsigned int port, unsigned int seconds)
{
	struct sockaddr_storage ss;
	struct pollfd pfd = {.events = POLLIN};
	double end = now_s() + seconds;
	socklen_t len = make_addr(addr, port, &ss);
	int one = 1, fd;

	signal(SIGCHLD, SIG_IGN); /* no zombies */
	pfd.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(pfd.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!len || bind(pfd.fd, (struct sockaddr *)&ss, len) || listen(pfd.fd, 1024)) {
		perror("bench_rootless: listen");
		return 1;
	}
	while (now_s() < end) {
		if (poll(&pfd, 1, 200) != 1)
			continue;
		fd = accept4(pfd.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (fork() == 0) {
			close(pfd.fd);
			serve_one(fd);
		}
		close(fd);
	}
	return 0;
}

static int dial(const char *addr, unsigned int port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, port, &ss);
	int fd, one = 1;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || !len || connect(fd, (struct sockaddr *)&ss, len)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int tput(const char *addr, unsigned int port, unsigned int seconds)
{
	static char buf[CHUNK];
	double start, end;
	long long sent = 0;
	char ack;
	ssize_t n;
	int fd = dial(addr, port);

	if (fd < 0 || write(fd, "T", 1) != 1) {
		perror("bench_rootless: tput");
		return 1;
	}
	memset(buf, 'x', sizeof(buf));
	start = now_s();
	end = start + seconds;
	while (now_s() < end) {
		n = write(fd, buf, sizeof(buf));
		if (n <= 0) {
			perror("bench_rootless: write");
			return 1;
		}
		sent += n;
	}
	shutdown(fd, SHUT_WR);
	if (read(fd, &ack, 1) != 1)
		return 1;
	printf("tput_gbps %.3f\n", (double)sent * 8 / (now_s() - start) / 1e9);
	close(fd);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int connects(const char *addr, unsigned int port, unsigned int count)
{
	double *us = calloc(count, sizeof(*us)), t0;
	unsigned int i;
	char ack;
	int fd;

	if (!us)
		return 1;
	for (i = 0; i < count; i++) {
		t0 = now_s();
		fd = dial(addr, port);
		if (fd < 0 || write(fd, "L", 1) != 1 || read(fd, &ack, 1) != 1) {
			perror("bench_rootless: connect");
			free(us);
			return 1;
		}
		us[i] = (now_s() - t0) * 1e6;
		close(fd);
	}
	qsort(us, count, sizeof(*us), cmp_double);
	printf("connect_us p50 %.1f p99 %.1f\n", us[count / 2], us[count * 99 / 100]);
	free(us);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long port, n;

	if (argc != 5)
		goto usage;
	port = strtoul(argv[3], NULL, 10);
	n = strtoul(argv[4], NULL, 10);
	if (!port || port > 65535 || !n || n > MAX_CONNECTS)
		goto usage;
	if (!strcmp(argv[1], "serve"))
		return serve(argv[2], (unsigned int)port, (unsigned int)n);
	if (!strcmp(argv[1], "tput"))
		return tput(argv[2], (unsigned int)port, (unsigned int)n);
	if (!strcmp(argv[1], "connect"))
		return connects(argv[2], (unsigned int)port, (unsigned int)n);
usage:
	fprintf(stderr, "usage: bench_rootless serve|tput|connect ADDR PORT SECONDS|COUNT\n");
	return 2;
}
