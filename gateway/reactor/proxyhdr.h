/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proxyhdr.h: the PROXY protocol header (HAProxy's "PROXY protocol",
 * versions 1 and 2) that a gateway may write first on the TCP connection it
 * opens to a service, so that the service sees the address of the client
 * that opened the stream at the other gateway instead of ours.  Encoding
 * only: no socket, no loop, no allocation; the caller writes the bytes.
 *
 * Version 1 is one line of text:
 *
 *	"PROXY TCP4 " src " " dst " " sport " " dport "\r\n"
 *
 * ("TCP6" for IPv6, addresses as inet_ntop prints them: dotted quads, or
 * RFC 5952's compressed form; ports in decimal), or "PROXY UNKNOWN\r\n" when
 * an address is unknown.  Version 2 is binary:
 *
 *	12 bytes  signature 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A
 *	 1 byte   0x21: version 2 (high nibble), command PROXY (low nibble)
 *	 1 byte   family and transport: 0x11 TCP over IPv4, 0x21 TCP over
 *	          IPv6, 0x00 unspecified (the receiver keeps the connection's
 *	          own addresses)
 *	 2 bytes  big-endian length of everything that follows
 *	          TCP4: src ip (4), dst ip (4), src port (2), dst port (2)
 *	          TCP6: src ip (16), dst ip (16), src port (2), dst port (2)
 *	          UNSPEC: nothing
 *	 then     TLVs: type (1), big-endian length (2), value
 *
 * Ports travel big-endian.  When one address is IPv4 and the other IPv6,
 * both versions write TCP6 with the IPv4 one as an IPv4-mapped address
 * (::ffff:a.b.c.d); an IPv6 address that is IPv4-mapped stays IPv6.  When
 * either address is unknown, no address is written at all.
 *
 * Version 2 carries who the stream came from, as TLVs in the range the
 * specification leaves to applications (0xE0..0xEF, PP2_TYPE_MIN_CUSTOM to
 * PP2_TYPE_MAX_CUSTOM): types there are never assigned by the specification,
 * so no receiver mistakes ours for a standard TLV (ALPN, SSL, NETNS, ...),
 * and receivers that do not know them skip them by their length:
 *
 *	PROXYHDR_TLV_STP_PEER (0xE0)  the peer's name in the config of the
 *	    gateway that writes the header (the one the service sits behind):
 *	    1..63 bytes of [A-Za-z0-9_.-], no terminator
 *	PROXYHDR_TLV_STP_KEY (0xE1)   the Ed25519 public key that peer
 *	    authenticated with, as its text "stp1:..." (ASCII, 53 bytes today;
 *	    see identity.h), no terminator
 *
 * Both are facts the gateway has checked (the handshake proved the key, the
 * peer map named it), so a service may use them to authorise; it must then
 * accept PROXY headers only from the gateway's address.
 */
#ifndef STP_PROXYHDR_H
#define STP_PROXYHDR_H

#include <stddef.h>
#include <stdint.h>

#define PROXYHDR_TLV_STP_PEER 0xE0
#define PROXYHDR_TLV_STP_KEY 0xE1

#define PROXYHDR_PEER_MAX 63    /* bytes of a peer name */
#define PROXYHDR_KEY_MAX 128    /* bytes of key text PROXYHDR_V2_MAX allows for */

/*
 * The specification's bound on a v1 line: 107 bytes with the CRLF, plus the
 * NUL we add (our longest, TCP6 with two 39-character addresses, is 104).
 */
#define PROXYHDR_V1_MAX 108
/* Signature, version, family, length. */
#define PROXYHDR_V2_HEAD 16
/* The longest v2 header: TCP6, a 63-byte peer name and a 128-byte key text (249). */
#define PROXYHDR_V2_MAX (PROXYHDR_V2_HEAD + 36 + 3 + PROXYHDR_PEER_MAX + \
	3 + PROXYHDR_KEY_MAX)

/*
 * An address as the stream open carried it: family AF_INET (ip[0..4)),
 * AF_INET6 (ip[0..16)), or AF_UNSPEC for unknown (any other family is taken
 * as unknown too).  ip in network order, port in host order.
 */
typedef struct proxyhdr_addr {
	int family;
	uint8_t ip[16];
	uint16_t port;
} proxyhdr_addr;

/*
 * The v1 line for a stream from src to dst, followed by a NUL, into out:
 * the line's length (the NUL not counted), or -1 when out's len bytes cannot
 * hold line and NUL (PROXYHDR_V1_MAX always can).  Nothing is written to out
 * on failure.
 */
int proxyhdr_v1(const proxyhdr_addr *src, const proxyhdr_addr *dst, char *out,
    size_t len);

/*
 * The v2 header (command PROXY, transport STREAM) for a stream from src to
 * dst, then TLV PROXYHDR_TLV_STP_PEER holding peer if peer is not NULL, then
 * TLV PROXYHDR_TLV_STP_KEY holding key if key is not NULL (both
 * NUL-terminated; the NUL is not sent).  Its length, or -1 when out's len
 * bytes cannot hold it, when peer is not 1..PROXYHDR_PEER_MAX bytes of
 * [A-Za-z0-9_.-], or when the header would pass the 65535 bytes its length
 * field can count after the head.  PROXYHDR_V2_MAX bytes always suffice
 * when key is at most PROXYHDR_KEY_MAX bytes.  Nothing is written to out on
 * failure.
 */
int proxyhdr_v2(const proxyhdr_addr *src, const proxyhdr_addr *dst,
    const char *peer, const char *key, uint8_t *out, size_t len);

#endif
