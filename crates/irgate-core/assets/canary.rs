//! The calibration workload ("canary") of `irgate bench`.
//!
//! Built from this one file with `rustc` (no dependencies) and run under the same
//! valgrind, GLIBC_TUNABLES and preload as the benchmarks. Each `canary_*` function
//! is one part; its inclusive Ir is recorded in the run's fingerprint. The parts
//! exercise what the environment can change under unchanged code: glibc's string and
//! memory routines (chosen per CPU by ifunc, over a spread of sizes and alignments),
//! the allocator, std's HashMap with its default (randomly seeded) hasher, and float
//! formatting. When every part keeps its count, the environment moves no count that
//! these paths could see.

use std::collections::HashMap;
use std::ffi::c_char;
use std::hint::black_box;

extern "C" {
    fn strlen(s: *const c_char) -> usize;
    fn memchr(s: *const u8, c: i32, n: usize) -> *const u8;
    fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32;
}

/// Sizes that cross every threshold glibc's variants care about: below one vector,
/// around 16/32/64 bytes, a few KiB, beyond a page, and a large block.
const SIZES: [usize; 12] = [1, 7, 16, 31, 64, 100, 255, 1024, 4099, 16384, 65536, 262_144];
/// Misalignments of source and destination.
const OFFSETS: [usize; 3] = [0, 1, 13];

#[no_mangle]
#[inline(never)]
pub fn canary_memcpy(src: &[u8], dst: &mut [u8]) -> u64 {
    let mut sum = 0u64;
    for &n in &SIZES {
        for &o in &OFFSETS {
            dst[o..o + n].copy_from_slice(&src[(o * 3) % 17..(o * 3) % 17 + n]);
            sum += u64::from(dst[o + n - 1]);
        }
    }
    // Overlapping moves (memmove), forwards and backwards.
    for &n in &SIZES[..9] {
        dst.copy_within(0..n, 5);
        dst.copy_within(5..5 + n, 0);
    }
    sum
}

#[no_mangle]
#[inline(never)]
pub fn canary_memset(dst: &mut [u8]) -> u64 {
    let mut sum = 0u64;
    for &n in &SIZES {
        for &o in &OFFSETS {
            dst[o..o + n].fill((n % 251) as u8);
            sum += u64::from(dst[o]);
        }
    }
    sum
}

#[no_mangle]
#[inline(never)]
pub fn canary_memcmp(a: &[u8], b: &[u8]) -> u64 {
    let mut sum = 0u64;
    for &n in &SIZES {
        for &o in &OFFSETS {
            // SAFETY: both ranges lie inside the slices (see `main`).
            let r = unsafe { memcmp(a[o..].as_ptr(), b[o..].as_ptr(), n) };
            sum += u64::from(r.unsigned_abs());
        }
    }
    sum
}

#[no_mangle]
#[inline(never)]
pub fn canary_strlen(text: &[u8]) -> u64 {
    let mut sum = 0u64;
    for &n in &SIZES {
        for &o in &OFFSETS {
            // `text` holds a NUL at every offset `o + n` asked for (see `main`).
            let end = o + n;
            if text.get(end) == Some(&0) {
                // SAFETY: a NUL terminates the string inside the slice.
                sum += unsafe { strlen(text[o..].as_ptr().cast()) } as u64;
            }
        }
    }
    sum
}

#[no_mangle]
#[inline(never)]
pub fn canary_memchr(hay: &[u8]) -> u64 {
    let mut sum = 0u64;
    for &n in &SIZES {
        for &o in &OFFSETS {
            // SAFETY: the range lies inside the slice.
            let p = unsafe { memchr(hay[o..].as_ptr(), 0xfe, n) };
            sum += u64::from(!p.is_null());
        }
    }
    sum
}

#[no_mangle]
#[inline(never)]
pub fn canary_alloc() -> u64 {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let mut sum = 0u64;
    for i in 0..400usize {
        let n = 8 + (i * 37) % 3000;
        let v = vec![i as u8; n];
        sum += v.len() as u64;
        if i % 3 == 0 {
            kept.push(v);
        }
        if i % 7 == 0 && !kept.is_empty() {
            kept.swap_remove(i % kept.len());
        }
    }
    let mut s = String::new();
    for i in 0..200 {
        s.push_str(if i % 2 == 0 { "ab" } else { "cdefg" });
    }
    sum + s.len() as u64 + kept.len() as u64
}

#[no_mangle]
#[inline(never)]
pub fn canary_hashmap() -> u64 {
    let mut m: HashMap<String, usize> = HashMap::new();
    for i in 0..500usize {
        m.insert(format!("key{i}"), i);
    }
    let mut sum = 0u64;
    for i in (0..500usize).step_by(3) {
        sum += *m.get(&format!("key{i}")).unwrap_or(&0) as u64;
    }
    sum
}

#[no_mangle]
#[inline(never)]
pub fn canary_float_format() -> u64 {
    let mut sum = 0u64;
    let mut x = 0.1f64;
    for i in 0..200 {
        x = x * 1.618_033_988_75 + f64::from(i) / 7.0;
        sum += format!("{x}").len() as u64 + format!("{:.3e}", x / 3.0).len() as u64;
    }
    sum
}

fn main() {
    let mut src = vec![0u8; 262_144 + 64];
    for (i, b) in src.iter_mut().enumerate() {
        *b = (i * 131 % 251) as u8;
    }
    let mut dst = vec![0u8; 262_144 + 64];
    let mut text = vec![b'x'; 262_144 + 64];
    for &n in &SIZES {
        for &o in &OFFSETS {
            text[o + n] = 0;
        }
    }
    let mut total = 0u64;
    total += canary_memcpy(black_box(&src), black_box(&mut dst));
    total += canary_memset(black_box(&mut dst));
    total += canary_memcmp(black_box(&src), black_box(&dst));
    total += canary_strlen(black_box(&text));
    total += canary_memchr(black_box(&src));
    total += canary_alloc();
    total += canary_hashmap();
    total += canary_float_format();
    println!("{}", black_box(total));
}
