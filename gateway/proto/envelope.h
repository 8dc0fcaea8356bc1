/* SPDX-License-Identifier: Apache-2.0 */
/*
 * envelope.h: protobuf-c glue for the STP messages (proto/stp.proto).
 *
 * Unpacking allocates only from an arena of fixed capacity given by the
 * owner, so a hostile message can cost at most that many bytes, and one
 * reset frees everything a message used.  Packing writes into the caller's
 * buffer after checking the size.
 */
#ifndef STP_ENVELOPE_H
#define STP_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "stp.pb-c.h"

typedef struct env_arena env_arena;

/*
 * An arena of cap bytes, or NULL when out of memory.  Size it with headroom:
 * under ASan every allocation carries a 16-byte guard.
 */
env_arena *env_arena_new(size_t cap);
/* Forget everything allocated from it (every message unpacked with it). */
void env_arena_reset(env_arena *a);
void env_arena_free(env_arena *a);

/*
 * Unpack a message of type d from buf using only arena memory.  Returns the
 * message, or NULL if it does not parse or needs more than the arena holds.
 * The arena is NOT reset first: reset it when the previous message is done.
 */
ProtobufCMessage *env_unpack(env_arena *a, const ProtobufCMessageDescriptor *d,
    const uint8_t *buf, size_t len);

/* Pack m into out (cap bytes).  Returns the length, or STP_ETOOBIG. */
int env_pack(const ProtobufCMessage *m, uint8_t *out, size_t cap);

/*
 * Find the last occurrence of length-delimited field `field` in a protobuf
 * encoding without decoding it (no allocation).  Returns 1 and sets *val and
 * *val_len when found, 0 when absent, STP_EPARSE when the encoding is broken.
 * It accepts what protobuf-c accepts, with one deliberate exception: a field
 * numbered 0 is refused even where protobuf-c would skip it (a Hello carrying
 * one is then refused as malformed: failing closed).
 */
/*
 * Record padding (proto/STP.md, "Padding and cover records"): write at p a
 * Record.padding field of exactly gap bytes (0, or at least ENV_PAD_MIN: its
 * tag, its length, zeros).
 */
#define ENV_PAD_MIN 3
void env_pad_fill(uint8_t *p, size_t gap);
/*
 * The last occurrence of varint field `field` of a message, without decoding
 * it: 1 with *v, 0 when absent, STP_EPARSE when the message is broken or the
 * field has another wire type (protobuf-c would refuse it too).
 */
int env_find_varint(const uint8_t *buf, size_t len, uint32_t field, uint64_t *v);
/*
 * Does repeated uint32 field `field` (packed or not) hold x?  1, 0, or
 * STP_EPARSE.
 */
int env_has_uint(const uint8_t *buf, size_t len, uint32_t field, uint32_t x);
/*
 * Where a trailing Record.padding field starts in a record's plaintext: its
 * offset when the last top-level field is one, else len (also when the
 * encoding is broken: the full decoder then decides).
 */
size_t env_pad_find(const uint8_t *buf, size_t len);

int env_find_bytes(const uint8_t *buf, size_t len, uint32_t field,
    const uint8_t **val, size_t *val_len);

/*
 * The hot path: encode Record{seq, time_ms, data: StreamData{stream_id, data}}
 * straight into out, byte-identical to what protobuf-c would produce.
 * data_len must be <= STP_MAX_DATA.  Returns the length or STP_ETOOBIG.
 * env_data_record_len() is that length.  data and out must not overlap,
 * except that data may already sit where the encoding puts it
 * (out + env_data_record_len(...) - data_len), which saves the copy.
 */
size_t env_data_record_len(uint64_t seq, uint64_t time_ms, uint32_t stream_id,
    size_t data_len);
int env_encode_data_record(uint8_t *out, size_t cap, uint64_t seq,
    uint64_t time_ms, uint32_t stream_id, const uint8_t *data, size_t data_len);

/*
 * The inverse, for the receive path: if buf is exactly the canonical
 * encoding env_encode_data_record produces (no padding, no signature, no
 * unknown field), return 1 with the values, *data pointing into buf (NULL
 * when empty).  Anything else returns 0 and must go through env_unpack,
 * which accepts every valid encoding: this never decides differently from
 * protobuf-c, it only spares the copy.  Never reads outside buf.
 */
int env_decode_data_record(const uint8_t *buf, size_t len, uint64_t *seq,
    uint64_t *time_ms, uint32_t *stream_id, const uint8_t **data,
    size_t *data_len);

#endif
