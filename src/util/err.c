#include "util/err.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[KAHU_ERROR_MSG_MAX];
static _Thread_local int err_code;

int kahu_error_setv(int code, const char *fmt, va_list ap)
{
	vsnprintf(err_msg, sizeof err_msg, fmt, ap);
	err_code = code;
	return code;
}

int kahu_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kahu_error_setv(code, fmt, ap);
	va_end(ap);
	return code;
}

int kahu_error_wrap(int code, const char *fmt, ...)
{
	char prefix[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	size_t plen = strlen(prefix), olen = strlen(err_msg);
	if (olen && plen + 2 < sizeof err_msg) {
		/* "prefix: old", the old message cut when it does not fit */
		if (plen + 2 + olen >= sizeof err_msg)
			olen = sizeof err_msg - plen - 3;
		memmove(err_msg + plen + 2, err_msg, olen);
		err_msg[plen + 2 + olen] = '\0';
		memcpy(err_msg, prefix, plen);
		err_msg[plen] = ':';
		err_msg[plen + 1] = ' ';
	} else {
		memcpy(err_msg, prefix, plen + 1);
	}
	err_code = code;
	return code;
}

const char *kahu_error_last(void) { return err_msg; }
int kahu_error_code(void) { return err_code; }

void kahu_error_clear(void)
{
	err_msg[0] = '\0';
	err_code = 0;
}

void kahu_error_capture(struct kahu_error_state *st)
{
	st->code = err_code;
	memcpy(st->msg, err_msg, sizeof st->msg);
}

int kahu_error_restore(const struct kahu_error_state *st)
{
	memcpy(err_msg, st->msg, sizeof err_msg);
	err_msg[sizeof err_msg - 1] = '\0';
	err_code = st->code;
	return err_code;
}

const char *kahu_err_name(int code)
{
	switch (code) {
	case KAHU_OK: return "OK";
	case KAHU_EFAIL: return "EFAIL";
	case KAHU_EUSAGE: return "EUSAGE";
	case KAHU_ECONFIG: return "ECONFIG";
	case KAHU_ENOTFOUND: return "ENOTFOUND";
	case KAHU_EEXIST: return "EEXIST";
	case KAHU_EDATA: return "EDATA";
	case KAHU_ECRYPTO: return "ECRYPTO";
	case KAHU_EIO: return "EIO";
	case KAHU_ENOSPC: return "ENOSPC";
	case KAHU_EUNREACHABLE: return "EUNREACHABLE";
	case KAHU_ETLS: return "ETLS";
	case KAHU_EAUTH: return "EAUTH";
	case KAHU_EFORBIDDEN: return "EFORBIDDEN";
	case KAHU_ETEMP: return "ETEMP";
	case KAHU_EPERM: return "EPERM";
	case KAHU_EINTR: return "EINTR";
	case KAHU_EPARTIAL: return "EPARTIAL";
	case KAHU_ECONFLICT: return "ECONFLICT";
	case KAHU_EPROTO: return "EPROTO";
	case KAHU_EINTERNAL: return "EINTERNAL";
	case KAHU_ENOMEM: return "ENOMEM";
	case KAHU_ELOCKED: return "ELOCKED";
	}
	return "EUNKNOWN";
}
