/* SPDX-License-Identifier: Apache-2.0 */
/*
 * envelope.c: protobuf-c glue for the STP messages.  See envelope.h.
 *
 * The arena is one block carved by a bump pointer.  protobuf-c's unpack
 * allocates the message, its strings, bytes, repeated arrays, unknown fields
 * and (for messages of more than 16 fields on the wire) its scan slabs from
 * it; its free is a no-op, so the library's own clean-up after a failed
 * unpack (which walks the half-built message and frees what it finds) only
 * reads arena memory that it wrote itself and gives nothing back.  A failed
 * env_unpack rewinds the arena to where it started.
 *
 * env_find_bytes() and env_encode_data_record() speak the protobuf wire
 * format directly:
 *
 *     tag    = varint(field << 3 | wire type)
 *     type 0 = varint, 1 = 8 bytes, 2 = varint length then bytes, 5 = 4 bytes
 *
 * The data record encoder follows protobuf-c 1.4's proto3 rules, checked by
 * tests/unit/test_envelope.c: fields are written in field-number order, a
 * scalar equal to zero and an empty bytes field are left out, and a selected
 * oneof sub-message is always written, even when it encodes to nothing
 * (0x62 0x00).
 */
#include "envelope.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "err.h"
#include "frame.h"

#if defined(__SANITIZE_ADDRESS__)
#define ENV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ENV_ASAN 1
#endif
#endif

#ifdef ENV_ASAN
#include <sanitizer/asan_interface.h>
/* Poisoned gap after each allocation, so an overrun is reported. */
#define ENV_REDZONE 16
#define ENV_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ENV_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ENV_REDZONE 0
#define ENV_POISON(p, n) ((void)(p), (void)(n))
#define ENV_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ENV_ALIGN _Alignof(max_align_t)

#define WT_VARINT 0
#define WT_64BIT 1
#define WT_LEN 2
#define WT_32BIT 5

#define MAX_FIELD 0x1fffffffu   /* largest protobuf field number, 2^29 - 1 */
#define MAX_VARINT 10           /* bytes in the longest (64-bit) varint */
#define MAX_SHORT_VARINT 5      /* bytes in the longest tag or length */

/* Tags of the fields env_encode_data_record() writes. */
#define TAG_RECORD_SEQ 0x08     /* Record.seq = 1, varint */
#define TAG_RECORD_TIME 0x10    /* Record.time_ms = 2, varint */
#define TAG_RECORD_DATA 0x62    /* Record.data = 12, length-delimited */
#define TAG_SD_STREAM 0x08      /* StreamData.stream_id = 1, varint */
#define TAG_PADDING0 0xf2       /* Record.padding = 30, bytes: 0xf2 0x01 */
#define TAG_PADDING1 0x01
#define TAG_SD_DATA 0x12        /* StreamData.data = 2, length-delimited */

struct env_arena {
	ProtobufCAllocator pa;  /* handed to protobuf-c; allocator_data = us */
	size_t cap;
	size_t used;
	size_t high;            /* most ever used, for the wipe at free */
	max_align_t mem[];      /* cap bytes */
};

static void *
arena_alloc(void *data, size_t size)
{
	env_arena *a = data;
	size_t step;
	uint8_t *p;

	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - (ENV_ALIGN - 1) - ENV_REDZONE)
		return NULL;
	step = (size + ENV_REDZONE + ENV_ALIGN - 1) & ~(size_t)(ENV_ALIGN - 1);
	if (step > a->cap - a->used)
		return NULL;
	p = (uint8_t *)a->mem + a->used;
	a->used += step;
	if (a->used > a->high)
		a->high = a->used;
	ENV_UNPOISON(p, size);
	return p;
}

static void
arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

/*
 * Give back everything above mark, wiped: unpacked messages hold record
 * plaintext, which must not wait in the heap for the next message.
 */
static void
arena_rewind(env_arena *a, size_t mark)
{
	if (a->used > mark) {
		ENV_UNPOISON((uint8_t *)a->mem + mark, a->used - mark);
		crypto_wipe((uint8_t *)a->mem + mark, a->used - mark);
	}
	a->used = mark;
	ENV_POISON((uint8_t *)a->mem + mark, a->cap - mark);
}

