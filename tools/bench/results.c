/* results.c: see results.h. */
#include "results.h"

const size_t payload_sizes[NPAYLOADS] = {256, 4096};
const unsigned producer_counts[NPRODUCERS] = {1, 4, 64};
const size_t batch_sizes[NBATCHES] = {1, 100, 1000};
const unsigned consumer_counts[NCONSUMERS] = {1, 4};
const bench_pull_mode pull_modes[NPULL_MODES] = {BENCH_PULL_THEN_ACK, BENCH_ACK_WITH_NEXT_PULL};
const char *const pull_mode_names[NPULL_MODES] = {"pull, then ack", "ack with the next pull"};
