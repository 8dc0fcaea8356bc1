/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wordlist.c: the fingerprint word list.  See wordlist.h.
 *
 * The words are in alphabetical order, so byte value i is the i-th word.
 * tests/unit/test_identity.c checks the size, alphabet, lengths, order,
 * uniqueness and four-letter prefixes, and that proto/wordlist.txt, the
 * spec's copy, holds the same words in the same order.
 */
#include "wordlist.h"

static const char *const words[WORDLIST_SIZE] = {
	"acorn", "actor", "album", "amber", "anchor", "apple", "apron", "arrow",
	"atlas", "attic", "autumn", "badge", "bagel", "bamboo", "banana",
	"basket", "beach", "beaver", "bench", "bicycle", "blanket", "bottle",
	"breeze", "brick", "bridge", "bubble", "bucket", "buffalo", "cabin",
	"cactus", "camel", "candle", "canyon", "carpet", "castle", "cherry",
	"chimney", "circus", "clock", "cloud", "comet", "cookie", "copper",
	"cotton", "crayon", "cricket", "crown", "crystal", "cupcake", "daisy",
	"dancer", "diamond", "dinner", "doctor", "dolphin", "donkey", "dragon",
	"drum", "dune", "eagle", "earth", "echo", "eclipse", "elbow", "emerald",
	"engine", "fabric", "falcon", "farmer", "feather", "ferry", "fiddle",
	"finger", "flame", "flute", "forest", "fossil", "fox", "frog", "galaxy",
	"garden", "garlic", "giant", "ginger", "giraffe", "glacier", "glove",
	"goat", "gorilla", "grape", "gravel", "guitar", "hammer", "harbor",
	"harvest", "hazel", "helmet", "hockey", "honey", "hornet", "hotel",
	"hunter", "iceberg", "igloo", "insect", "island", "ivory", "jacket",
	"jaguar", "jasmine", "jelly", "jewel", "jigsaw", "journal", "judge",
	"jungle", "juniper", "kayak", "kettle", "kingdom", "kitten", "kiwi",
	"koala", "ladder", "lagoon", "lamp", "lantern", "laptop", "lemon",
	"leopard", "letter", "lion", "lizard", "lobster", "locket", "magic",
	"magnet", "mango", "maple", "marble", "meadow", "melon", "meteor",
	"mirror", "monkey", "motor", "muffin", "museum", "napkin", "needle",
	"nickel", "noodle", "north", "novel", "nutmeg", "oasis", "ocean",
	"octopus", "office", "olive", "onion", "orange", "orbit", "orchid",
	"ostrich", "otter", "owl", "oyster", "paddle", "palace", "panda",
	"parrot", "pasta", "peanut", "pencil", "penguin", "pepper", "piano",
	"pickle", "pigeon", "pillow", "pilot", "pirate", "planet", "pocket",
	"potato", "pretzel", "pumpkin", "puzzle", "quartz", "queen", "quilt",
	"rabbit", "raccoon", "radio", "rainbow", "raven", "ribbon", "river",
	"robot", "rocket", "rooster", "saddle", "salmon", "sandal", "scarf",
	"shadow", "shark", "sheep", "shovel", "silver", "skate", "sofa",
	"spider", "spoon", "statue", "sugar", "summer", "sweater", "table",
	"taxi", "teapot", "tent", "tiger", "timber", "toast", "tomato",
	"tornado", "tractor", "trumpet", "tulip", "tunnel", "turtle", "uncle",
	"unicorn", "valley", "vanilla", "velvet", "violin", "volcano",
	"vulture", "wagon", "wallet", "walnut", "walrus", "whale", "whistle",
	"window", "winter", "wizard", "wolf", "yacht", "yellow", "yogurt",
	"zebra", "zipper",
};

const char *
wordlist_word(uint8_t i)
{
	return words[i];
}