env_arena *
env_arena_new(size_t cap)
{
	env_arena *a;

	if (cap > SIZE_MAX - sizeof(*a))
		return NULL;
	if ((a = malloc(sizeof(*a) + cap)) == NULL)
		return NULL;
	a->pa.alloc = arena_alloc;
	a->pa.free = arena_free;
	a->pa.allocator_data = a;
	a->cap = cap;
	a->used = 0;
	a->high = 0;
	ENV_POISON(a->mem, cap);
	return a;
}

void
env_arena_reset(env_arena *a)
{
	if (a != NULL)
		arena_rewind(a, 0);
}

void
env_arena_free(env_arena *a)
{
	if (a == NULL)
		return;
	/* Unpacked messages held record plaintext: do not leave it in the heap. */
	ENV_UNPOISON(a->mem, a->cap);
	crypto_wipe(a->mem, a->high);
	free(a);
}

ProtobufCMessage *
env_unpack(env_arena *a, const ProtobufCMessageDescriptor *d,
    const uint8_t *buf, size_t len)
{
	ProtobufCMessage *m;
	size_t mark;

	if (a == NULL || d == NULL || (buf == NULL && len != 0))
		return NULL;
	/* protobuf-c keeps some lengths in 32-bit variables. */
	if (len > INT32_MAX)
		return NULL;
	mark = a->used;
	if ((m = protobuf_c_message_unpack(d, &a->pa, len, buf)) == NULL)
		arena_rewind(a, mark);
	return m;
}

int
env_pack(const ProtobufCMessage *m, uint8_t *out, size_t cap)
{
	size_t n;

	if (m == NULL)
		return STP_EINVAL;
	n = protobuf_c_message_get_packed_size(m);
	if (n > cap || n > INT32_MAX)
		return STP_ETOOBIG;
	if (protobuf_c_message_pack(m, out) != n)
		return STP_EINVAL;
	return (int)n;
}

/*
 * Read a varint of at most maxlen (<= 10) bytes from p[0..end).  Returns its
 * length and sets *v (bits past the 64th are dropped), or 0 when it runs past
 * end or is longer than maxlen.
 */
