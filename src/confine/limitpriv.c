/* limitpriv.c - transitional: confine_limitpriv() for iscd, which still calls it; iscd.
 * The one limitpriv parser is config_limitpriv() in pool/config.c, below
 * which confine sits: this file calls upward and goes away once iscd calls
 * config_limitpriv(cfg.limitpriv, confine_default_caps(), &caps, e).  It is
 * its own object so that only a program calling it (iscd) links pool through it. */
#include "confine.h"

/* pool/config.h, which confine may not include */
int config_limitpriv(const char *spec, uint64_t dflt, uint64_t *caps, struct isc_err *e);

int confine_limitpriv(const char *spec, uint64_t *caps, struct isc_err *e)
{
	return config_limitpriv(spec, confine_default_caps(), caps, e);
}
