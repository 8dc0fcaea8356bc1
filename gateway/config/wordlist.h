/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wordlist.h: the 256 words that spell key fingerprints (see identity.h).
 *
 * Each byte value 0..255 names one word.  The list was written for this
 * project: common lowercase English words of 3 to 7 letters, easy to say over
 * a phone, no two sounding alike, and no two sharing their first four letters
 * (so four typed letters identify a word).  The order is part of the
 * fingerprint format: changing a word changes every fingerprint.
 */
#ifndef STP_WORDLIST_H
#define STP_WORDLIST_H

#include <stdint.h>

#define WORDLIST_SIZE 256
#define WORDLIST_MAXLEN 7   /* letters in the longest word */

/* The word for byte value i (a static string). */
const char *wordlist_word(uint8_t i);

#endif
