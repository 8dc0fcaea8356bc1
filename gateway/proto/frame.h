/* SPDX-License-Identifier: Apache-2.0 */
/*
 * frame.h: STP framing (proto/STP.md, "Framing"):
 *
 *     type (1 byte) || length (3 bytes, big-endian) || body (length bytes)
 *
 * The per-type maximum is checked on the header alone, before anyone reads or
 * allocates the body.
 */
#ifndef STP_FRAME_H
#define STP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_HDR_LEN 4

enum frame_type {
	FRAME_HELLO = 0x01,
	FRAME_CHALLENGE = 0x02,
	FRAME_REJECT = 0x03,
	FRAME_REPLY = 0x04,
	FRAME_AUTH = 0x05,
	FRAME_RECORD = 0x06,
	FRAME_KEY_UPDATE = 0x07,
};

#define STP_MAX_DATA 65536          /* StreamData.data bytes per record */
#define STP_MAX_DATAGRAM 65507      /* Datagram.data bytes: the largest UDP payload over IPv4 */
#define STP_MAX_RECORD_PT 66560     /* record plaintext: data + fields + padding + signature */
#define FRAME_MAX_HELLO 2048
#define FRAME_MAX_CHALLENGE 512
#define FRAME_MAX_REJECT 256
#define FRAME_MAX_REPLY 2048
#define FRAME_MAX_AUTH 512
#define FRAME_MAX_RECORD (STP_MAX_RECORD_PT + 16)
#define FRAME_MAX_KEY_UPDATE 256
#define FRAME_MAX_BODY FRAME_MAX_RECORD /* the largest of all */

/* Largest body allowed for a frame type; 0 for an unknown type. */
size_t frame_max_body(uint8_t type);

/* Write a frame header.  body_len must be <= frame_max_body(type). */
void frame_put_header(uint8_t hdr[FRAME_HDR_LEN], uint8_t type, size_t body_len);

/*
 * Read a frame header.  Returns 0 and sets *type and *body_len; STP_EPARSE
 * for an unknown type; STP_ETOOBIG for a length over the type's maximum.
 */
int frame_get_header(const uint8_t hdr[FRAME_HDR_LEN], uint8_t *type,
    size_t *body_len);

/* Human-readable frame type name, for logs ("HELLO", ..., "unknown"). */
const char *frame_type_name(uint8_t type);

#endif
