/* SPDX-License-Identifier: Apache-2.0 */
/*
 * frame.c: STP frame headers (proto/STP.md, "Framing").
 */
#include "frame.h"

#include "err.h"

size_t
frame_max_body(uint8_t type)
{
	switch (type) {
	case FRAME_HELLO: return FRAME_MAX_HELLO;
	case FRAME_CHALLENGE: return FRAME_MAX_CHALLENGE;
	case FRAME_REJECT: return FRAME_MAX_REJECT;
	case FRAME_REPLY: return FRAME_MAX_REPLY;
	case FRAME_AUTH: return FRAME_MAX_AUTH;
	case FRAME_RECORD: return FRAME_MAX_RECORD;
	case FRAME_KEY_UPDATE: return FRAME_MAX_KEY_UPDATE;
	default: return 0;
	}
}

void
frame_put_header(uint8_t hdr[FRAME_HDR_LEN], uint8_t type, size_t body_len)
{
	hdr[0] = type;
	hdr[1] = (uint8_t)(body_len >> 16);
	hdr[2] = (uint8_t)(body_len >> 8);
	hdr[3] = (uint8_t)body_len;
}

int
frame_get_header(const uint8_t hdr[FRAME_HDR_LEN], uint8_t *type,
    size_t *body_len)
{
	size_t max = frame_max_body(hdr[0]);
	size_t len = (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];

	if (max == 0)
		return STP_EPARSE;
	if (len > max)
		return STP_ETOOBIG;
	*type = hdr[0];
	*body_len = len;
	return 0;
}

const char *
frame_type_name(uint8_t type)
{
	switch (type) {
	case FRAME_HELLO: return "HELLO";
	case FRAME_CHALLENGE: return "CHALLENGE";
	case FRAME_REJECT: return "REJECT";
	case FRAME_REPLY: return "REPLY";
	case FRAME_AUTH: return "AUTH";
	case FRAME_RECORD: return "RECORD";
	case FRAME_KEY_UPDATE: return "KEY_UPDATE";
	default: return "unknown";
	}
}
