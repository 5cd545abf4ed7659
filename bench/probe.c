/* probe.c - bench/boot.sh's "the service answers": wait until a TCP connect to 127.0.0.1:PORT
 * succeeds inside the network namespace of a process, trying every 200 us, without a process
 * of its own per try (a fork and exec costs this kind of machine 2-3 ms).
 *
 *   bench-probe --state FILE [--not PID] PORT   the pid= line of an ISC's state file (a pid
 *                                               other than PID: after a reboot)
 *   bench-probe --cmd PREFIX PORT               the newest process whose command line starts
 *                                               with PREFIX
 * Exit status 0 once it answered, 1 after 20 s.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long state_pid(const char *file)
{
	char buf[1024];
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strstr(buf, "\npid=");
	p = p ? p + 5 : strncmp(buf, "pid=", 4) == 0 ? buf + 4 : NULL;
	return p ? strtol(p, NULL, 10) : -1;
}

static long cmd_pid(const char *prefix)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long best = -1;
	while (d && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[64], cmd[256];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (ssize_t i = 0; i < n; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[n] = '\0';
		long pid = strtol(de->d_name, NULL, 10);
		if (strncmp(cmd, prefix, strlen(prefix)) == 0 && pid > best)
			best = pid;
	}
	if (d)
		closedir(d);
	return best;
}

static int answers(long pid, int port)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	int ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return 0;
	int ok = setns(ns, CLONE_NEWNET) == 0;
	close(ns);
	if (!ok)
		return 0;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

int main(int argc, char **argv)
{
	const char *state = NULL, *cmd = NULL;
	long not = -1;
	int i = 1;
	for (; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--state") == 0)
			state = argv[i + 1];
		else if (strcmp(argv[i], "--cmd") == 0)
			cmd = argv[i + 1];
		else if (strcmp(argv[i], "--not") == 0)
			not = strtol(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (i != argc - 1 || (!state == !cmd)) {
		fprintf(stderr, "usage: bench-probe --state FILE [--not PID] PORT | --cmd PREFIX PORT\n");
		return 2;
	}
	int port = atoi(argv[i]);
	for (int t = 0; t < 100000; t++) {
		long pid = state ? state_pid(state) : cmd_pid(cmd);
		if (pid > 0 && pid != not && answers(pid, port))
			return 0;
		nanosleep(&(struct timespec){ .tv_nsec = 200 * 1000 }, NULL);
	}
	return 1;
}
