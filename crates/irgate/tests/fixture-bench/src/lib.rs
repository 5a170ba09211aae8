//! Work functions measured by the fixture benchmark.

/// Iterations of the main loop, fixed at build time (`IRGATE_FIXTURE_WORK`).
pub const WORK: &str = match option_env!("IRGATE_FIXTURE_WORK") {
    Some(w) => w,
    None => "10000",
};

/// Number of loop iterations the `scaled` benchmark performs.
pub fn work() -> u64 {
    WORK.parse().unwrap_or(10_000)
}

/// A loop whose cost is proportional to `n`.
pub fn mix(n: u64) -> u64 {
    let mut acc = 0x9e37_79b9_7f4a_7c15_u64;
    for i in 0..n {
        acc = std::hint::black_box(acc.rotate_left(5) ^ i.wrapping_mul(0x0100_0000_01b3));
    }
    acc
}

/// Copies a buffer: goes through glibc's memcpy, whose variant depends on the CPU and
/// on `GLIBC_TUNABLES`.
pub fn copy(len: usize) -> usize {
    let src = vec![7u8; len];
    let dst = std::hint::black_box(&src).clone();
    dst.len()
}

/// Naive Fibonacci: fixed work independent of the build-time knob.
pub fn fib(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// Seconds since the instant the entropy preload pins the clock to
/// (1,700,000,000 s after the epoch), capped at 10,000: 0 under the preload, the cap
/// without it. The `entropy/clock` benchmark loops that many times, so its count
/// shows whether the preload reached the measured process.
pub fn since_pinned_epoch() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    now.saturating_sub(1_700_000_000).min(10_000)
}
