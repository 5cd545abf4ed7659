/* ocisec.c - an OCI spec's seccomp section as a filter of its own (libseccomp), stacked on the ISC's; isc-runtime's container processes. */
#include "confine.h"

#include <ctype.h>
#include <seccomp.h>

static const struct {
	const char *name;
	enum confine_sc_action action;
} sc_actions[] = {
	{ "SCMP_ACT_KILL", SC_KILL_THREAD }, { "SCMP_ACT_KILL_THREAD", SC_KILL_THREAD },
	{ "SCMP_ACT_KILL_PROCESS", SC_KILL_PROCESS }, { "SCMP_ACT_TRAP", SC_TRAP },
	{ "SCMP_ACT_ERRNO", SC_ERRNO }, { "SCMP_ACT_TRACE", SC_TRACE },
	{ "SCMP_ACT_ALLOW", SC_ALLOW }, { "SCMP_ACT_LOG", SC_LOG },
};

static const struct {
	const char *name;
	int op;
} sc_ops[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

int confine_sc_action_parse(const char *s, enum confine_sc_action *a)
{
	for (size_t i = 0; i < ARRAY_SIZE(sc_actions); i++)
		if (STREQ(s, sc_actions[i].name)) {
			*a = sc_actions[i].action;
			return 0;
		}
	return -EINVAL;
}

int confine_sc_op_parse(const char *s, int *op)
{
	for (size_t i = 0; i < ARRAY_SIZE(sc_ops); i++)
		if (STREQ(s, sc_ops[i].name)) {
			*op = sc_ops[i].op;
			return 0;
		}
	return -EINVAL;
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token, 0 where it knows none. */
static uint32_t arch_token(const char *s)
{
	char low[32];
	size_t i = 0;
	if (!str_has_prefix(s, "SCMP_ARCH_"))
		return 0;
	for (s += strlen("SCMP_ARCH_"); *s && i < sizeof(low) - 1; s++)
		low[i++] = (char)tolower((unsigned char)*s);
	low[i] = '\0';
	return seccomp_arch_resolve_name(low);
}

int confine_sc_arch_check(const char *s)
{
	return arch_token(s) ? 0 : -EINVAL;
}

static uint32_t act(enum confine_sc_action a, int errno_ret)
{
	switch (a) {
	case SC_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
	case SC_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
	case SC_TRAP: return SCMP_ACT_TRAP;
	case SC_ERRNO: return SCMP_ACT_ERRNO((uint16_t)errno_ret);
	case SC_TRACE: return SCMP_ACT_TRACE((uint16_t)errno_ret);
	case SC_ALLOW: return SCMP_ACT_ALLOW;
	case SC_LOG: return SCMP_ACT_LOG;
	}
	return SCMP_ACT_KILL_PROCESS;
}

static int rule_add(scmp_filter_ctx ctx, const struct confine_sc_rule *r, uint32_t dflt, struct isc_err *e)
{
	struct scmp_arg_cmp cmp[6];
	for (unsigned k = 0; k < r->nargs; k++)
		cmp[k] = (struct scmp_arg_cmp){ .arg = r->args[k].index, .op = r->args[k].op,
						.datum_a = r->args[k].value, .datum_b = r->args[k].value2 };
	uint32_t a = act(r->action, r->errno_ret);
	if (a == dflt)
		return 0;       /* libseccomp refuses a rule that changes nothing */
	for (size_t i = 0; r->names && r->names[i]; i++) {
		int nr = seccomp_syscall_resolve_name(r->names[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;       /* a call this kernel's architecture does not have */
		int rc = seccomp_rule_add_array(ctx, a, nr, r->nargs, cmp);
		if (rc < 0)
			return err_sys(e, -rc, "seccomp rule for %s", r->names[i]);
	}
	return 0;
}

int confine_seccomp_spec(const struct confine_sc_spec *s, struct isc_err *e)
{
	uint32_t dflt = act(s->default_action, s->default_errno);
	scmp_filter_ctx ctx = seccomp_init(dflt);
	if (!ctx)
		return err_set(e, EINVAL, "seccomp: default action");
	int r = 0;
	for (size_t i = 0; s->arches && s->arches[i] && r == 0; i++) {
		uint32_t t = arch_token(s->arches[i]);
		int rc = t ? seccomp_arch_add(ctx, t) : -EINVAL;
		if (rc < 0 && rc != -EEXIST)
			r = err_sys(e, -rc, "seccomp architecture %s", s->arches[i]);
	}
	for (size_t i = 0; i < s->nrules && r == 0; i++)
		r = rule_add(ctx, &s->rules[i], dflt, e);
	if (r == 0) {
		int rc = seccomp_load(ctx);
		if (rc < 0)
			r = err_sys(e, -rc, "load the spec's seccomp filter");
	}
	seccomp_release(ctx);
	return r;
}
