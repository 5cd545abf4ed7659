/* sig.c - a child's signal state made clean before it execs; every host process. */
#include "common.h"

#include <signal.h>

void sig_reset_for_exec(void)
{
	/* A supervisor blocks SIGTERM, SIGINT, SIGHUP and SIGCHLD for its
	 * signalfd, and iscadm ignores SIGINT while a run goes on: a helper
	 * (mkfs.erofs, a login session) that inherited either could not be
	 * stopped by the signals an operator sends it.  Ignored dispositions
	 * survive exec; handled ones are reset by it anyway. */
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
