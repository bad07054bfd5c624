// SPDX-License-Identifier: GPL-2.0-only
/* Local nats-server helpers shared by the agent and the sidecar; see natsbin.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "natsbin.h"

/* See natsbin.h. */
const char *natsbin_path(void)
{
	const char *env = getenv("BPFMESH_NATS_SERVER");

	if (env && *env)
		return env;
	return access("/usr/sbin/nats-server", X_OK) ? "/usr/bin/nats-server"
						     : "/usr/sbin/nats-server";
}

static struct sockaddr_in loopback(unsigned int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

/* See natsbin.h. */
unsigned int natsbin_free_port(void)
{
	struct sockaddr_in sa = loopback(0);
	socklen_t len = sizeof(sa);
	unsigned int port = 0;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* See natsbin.h. */
bool natsbin_port_accepts(unsigned int port)
{
	struct sockaddr_in sa = loopback(port);
	bool is_up;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	is_up = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return is_up;
}
