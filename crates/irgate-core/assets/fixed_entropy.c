/*
 * Preload library for the instruction-count benchmarks: `irgate bench` builds it
 * with cc, once per source hash, and hands it to every benchmark process.
 *
 * Inside the measured process it replaces two sources of run-to-run variation
 * with constants:
 *   - getrandom(): Rust's std HashMap seeds its SipHash keys from it (the Fusabi
 *     VM keeps globals and records in std HashMaps), and so do ahash-based maps.
 *     Random keys change which buckets collide, and so the instruction count.
 *   - time(): Lua 5.4 mixes time(NULL) into its string-hash seed.
 *   - clock_gettime(): Instant::now() reads it; the host's metrics record the
 *     durations in histograms, whose code paths depend on the values. Here every
 *     call returns a clock that advances by exactly 1 microsecond per call.
 * With these fixed, a benchmark executes the same instructions on every run.
 * Never use this outside benchmarks: it removes all randomness from getrandom()
 * and all meaning from the clocks.
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

int clock_gettime(clockid_t clock, struct timespec *ts)
{
    static unsigned long long calls;
    unsigned long long n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    (void)clock;
    ts->tv_sec = 1700000000 + (time_t)(n / 1000000ull);
    ts->tv_nsec = (long)((n % 1000000ull) * 1000ull);
    return 0;
}

time_t time(time_t *out)
{
    const time_t fixed = 1700000000; /* 2023-11-14T22:13:20Z */
    if (out != NULL)
        *out = fixed;
    return fixed;
}
