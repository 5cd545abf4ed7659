/* loop.c - attach a file to a free loop device with autoclear; iscadm and iscd. */
#include "common.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>

/* Returns the open loop device: it must stay open until mounted, or
 * autoclear detaches it at once. */
int loop_attach(const char *img, char *dev, size_t n, struct isc_err *e)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return err_sys(e, errno, "open /dev/loop-control");
	_cleanup_close_ int file = open(img, O_RDWR | O_CLOEXEC);
	if (file < 0)
		return err_sys(e, errno, "open %s", img);
	for (int tries = 0; tries < 16; tries++) {
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return err_sys(e, errno, "no free loop device");
		snprintf(dev, n, "/dev/loop%d", nr);
		int lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			return err_sys(e, errno, "open %s", dev);
		/* AUTOCLEAR: the device goes away with the pool's last unmount,
		 * so nothing is left attached once the pool is closed. */
		struct loop_config cfg = { .fd = (uint32_t)file,
			.info = { .lo_flags = LO_FLAGS_AUTOCLEAR } };
		snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", img);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
			return lfd;
		int err = errno;
		close(lfd);
		if (err != EBUSY)
			return err_sys(e, err, "attach %s to %s", img, dev);
	}
	return err_set(e, EBUSY, "no free loop device for %s", img);
}

