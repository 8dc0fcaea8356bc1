/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hchacha20.h: HChaCha20 (draft-irtf-cfrg-xchacha-03 section 2.2), written
 * here because OpenSSL does not export it.  Runs on secrets; constant time.
 */
#ifndef STP_HCHACHA20_H
#define STP_HCHACHA20_H

#include <stdint.h>

/* out = HChaCha20(key, in): 20 ChaCha rounds, no feed-forward, words 0-3 and 12-15. */
void hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t in[16]);

#endif
