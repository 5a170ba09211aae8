//! Fixture benchmarks for irgate's end-to-end test.
use std::hint::black_box;

use gungraun::prelude::*;
use irgate_fixture_bench::{copy, fib, mix, since_pinned_epoch, work};

#[library_benchmark]
fn scaled() -> u64 {
    black_box(mix(black_box(work())))
}

#[library_benchmark]
#[bench::small(12)]
#[bench::large(18)]
fn fibonacci(n: u64) -> u64 {
    black_box(fib(black_box(n)))
}

#[library_benchmark]
fn clone_64k() -> usize {
    black_box(copy(black_box(65_536)))
}

#[library_benchmark]
fn clock() -> u64 {
    black_box(mix(black_box(since_pinned_epoch())))
}

library_benchmark_group!(name = compute, benchmarks = [scaled, fibonacci]);
library_benchmark_group!(name = entropy, benchmarks = [clock]);
library_benchmark_group!(name = memory, benchmarks = [clone_64k]);

// No pinning in the source: `irgate bench` passes GLIBC_TUNABLES and the preload
// to the measured process itself.
main!(library_benchmark_groups = compute, entropy, memory);
