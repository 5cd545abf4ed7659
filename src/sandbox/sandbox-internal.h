/* sandbox-internal.h - shared by sandbox.c and child.c only. */
#pragma once

#include "sandbox.h"

__attribute__((noreturn)) void sandbox_child_main(const struct sandbox_spec *s, int sock, int errfd);
