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
