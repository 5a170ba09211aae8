/*
 * Preload library for the instruction-count benchmarks (see ci/bench).
 *
 * Inside the measured process it replaces two sources of run-to-run variation
 * with constants:
 *   - getrandom(): Rust's std HashMap seeds its SipHash keys from it (the Fusabi
 *     VM keeps globals and records in std HashMaps), and so do ahash-based maps.
 *     Random keys change which buckets collide, and so the instruction count.
 *   - time(): Lua 5.4 mixes time(NULL) into its string-hash seed.
 * With both fixed, a benchmark executes the same instructions on every run.
 * Never use this outside benchmarks: it removes all randomness from getrandom().
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    unsigned char *p = buf;
    (void)flags;
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(0x5a ^ (i * 31u));
    return (ssize_t)len;
}

time_t time(time_t *out)
{
    const time_t fixed = 1700000000; /* 2023-11-14T22:13:20Z */
    if (out != NULL)
        *out = fixed;
    return fixed;
}
