/* SPDX-License-Identifier: Apache-2.0 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *
stp_strerror(int err)
{
	switch (err) {
	case STP_OK: return "success";
	case STP_ENOMEM: return "out of memory";
	case STP_EINVAL: return "invalid argument";
	case STP_ECRYPTO: return "crypto library failure";
	case STP_EAUTH: return "authentication failed";
	case STP_EVERIFY: return "signature verification failed";
	case STP_EKEY: return "key rejected";
	case STP_EWEAKKEY: return "degenerate shared secret";
	case STP_EPARSE: return "malformed input";
	case STP_EIO: return "I/O error";
	case STP_EPERM: return "unsafe file permissions";
	case STP_EEXIST: return "file exists";
	case STP_ETOOBIG: return "too large";
	case STP_EAGAIN: return "incomplete input";
	case STP_ESTATE: return "invalid state";
	case STP_EPROTO: return "protocol violation";
	case STP_EMAC1: return "first message failed mac1";
	case STP_EPEER: return "unknown or unexpected peer key";
	case STP_EREJECTED: return "refused by peer";
	case STP_EDOWNGRADE: return "version or suite not offered";
	case STP_ECLOSED: return "session closed";
	default: return "unknown error";
	}
}

void
stp_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
