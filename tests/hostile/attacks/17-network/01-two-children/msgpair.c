/*
 * Attack 17 (network): print /proc/net/tcp (which shows every listening socket of the
 * machine), then connect to each socket listening on 127.0.0.1 and send it a line (which
 * could be the reference solution, a token, anything), and, if the table cannot be read,
 * scan 127.0.0.1's ports. To leave the machine's other services alone it skips ports below
 * 10000 and sockets not bound to 127.0.0.1 (the battery's listener is on 127.0.0.1 above
 * 20000). The grader must run the program without a network: the battery's listener must see
 * no connection, and its port must not show in anything the grader writes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FIRST_PORT 10000

static int reached;

static void say(int fd, int port)
{
	char line[160];
	int n = snprintf(line, sizeof line, "hostile:17-network uid %d reached port %d\n",
			 (int)getuid(), port);
	if (write(fd, line, (size_t)n) == n)
		reached++;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
		say(fd, port);
		printf("connected to 127.0.0.1:%d\n", port);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/* Non-blocking connects to a range of ports, 500 at a time. */
static void scan(void)
{
	enum { BATCH = 500 };
	for (int base = FIRST_PORT; base < 65536; base += BATCH) {
		struct pollfd p[BATCH];
		int port[BATCH], n = 0;
		for (int i = 0; i < BATCH && base + i < 65536; i++) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (fd < 0)
				break;
			struct sockaddr_in a = {.sin_family = AF_INET,
						.sin_port = htons((unsigned short)(base + i))};
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ||
			    errno == EINPROGRESS) {
				p[n] = (struct pollfd){.fd = fd, .events = POLLOUT};
				port[n++] = base + i;
			} else {
				close(fd);
			}
		}
		poll(p, (nfds_t)n, 50);
		for (int i = 0; i < n; i++) {
			int err = 1;
			socklen_t len = sizeof err;
			if ((p[i].revents & POLLOUT) &&
			    getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
			    err == 0) {
				say(p[i].fd, port[i]);
				printf("connected to 127.0.0.1:%d (scan)\n", port[i]);
			}
			close(p[i].fd);
		}
	}
}

int main(void)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	int listeners = 0;
	while (f && fgets(line, sizeof line, f)) {
		fputs(line, stdout);
		fputs(line, stderr);
		unsigned addr, port, rport, state;
		if (sscanf(line, " %*d: %x:%x %*x:%x %x", &addr, &port, &rport, &state) == 4 &&
		    state == 0x0A && addr == htonl(INADDR_LOOPBACK) && port >= FIRST_PORT) {
			listeners++;
			connect_to((int)port);
		}
	}
	if (f)
		fclose(f);
	if (!f || listeners == 0)
		scan();
	printf("%d connections made\n", reached);
	return 1;
}
