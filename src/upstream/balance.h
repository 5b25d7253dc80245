/* Which server of a backend takes the next exchange (backends: balance:). */
#ifndef CERTGATE_UPSTREAM_BALANCE_H
#define CERTGATE_UPSTREAM_BALANCE_H

#include <stddef.h>

struct rt_backend;

/* The index of the server for a new exchange, never <avoid> (-1: any): round_robin walks the
 * weighted schedule, least_conn takes the fewest exchanges in flight per weight. Servers the
 * probes found down or that are not resolved yet are skipped; servers passively ejected are
 * used only when every other is ejected too (an ejection is a guess, a probe is a fact).
 * Returns -1 with a sentence in <why> when no server can take it. */
int balance_pick(struct rt_backend *b, int avoid, char *why, size_t whylen);

#endif
