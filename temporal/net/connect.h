/*
 * connect: turns envconfig (config/envconfig.h) into a gRPC channel to Temporal. Applies the
 * rules that join the two: host:port split, TLS settings, the `temporal-namespace`, API key and
 * TEMPORAL_GRPC_META_* headers, and a warning when an API key would travel in plaintext (only
 * possible when TLS was disabled explicitly).
 */
#ifndef TW_CONNECT_H
#define TW_CONNECT_H

#include <stddef.h>

#include "temporal/config/envconfig.h"
#include "temporal/net/grpc.h"

/* Splits "host:port" or "[v6]:port". Returns 0, or -1 when malformed. */
int conn_split_address(const char *address, char *host, size_t hostlen, int *port);

/* Opens a channel (it connects on its first call). Returns 0 or a negative value with |err|. */
int conn_channel_open(const conn_config *cc, grpc_channel **out, char *err, size_t errlen);

#endif
