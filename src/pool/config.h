/* config.h - an ISC's configuration: parse, validate, canonical dump, properties; iscadm and iscd. */
#pragma once

#include "pool.h"

enum isc_profile {
	PROFILE_STRICT,
	PROFILE_FIXED,
	PROFILE_FLEXIBLE,
	PROFILE_NONE,
};

#define ISC_UID_COUNT 65536U
#define ISC_UID_FIRST 1000000000U   /* far above any host account */
#define ISC_MAX_VOLUMES 16

struct isc_config {
	char name[64];
	char image[64];             /* tag it was created from */
	char digest[65];            /* the image version it boots */
	enum isc_profile profile;
	uint32_t uid;               /* first host uid/gid of its 65536 */
	int64_t created;
	uint64_t tmp_size;          /* each tmpfs (/tmp, /run, ...) */
	char *volumes[ISC_MAX_VOLUMES + 1];
};

const char *profile_name(enum isc_profile p);
int profile_from_name(const char *s, enum isc_profile *p);

void config_init(struct isc_config *c);
void config_free(struct isc_config *c);
int config_parse(const char *text, struct isc_config *c, struct isc_err *e);
/* Canonical text (round-trips through config_parse); free() it. */
char *config_dump(const struct isc_config *c);
/* An operator's "--set key=value" / "set ISC key=value". */
int config_set(struct isc_config *c, const char *kv, struct isc_err *e);
/* One property's value as text; -ENOENT for an unknown key. */
int config_get(const struct isc_config *c, const char *key, char *buf, size_t n);
extern const char *const config_keys[];

/* isc/<name>/config in the pool. */
int isc_config_load(const struct pool *p, const char *name, struct isc_config *c, struct isc_err *e);
int isc_config_save(const struct pool *p, const struct isc_config *c, struct isc_err *e);
/* Names of every ISC, sorted; strv_free(). */
int isc_names(const struct pool *p, char ***names, struct isc_err *e);