static size_t
get_varint(const uint8_t *p, const uint8_t *end, size_t maxlen, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < maxlen && p + i < end; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/*
 * Step over the field at *pp (before end): its tag in *tag and, for a
 * length-delimited one, its value in *val / *val_len.  0, or STP_EPARSE when
 * it is broken.  The limits are protobuf-c's, so that whenever protobuf-c
 * accepts a message a walk with this sees the same fields: a tag or a length
 * is at most 5 bytes, any other varint at most 10; field number 0 and wire
 * types 3, 4 (groups), 6 and 7 are refused.
 */
static int
next_field(const uint8_t **pp, const uint8_t *end, uint64_t *tag,
    const uint8_t **val, size_t *val_len)
{
	const uint8_t *p = *pp;
	size_t n;
	uint64_t v;

	if ((n = get_varint(p, end, MAX_SHORT_VARINT, tag)) == 0 ||
	    (*tag >> 3) == 0)
		return STP_EPARSE;
	p += n;
	switch (*tag & 7) {
	case WT_VARINT:
		if ((n = get_varint(p, end, MAX_VARINT, &v)) == 0)
			return STP_EPARSE;
		break;
	case WT_64BIT:
		n = 8;
		break;
	case WT_32BIT:
		n = 4;
		break;
	case WT_LEN:
		if ((n = get_varint(p, end, MAX_SHORT_VARINT, &v)) == 0 ||
		    v > (uint64_t)(end - p) - n)
			return STP_EPARSE;
		p += n;
		n = (size_t)v;
		break;
	default:                /* 3, 4: groups; 6, 7: undefined */
		return STP_EPARSE;
	}
	if (n > (size_t)(end - p))
		return STP_EPARSE;
	*val = p;
	*val_len = n;
	*pp = p + n;
	return 0;
}

int
env_find_varint(const uint8_t *buf, size_t len, uint32_t field, uint64_t *v)
{
	const uint8_t *p, *end, *val;
	size_t n;
	uint64_t tag;
	int found = 0;

	if (field == 0 || field > MAX_FIELD || (buf == NULL && len != 0))
		return STP_EINVAL;
	*v = 0;
	p = buf;
	end = buf + len;
	while (p < end) {
		if (next_field(&p, end, &tag, &val, &n) != 0)
			return STP_EPARSE;
		if ((tag >> 3) != field)
			continue;
		if ((tag & 7) != WT_VARINT)
			return STP_EPARSE;
		(void)get_varint(val, val + n, MAX_VARINT, v);
		found = 1;
	}
	return found;
}

int
env_has_uint(const uint8_t *buf, size_t len, uint32_t field, uint32_t x)
{
	const uint8_t *p, *end, *val, *q;
	size_t n, k;
	uint64_t tag, v = 0;
	int found = 0;

	if (field == 0 || field > MAX_FIELD || (buf == NULL && len != 0))
		return STP_EINVAL;
	p = buf;
	end = buf + len;
	while (p < end) {
		if (next_field(&p, end, &tag, &val, &n) != 0)
			return STP_EPARSE;
		if ((tag >> 3) != field)
			continue;
		if ((tag & 7) == WT_VARINT) {
			(void)get_varint(val, val + n, MAX_VARINT, &v);
			found |= (uint32_t)v == x;
		} else if ((tag & 7) == WT_LEN) {
			/* packed: varints back to back */
			for (q = val; q < val + n; q += k) {
				if ((k = get_varint(q, val + n, MAX_VARINT, &v)) == 0)
					return STP_EPARSE;
				found |= (uint32_t)v == x;
			}
		} else {
			return STP_EPARSE;
		}
	}
	return found;
}

/*
 * The wanted field with a wire type other than 2 makes protobuf-c refuse the
 * message, so it is refused here too.
 */
int
env_find_bytes(const uint8_t *buf, size_t len, uint32_t field,
    const uint8_t **val, size_t *val_len)
{
	const uint8_t *p, *end, *v, *found = NULL;
	size_t n, found_len = 0;
	uint64_t tag;

	if (field == 0 || field > MAX_FIELD || (buf == NULL && len != 0))
		return STP_EINVAL;
	if (len == 0)
		return 0;
	p = buf;
	end = buf + len;
	while (p < end) {
		if (next_field(&p, end, &tag, &v, &n) != 0)
			return STP_EPARSE;
		if ((tag >> 3) == field) {
			if ((tag & 7) != WT_LEN)
				return STP_EPARSE;
			found = v;
			found_len = n;
		}
	}
	if (found == NULL)
		return 0;
	*val = found;
	*val_len = found_len;
	return 1;
}

/* Bytes in the varint encoding of v. */
static size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *
put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/*
 * The padding field's length varint is the narrowest that makes the field
 * exactly gap bytes, which at two gaps (131 and 16,388 bytes) is one byte
 * wider than the length needs: an overlong varint, valid protobuf.
 */
void
env_pad_fill(uint8_t *p, size_t gap)
{
	size_t w, n, i;

	if (gap == 0)
		return;
	for (w = 1; varint_len(gap - 2 - w) > w; w++)
		;
	n = gap - 2 - w;
	*p++ = TAG_PADDING0;
	*p++ = TAG_PADDING1;
	for (i = 0; i + 1 < w; i++) {
		*p++ = (uint8_t)(0x80 | (n & 0x7f));
		n >>= 7;
	}
	*p++ = (uint8_t)n;
	memset(p, 0, gap - 2 - w);
}

size_t
env_pad_find(const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len, *start = end, *v;
	uint64_t tag;
	size_t n;

	while (p < end) {
		start = p;
		if (next_field(&p, end, &tag, &v, &n) != 0)
			return len;
	}
	if (start + 2 <= end && start[0] == TAG_PADDING0 &&
	    start[1] == TAG_PADDING1)
		return (size_t)(start - buf);
	return len;
}

/* Length of the StreamData encoding (without Record's tag and length). */
static size_t
stream_data_len(uint32_t stream_id, size_t data_len)
{
	size_t n = 0;

	if (stream_id != 0)
		n += 1 + varint_len(stream_id);
	if (data_len != 0)
		n += 1 + varint_len(data_len) + data_len;
	return n;
}

size_t
env_data_record_len(uint64_t seq, uint64_t time_ms, uint32_t stream_id,
    size_t data_len)
{
	size_t n = 0, sub;

	/* Past any record we could send; keeps the sums below from wrapping. */
	if (data_len > SIZE_MAX / 2)
		return SIZE_MAX;
	if (seq != 0)
		n += 1 + varint_len(seq);
	if (time_ms != 0)
		n += 1 + varint_len(time_ms);
	sub = stream_data_len(stream_id, data_len);
	return n + 1 + varint_len(sub) + sub;
}

int
env_encode_data_record(uint8_t *out, size_t cap, uint64_t seq,
    uint64_t time_ms, uint32_t stream_id, const uint8_t *data, size_t data_len)
{
	size_t total, sub;
	uint8_t *p = out;

	if (data_len > STP_MAX_DATA)
		return STP_ETOOBIG;
	if (data == NULL && data_len != 0)
		return STP_EINVAL;
	total = env_data_record_len(seq, time_ms, stream_id, data_len);
	if (total > cap)
		return STP_ETOOBIG;
	sub = stream_data_len(stream_id, data_len);

	if (seq != 0) {
		*p++ = TAG_RECORD_SEQ;
		p = put_varint(p, seq);
	}
	if (time_ms != 0) {
		*p++ = TAG_RECORD_TIME;
		p = put_varint(p, time_ms);
	}
	*p++ = TAG_RECORD_DATA;
	p = put_varint(p, sub);
	if (stream_id != 0) {
		*p++ = TAG_SD_STREAM;
		p = put_varint(p, stream_id);
	}
	if (data_len != 0) {
		*p++ = TAG_SD_DATA;
		p = put_varint(p, data_len);
		/* The caller may have put the data in place already. */
		if (p != data)
			memcpy(p, data, data_len);
		p += data_len;
	}
	return (int)(p - out);
}

int
env_decode_data_record(const uint8_t *buf, size_t len, uint64_t *seq,
    uint64_t *time_ms, uint32_t *stream_id, const uint8_t **data,
    size_t *data_len)
{
	const uint8_t *p = buf, *end = buf + len;
	uint64_t s = 0, t = 0, sub = 0, sid = 0, dl = 0;
	size_t n;

	if (p < end && *p == TAG_RECORD_SEQ) {
		if ((n = get_varint(p + 1, end, MAX_VARINT, &s)) == 0)
			return 0;
		p += 1 + n;
	}
	if (p < end && *p == TAG_RECORD_TIME) {
		if ((n = get_varint(p + 1, end, MAX_VARINT, &t)) == 0)
			return 0;
		p += 1 + n;
	}
	if (p >= end || *p != TAG_RECORD_DATA ||
	    (n = get_varint(p + 1, end, MAX_SHORT_VARINT, &sub)) == 0)
		return 0;
	p += 1 + n;
	if (sub != (uint64_t)(end - p))
		return 0; /* something follows the body: padding, a signature */
	if (p < end && *p == TAG_SD_STREAM) {
		if ((n = get_varint(p + 1, end, MAX_VARINT, &sid)) == 0 || sid > UINT32_MAX)
			return 0;
		p += 1 + n;
	}
	if (p < end && *p == TAG_SD_DATA) {
		if ((n = get_varint(p + 1, end, MAX_SHORT_VARINT, &dl)) == 0 ||
		    dl != (uint64_t)(end - p - 1 - (ptrdiff_t)n))
			return 0;
		p += 1 + n;
	}
	if ((uint64_t)(end - p) != dl || dl > STP_MAX_DATA)
		return 0;
	/* Canonical only: the encoder must give back exactly these bytes. */
	if (env_data_record_len(s, t, (uint32_t)sid, (size_t)dl) != len)
		return 0;
	*seq = s;
	*time_ms = t;
	*stream_id = (uint32_t)sid;
	*data = dl ? p : NULL;
	*data_len = (size_t)dl;
	return 1;
}
