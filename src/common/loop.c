/* loop.c - attach a file to a free loop device with autoclear; iscadm and iscd. */
#include "common.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>

int loop_attach_fd(int file, const char *name, bool ro, char *dev, size_t n, struct isc_err *e)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return err_sys(e, errno, "open /dev/loop-control");
	for (int tries = 0; tries < 16; tries++) {
		int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return err_sys(e, errno, "no free loop device");
		snprintf(dev, n, "/dev/loop%d", nr);
		int lfd = open(dev, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lfd < 0)
			return err_sys(e, errno, "open %s", dev);
		/* AUTOCLEAR: the device goes away with its last user (the
		 * mount), so nothing is left attached once that is gone. */
		struct loop_config cfg = { .fd = (uint32_t)file,
			.info = { .lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0) } };
		snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", name);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
			return lfd;
		int err = errno;
		close(lfd);
		if (err != EBUSY)
			return err_sys(e, err, "attach %s to %s", name, dev);
	}
	return err_set(e, EBUSY, "no free loop device for %s", name);
}

int loop_attach(const char *img, char *dev, size_t n, struct isc_err *e)
{
	_cleanup_close_ int file = open(img, O_RDWR | O_CLOEXEC);
	if (file < 0)
		return err_sys(e, errno, "open %s", img);
	return loop_attach_fd(file, img, false, dev, n, e);
}
