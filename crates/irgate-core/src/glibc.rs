//! Pinning glibc's choice of string, memory and libm routines on x86-64.
//!
//! (This file is long because it is mostly data: one row per glibc release with the
//! hwcaps its selectors test, each citing the glibc sources it was read from.)
//!
//! # Why
//!
//! glibc ships several implementations of `memcpy`, `memset`, `strlen`, `strcmp`, ... for
//! x86-64 (SSE2, SSSE3, SSE4.x, AVX2, EVEX/AVX-512, `rep movsb`/`rep stosb`) and picks one
//! per process when the library is loaded (GNU ifunc). Callgrind counts the instructions of
//! whichever one was picked, so the same benchmark reports different counts on different
//! CPUs. Setting `GLIBC_TUNABLES=glibc.cpu.hwcaps=-X,-Y,...` hides CPU features from those
//! selectors; hiding every feature a selector uses to leave the baseline makes every x86-64
//! machine take the same (SSE2 or generic C) routine. The SSE2 `memmove` still switches to
//! non-temporal stores above a size derived from the detected cache sizes, so the cache
//! tunables are pinned too ([`pinned_tunables`]).
//!
//! libm does the same for `exp`, `log`, `pow`, `sin`, `cos`, `tan`, `atan`, `atan2`, `asin`,
//! `acos`, `fma` and the float variants (FMA, FMA4, AVX and SSE2 builds) and for `floor`,
//! `ceil`, `rint`, `trunc`, `nearbyint` and `roundeven` (SSE4.1 or C). A Rust benchmark calling
//! `f64::exp`, `f64::sin`, `f64::ln`, `f64::mul_add`, ... goes through these selectors, so
//! they are pinned as well.
//!
//! # How the table was derived
//!
//! For every release 2.31 ..= 2.41 the selectors were read at the release tag *and* at the
//! head of the release branch (`release/2.NN/master`), because distributions build from
//! snapshots of that branch, which carry backported selectors (2.31 to 2.35 received the
//! EVEX and RTM variants that way). Per release:
//!
//! 1. every CPU feature or "preferred" bit tested by the string/memory selectors under
//!    `sysdeps/x86_64/multiarch` and by libm's scalar selectors under
//!    `sysdeps/x86_64/fpu/multiarch` (`ifunc-fma.h`, `ifunc-fma4.h`, `ifunc-avx-fma4.h`,
//!    `ifunc-sse4_1.h`, the `e_*.c`/`s_*.c` files including them, and `s_fma.c`/`s_fmaf.c`,
//!    which test FMA and FMA4 directly) was collected ([`tested_features`]);
//! 2. the names `glibc.cpu.hwcaps` accepts were read from `sysdeps/x86/cpu-tunables.c`;
//! 3. a name was kept in [`GlibcRow::hwcaps`] when the tunable can switch it off and a
//!    selector uses it to leave the baseline (switching it off moves toward SSE2);
//! 4. the cache tunables were read from `sysdeps/x86/dl-tunables.list` and the code that
//!    consumes them (`cacheinfo.c`, later `dl-cacheinfo.h`).
//!
//! For 2.36 the result was also checked on a Debian 2.36 host with AVX-512: with the pinned
//! value, `__libc_ifunc_impl_list` resolves every routine to its `sse2`/`generic` variant.
//! libm was checked under Callgrind (whose synthetic CPU offers AVX2 and FMA but hides
//! AVX-512 and XSAVEC): unpinned, `exp`, `log`, `sin`, `cos`, `tan`, `atan`, `atan2`, `asin`
//! and `pow` ran their `_fma` variants, `fma` ran `__fma_fma3` and `floor`, `ceil`, `rint`,
//! `trunc` their `_sse41` ones. The earlier string/memory-only value still left the first
//! seven on `_avx` and `fma` on `__fma_fma3`; the pinned value gives `_sse2` (`__fma_sse2`)
//! and `_c` throughout. Outside libm both values executed the same instruction counts per
//! function, apart from the tunable parser reading the longer string.
//!
//! Deliberately *not* switched off (switching them off is neutral or moves away from SSE2):
//! `SSE2` itself; `Fast_Unaligned_Copy` (when set, `memmove` skips its SSSE3 variant);
//! `Fast_Copy_Backward` (only chooses between two SSSE3 variants); `Prefer_No_VZEROUPPER`,
//! `Prefer_No_AVX512` and `Slow_SSE4_2` (when set they avoid AVX, AVX-512 or SSE4.2);
//! `Prefer_AVX2_STRCMP` (chooses AVX2 over EVEX). All of them only matter inside branches
//! that the switched-off names already close. `FSRM` is never tested by a selector (it only
//! tunes the `rep movsb` threshold of the ERMS variants) and no release accepts it in
//! `glibc.cpu.hwcaps` (glibc silently ignores unknown names); `Prefer_FSRM` is what the
//! `memmove` selector tests, and it is switched off.
//!
//! In libm, the `fma` variants of `exp`, `sin`, ... need AVX2 as well as FMA, so `-AVX2`
//! already closes them; FMA is still switched off for `fma`/`fmaf` (which test FMA alone) and
//! for 2.32's FMA4 bug (see its row). FMA4 (AMD Bulldozer family) and AVX open the `fma4` and
//! `avx` variants. libmvec (the `_ZGV*` vector entry points, `ifunc-mathvec-*.h`, which also
//! test AVX512DQ and `MathVec_Prefer_No_AVX512`) is not covered: only code vectorised for a
//! given ISA calls it.
//!
//! # Caveats
//!
//! * 2.36 introduced compile-time feature checks: a glibc built for x86-64-v2 or v3 (e.g.
//!   RHEL 9/10) treats the features of its build level as always present, so switching
//!   them off has no effect and the routines are those of that level, not SSE2. The choice
//!   is still CPU independent, but not the same as on a baseline build.
//! * 2.41 needs one name switched *on*: its `memset` selector takes an ERMS variant (with
//!   `rep stosb`) whenever `Avoid_Non_Temporal_Memset` is clear, which glibc does by default
//!   on Intel, AMD and Hygon ([`hwcaps_to_enable`]).
//! * From 2.40 (and the 2.39 release branch) on, libm's selectors are compiled out of a
//!   glibc built for x86-64-v3 (`exp`, `sin`, ...: always the FMA code) or v2 (`floor`,
//!   `ceil`, ...: always SSE4.1), like the string selectors of such builds. Before that, libm
//!   reads the plain usable bits, which the tunable does switch off, but the `sse2` and `c`
//!   variants are then built with that level's compiler flags. Either way the choice is CPU
//!   independent but not the baseline one.
//! * Only glibc's view of the CPU is changed. Code that runs CPUID itself (Rust's
//!   `is_x86_feature_detected!`, crates such as `memchr`) still dispatches on the real CPU.
//! * Switching off SSSE3/SSE4.x also stops ld.so from using `glibc-hwcaps/x86-64-v2`..`v4`
//!   library directories (2.33+), which keeps library selection equal across machines too.
//!
//! # Side effects of switching off AVX, FMA and FMA4
//!
//! ld.so applies the tunable in `init_cpu_features`, right after CPUID has been turned into
//! usable bits (`update_active`; `update_usable` in 2.32 and 2.33, `get_common_indices` in
//! 2.31) and before any other object is relocated, so all later choices see the switched-off
//! names. The lazy-binding trampoline (`_dl_runtime_resolve_xsavec`, `_xsave` or `_fxsave`)
//! and, from 2.40 and the 2.38/2.39 branches on, the TLS-descriptor slow path
//! (`_dl_tlsdesc_dynamic_*`) are chosen after the tunable too (`elf_machine_runtime_setup`,
//! later the end of `init_cpu_features`), but only from XSAVE/XSAVEC usability and the save
//! area size, which is read from CPUID leaf 0xd before the tunable. AVX, FMA and FMA4 touch
//! neither, so these choices are unchanged (and still differ between CPUs with and without
//! XSAVEC, pinned or not). Only the `LD_AUDIT`/`LD_PROFILE` trampoline tests AVX
//! (`_dl_runtime_profile_avx` becomes `_sse`). No string/memory selector of 2.36+ tests AVX;
//! 2.31 to 2.35's strcasecmp does and had it switched off already. Bits derived before the
//! tunable (FMA4 usability, `AVX_Fast_Unaligned_Load`, the ISA level that ELF ISA markers
//! are checked against) are not recomputed, which is why FMA4 and the preferred bits are
//! named explicitly; the `glibc-hwcaps` directory choice and the legacy `haswell` platform
//! are computed from the final bits and were already closed by SSSE3 and AVX2.
//!
//! # Cache tunables and bounds
//!
//! `x86_data_cache_size`, `x86_shared_cache_size` and `x86_non_temporal_threshold` exist in
//! every release; `x86_rep_movsb_threshold` and `x86_rep_stosb_threshold` from 2.32 on.
//! `dl-tunables.list` declares no bounds for the first three (type `SIZE_T`, 0 means
//! "detect"); `x86_rep_movsb_threshold` and `x86_rep_stosb_threshold` declare `minval: 1`
//! (and 2.32 declares `default: 2048` for both, later releases only for the stosb one). At
//! run time the cache sizes get bounds `[0, SIZE_MAX]`; the non-temporal threshold gets
//! `[0, SIZE_MAX]` in 2.33 to 2.35 and `[0x4040, SIZE_MAX >> 4]` from 2.36 on, and from 2.37
//! on a user value outside `(0x4040, SIZE_MAX >> 4]` is ignored. The `rep movsb` threshold
//! is only honoured above eight vector widths. The values pinned here lie inside all of
//! these; the two `rep` thresholds are not pinned because they only matter to the ERMS
//! variants, which are switched off.

use std::collections::BTreeSet;

/// A glibc release, as (major, minor).
pub type GlibcVersion = (u32, u32);

/// What one glibc release's x86-64 string/memory and libm ifunc selectors depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlibcRow {
    /// The release this row describes.
    pub version: GlibcVersion,
    /// glibc.cpu.hwcaps names to switch off, in a fixed (sorted) order.
    pub hwcaps: &'static [&'static str],
    /// Cache tunables this release knows (subset of the five above).
    pub cache_tunables: &'static [&'static str],
    /// Where each name was read: tag, release branch and files, e.g. "glibc-2.36 and
    /// release/2.36/master (...): sysdeps/x86_64/multiarch/ifunc-memmove.h, ...;
    /// sysdeps/x86/cpu-tunables.c, ...".
    pub source: &'static str,
    /// Caveats found while deriving the row ("" when none).
    pub note: &'static str,
}

const HWCAPS_TUNABLE: &str = "glibc.cpu.hwcaps";
const DATA: &str = "glibc.cpu.x86_data_cache_size";
const SHARED: &str = "glibc.cpu.x86_shared_cache_size";
const NON_TEMPORAL: &str = "glibc.cpu.x86_non_temporal_threshold";
const REP_MOVSB: &str = "glibc.cpu.x86_rep_movsb_threshold";
const REP_STOSB: &str = "glibc.cpu.x86_rep_stosb_threshold";

/// Pinned L1 data cache size: 32 KiB, a common L1d size and glibc's own fallback.
const PINNED_DATA_CACHE_SIZE: u64 = 32 * 1024;
/// Pinned shared (last-level) cache size: 1 MiB, glibc's own fallback.
const PINNED_SHARED_CACHE_SIZE: u64 = 1024 * 1024;
/// Pinned non-temporal threshold: 3/4 of the pinned shared cache. It is above the 0x4040
/// minimum that 2.36+ require and far below `SIZE_MAX >> 4`, so every release honours it.
const PINNED_NON_TEMPORAL_THRESHOLD: u64 = PINNED_SHARED_CACHE_SIZE / 4 * 3;

// The bounds found in the sources, checked at compile time: 2.37+ ignore a non-temporal
// threshold outside (0x4040, SIZE_MAX >> 4]; a cache size of 0 means "detect", and glibc
// rounds cache sizes down to a multiple of 256.
const _: () = assert!(
    PINNED_NON_TEMPORAL_THRESHOLD > 0x4040 && PINNED_NON_TEMPORAL_THRESHOLD <= u64::MAX >> 4
);
const _: () = assert!(PINNED_DATA_CACHE_SIZE > 0 && PINNED_DATA_CACHE_SIZE & 0xff == 0);
const _: () = assert!(PINNED_SHARED_CACHE_SIZE > 0 && PINNED_SHARED_CACHE_SIZE & 0xff == 0);

const CACHE_2_31: &[&str] = &[DATA, SHARED, NON_TEMPORAL];
const CACHE_2_32_ON: &[&str] = &[DATA, SHARED, NON_TEMPORAL, REP_MOVSB, REP_STOSB];

const HW_2_31: &[&str] = &[
    "AVX2_Usable",
    "AVX512F_Usable",
    "AVX_Fast_Unaligned_Load",
    "AVX_Usable",
    "BMI2",
    "ERMS",
    "FMA4_Usable",
    "FMA_Usable",
    "Fast_Unaligned_Load",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
];
const HW_2_32: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Unaligned_Load",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
];
const HW_2_33_TO_2_35: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512DQ",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI1",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Unaligned_Load",
    "LZCNT",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
];
const HW_2_36_TO_2_39: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512DQ",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI1",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Unaligned_Load",
    "LZCNT",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
];
const HW_2_40_ON: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI1",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Unaligned_Load",
    "LZCNT",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
];

/// One row per release 2.31..=2.41, ascending.
pub const TABLE: &[GlibcRow] = &[
    GlibcRow {
        version: (2, 31),
        hwcaps: HW_2_31,
        cache_tunables: CACHE_2_31,
        source: "glibc-2.31 and release/2.31/master (f18446d7b4): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-memcmp.h, ifunc-memmove.h, ifunc-memset.h, ifunc-sse4_2.h, \
ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, \
strncmp.c, strstr.c, wcscpy.c, wcsnlen.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, \
cacheinfo.c, dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2f.c, e_logf.c, e_pow.c, \
e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, \
s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, s_sin.c, s_sincosf.c, s_sinf.c, s_tan.c, \
s_trunc.c, s_truncf.c; sysdeps/x86_64/dl-machine.h",
        note: "The selectors read the derived AVX_Usable, AVX2_Usable and AVX512F_Usable bits, \
which are computed before the tunable is applied, so -AVX, -AVX2 and -AVX512F would not reach \
them; the *_Usable names are switched off instead. The release branch also tests \
AVX512VL_Usable and AVX512BW_Usable, which this tunable cannot switch off; every such test is \
nested under AVX512F_Usable, AVX2_Usable or AVX_Fast_Unaligned_Load, so the choice is still \
pinned. CPU_OFF names (ERMS, SSSE3, ...) clear the CPUID bits the selectors read. \
sched_cpucount's POPCNT selector is not a string/memory one and is left alone. libm reads the \
derived FMA_Usable, FMA4_Usable, AVX_Usable and AVX2_Usable bits as well, so those are \
switched off; its SSE4_1 test (floor, ceil, rint, trunc, nearbyint) reads the CPUID bit.",
    },
    GlibcRow {
        version: (2, 32),
        hwcaps: HW_2_32,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.32 and release/2.32/master (1bc1832cfc): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-memcmp.h, ifunc-memmove.h, ifunc-memset.h, ifunc-sse4_2.h, \
ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, \
strncmp.c, strstr.c, wcscpy.c, wcsnlen.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, \
cacheinfo.c, dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2f.c, e_logf.c, e_pow.c, \
e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, \
s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, s_sin.c, s_sincosf.c, s_sinf.c, s_tan.c, \
s_trunc.c, s_truncf.c; sysdeps/x86_64/dl-machine.h",
        note: "AVX512BW, AVX512VL, BMI2 and RTM are tested only by the EVEX/RTM selectors \
backported to the release branch. sched_cpucount's POPCNT selector is not a string/memory one \
and is left alone. The tag's libm ifunc-fma4.h (asin, acos, pow) tests FMA where it means FMA4 \
(BZ #26534, fixed on the release branch): with only AVX2 off, an Intel CPU with FMA would run \
the fma4 variants, whose FMA4 instructions Intel CPUs lack. -FMA prevents that and is needed \
for fma/fmaf anyway.",
    },
    GlibcRow {
        version: (2, 33),
        hwcaps: HW_2_33_TO_2_35,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.33 and release/2.33/master (d210011f15): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memmove.h, ifunc-memset.h, ifunc-sse4_2.h, \
ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, \
strncmp.c, strstr.c, wcscpy.c, wcsnlen.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, \
dl-cacheinfo.h, dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2f.c, e_logf.c, e_pow.c, \
e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, \
s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, s_sin.c, s_sincosf.c, s_sinf.c, s_tan.c, \
s_trunc.c, s_truncf.c; sysdeps/x86_64/dl-machine.h",
        note: "AVX is tested only by the tag's strcasecmp selector; AVX512BW/DQ/VL, BMI1, BMI2, \
LZCNT and RTM only by the EVEX/RTM and AVX-512 strstr selectors backported to the release \
branch. sched_cpucount's POPCNT selector is not a string/memory one and is left alone. libm \
needs FMA and FMA4 too; its AVX test (ifunc-avx-fma4.h) is closed by -AVX.",
    },
    GlibcRow {
        version: (2, 34),
        hwcaps: HW_2_33_TO_2_35,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.34 and release/2.34/master (2b656ff94d): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memmove.h, ifunc-memset.h, ifunc-sse4_2.h, \
ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, \
strncmp.c, strstr.c, wcscpy.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, dl-cacheinfo.h, \
dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2f.c, e_logf.c, e_pow.c, \
e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, \
s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, s_roundeven.c, s_roundevenf.c, s_sin.c, \
s_sincosf.c, s_sinf.c, s_tan.c, s_trunc.c, s_truncf.c (release branch also e_log2.c, \
s_expm1.c, s_log1p.c); sysdeps/x86_64/dl-machine.h",
        note: "AVX is tested only by the tag's strcasecmp selector; AVX512DQ (strstr), BMI1 and \
LZCNT only on the release branch. The tag's Prefer_AVX2_STRCMP picks AVX2 over EVEX strcmp \
and is not switched off (not a step toward SSE2). libm needs FMA and FMA4 too; its AVX test \
(ifunc-avx-fma4.h) is closed by -AVX. e_log2.c, s_expm1.c and s_log1p.c exist only on the \
release branch.",
    },
    GlibcRow {
        version: (2, 35),
        hwcaps: HW_2_33_TO_2_35,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.35 and release/2.35/master (bb59339d02): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memcmpeq.h, ifunc-memmove.h, \
ifunc-memset.h, ifunc-sse4_2.h, ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-wcslen.h, \
ifunc-wmemset.h, strchr.c, strcmp.c, strncmp.c, strstr.c, wcscpy.c; sysdeps/x86/\
cpu-tunables.c, cpu-features.c, dl-cacheinfo.h, dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2f.c, e_logf.c, e_pow.c, \
e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, \
s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, s_roundeven.c, s_roundevenf.c, s_sin.c, \
s_sincosf.c, s_sinf.c, s_tan.c, s_trunc.c, s_truncf.c (release branch also e_log2.c, \
s_expm1.c, s_log1p.c); sysdeps/x86_64/dl-machine.h",
        note: "AVX is tested only by the tag's strcasecmp selector; AVX512DQ (strstr), BMI1 and \
LZCNT only on the release branch. libm needs FMA and FMA4 too; its AVX test (ifunc-avx-fma4.h) \
is closed by -AVX. e_log2.c, s_expm1.c and s_log1p.c exist only on the release branch.",
    },
    GlibcRow {
        version: (2, 36),
        hwcaps: HW_2_36_TO_2_39,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.36 and release/2.36/master (e97cfe2293): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memcmpeq.h, ifunc-memmove.h, \
ifunc-memset.h, ifunc-sse4_2.h, ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-strncpy.h, \
ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, strncmp.c, strstr.c, wcscpy.c; \
sysdeps/x86/cpu-tunables.c, cpu-features.c, isa-level.h, dl-cacheinfo.h, dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2f.c, e_logf.c, e_pow.c, \
e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, \
s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, s_roundeven.c, s_roundevenf.c, s_sin.c, \
s_sincos.c, s_sincosf.c, s_sinf.c, s_tan.c, s_trunc.c, s_truncf.c (release branch also \
e_log2.c, s_expm1.c, s_log1p.c); sysdeps/x86_64/dl-machine.h",
        note: "First release with compile-time ISA-level checks (see module docs). FSRM is not \
accepted by glibc.cpu.hwcaps (silently ignored) and no selector tests it; Prefer_FSRM is \
switched off instead. BMI1 and LZCNT are tested only on the release branch. The \
non-temporal threshold gets bounds [0x4040, SIZE_MAX>>4] but a user value is not checked \
against them. Without -Fast_Unaligned_Load, strcmp/strcpy/stpcpy/strcat/strstr differ \
between Intel (sse2_unaligned) and AMD Zen (sse2/generic). The tag's wmemset selector tests \
AVX_Fast_Unaligned_Load inverted (fixed on the release branch); harmless once AVX2 is off. AVX \
is switched off only for libm's ifunc-avx-fma4.h (exp, log, sin, cos, tan, atan, atan2); no \
string/memory selector of this release tests it. e_log2.c, s_expm1.c and s_log1p.c exist only \
on the release branch.",
    },
    GlibcRow {
        version: (2, 37),
        hwcaps: HW_2_36_TO_2_39,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.37 and release/2.37/master (ff2b172803): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memcmpeq.h, ifunc-memmove.h, \
ifunc-memset.h, ifunc-sse4_2.h, ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-strncpy.h, \
ifunc-wcs.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, strncmp.c, strstr.c, \
wcscpy.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, isa-level.h, dl-cacheinfo.h, \
dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2f.c, e_logf.c, e_pow.c, \
e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, \
s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, s_roundeven.c, s_roundevenf.c, s_sin.c, \
s_sincos.c, s_sincosf.c, s_sinf.c, s_tan.c, s_trunc.c, s_truncf.c (release branch also \
e_log2.c, s_expm1.c, s_log1p.c); sysdeps/x86_64/dl-machine.h",
        note: "The tag's wmemset selector tests AVX_Fast_Unaligned_Load inverted \
(fixed on the release branch); harmless once AVX2 is off. AVX is switched off only for libm's \
ifunc-avx-fma4.h (exp, log, sin, cos, tan, atan, atan2); no string/memory selector of this \
release tests it. e_log2.c, s_expm1.c and s_log1p.c exist only on the release branch.",
    },
    GlibcRow {
        version: (2, 38),
        hwcaps: HW_2_36_TO_2_39,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.38 and release/2.38/master (d5409a1be0): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memcmpeq.h, ifunc-memmove.h, \
ifunc-memset.h, ifunc-sse4_2.h, ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-strncpy.h, \
ifunc-wcs.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, strncmp.c, strstr.c, \
wcscpy.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, isa-level.h, dl-cacheinfo.h, \
dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2f.c, e_logf.c, e_pow.c, \
e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, \
s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, s_roundeven.c, s_roundevenf.c, s_sin.c, \
s_sincos.c, s_sincosf.c, s_sinf.c, s_tan.c, s_trunc.c, s_truncf.c (release branch also \
e_log2.c, s_expm1.c, s_log1p.c); sysdeps/x86_64/dl-machine.h",
        note: "The tag's wmemset selector tests AVX_Fast_Unaligned_Load inverted \
(fixed on the release branch); harmless once AVX2 is off. AVX is switched off only for libm's \
ifunc-avx-fma4.h (exp, log, sin, cos, tan, atan, atan2); no string/memory selector of this \
release tests it. e_log2.c, s_expm1.c and s_log1p.c exist only on the release branch.",
    },
    GlibcRow {
        version: (2, 39),
        hwcaps: HW_2_36_TO_2_39,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.39 and release/2.39/master (ce65d944e3): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memcmpeq.h, ifunc-memmove.h, \
ifunc-memset.h, ifunc-sse4_2.h, ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-strncpy.h, \
ifunc-wcs.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, strncmp.c, strstr.c, \
wcscpy.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, isa-level.h, dl-cacheinfo.h, \
dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2.c, e_log2f.c, e_logf.c, \
e_pow.c, e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_expm1.c, s_floor.c, s_floorf.c, \
s_fma.c, s_fmaf.c, s_log1p.c, s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, \
s_roundeven.c, s_roundevenf.c, s_sin.c, s_sincos.c, s_sincosf.c, s_sinf.c, s_tan.c, s_trunc.c, \
s_truncf.c (release branch also e_atanh.c, e_sinh.c, s_tanh.c); sysdeps/x86_64/dl-machine.h",
        note: "The tag's wmemset selector tests AVX_Fast_Unaligned_Load inverted (fixed on the \
release branch); harmless once AVX2 is off. The release branch adds the \
x86_memset_non_temporal_threshold tunable and accepts Avoid_Non_Temporal_Memset, which no \
2.39 selector tests. AVX is switched off only for libm's ifunc-avx-fma4.h (exp, log, sin, cos, \
tan, atan, atan2); no string/memory selector of this release tests it. The release branch \
compiles libm's selectors out of x86-64-v2/v3 builds (see module docs).",
    },
    GlibcRow {
        version: (2, 40),
        hwcaps: HW_2_40_ON,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.40 and release/2.40/master (9fe8576664): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memcmpeq.h, ifunc-memmove.h, \
ifunc-memset.h, ifunc-sse4_2.h, ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-strncpy.h, \
ifunc-wcs.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, strncmp.c, strstr.c, \
wcscpy.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, isa-level.h, dl-cacheinfo.h, \
dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2.c, e_log2f.c, e_logf.c, \
e_pow.c, e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_expm1.c, s_floor.c, s_floorf.c, \
s_fma.c, s_fmaf.c, s_log1p.c, s_nearbyint.c, s_nearbyintf.c, s_rint.c, s_rintf.c, \
s_roundeven.c, s_roundevenf.c, s_sin.c, s_sincos.c, s_sincosf.c, s_sinf.c, s_tan.c, s_trunc.c, \
s_truncf.c (release branch also e_atanh.c, e_sinh.c, s_tanh.c); sysdeps/x86_64/dl-machine.h",
        note: "strstr lost its AVX-512 variant, so AVX512DQ is no longer tested. New \
x86_memset_non_temporal_threshold tunable, derived from the detected (not the pinned) \
non-temporal threshold; only the ERMS memset variants reach non-temporal stores, and they are \
switched off. The tag's wmemset selector tests AVX_Fast_Unaligned_Load inverted (fixed on \
the release branch); harmless once AVX2 is off. AVX is switched off only for libm's \
ifunc-avx-fma4.h (exp, log, sin, cos, tan, atan, atan2); no string/memory selector of this \
release tests it. libm's selectors are compiled out of x86-64-v2/v3 builds (see module docs).",
    },
    GlibcRow {
        version: (2, 41),
        hwcaps: HW_2_40_ON,
        cache_tunables: CACHE_2_32_ON,
        source: "glibc-2.41 and release/2.41/master (fb4db64a04): sysdeps/x86_64/multiarch/\
ifunc-avx2.h, ifunc-evex.h, ifunc-memcmp.h, ifunc-memcmpeq.h, ifunc-memmove.h, \
ifunc-memset.h, ifunc-sse4_2.h, ifunc-strcasecmp.h, ifunc-strcpy.h, ifunc-strncpy.h, \
ifunc-wcs.h, ifunc-wcslen.h, ifunc-wmemset.h, strchr.c, strcmp.c, strncmp.c, strstr.c, \
wcscpy.c; sysdeps/x86/cpu-tunables.c, cpu-features.c, isa-level.h, dl-cacheinfo.h, \
dl-tunables.list; \
sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h, ifunc-fma.h, ifunc-fma4.h, ifunc-sse4_1.h, \
e_asin.c, e_atan2.c, e_exp.c, e_exp2f.c, e_expf.c, e_log.c, e_log2.c, e_log2f.c, e_logf.c, \
e_pow.c, e_powf.c, s_atan.c, s_ceil.c, s_ceilf.c, s_cosf.c, s_exp10m1f.c, s_exp2m1f.c, \
s_expm1.c, s_floor.c, s_floorf.c, s_fma.c, s_fmaf.c, s_log1p.c, s_nearbyint.c, s_nearbyintf.c, \
s_rint.c, s_rintf.c, s_roundeven.c, s_roundevenf.c, s_sin.c, s_sincos.c, s_sincosf.c, \
s_sinf.c, s_tan.c, s_trunc.c, s_truncf.c (release branch also e_atanh.c, e_sinh.c, s_tanh.c); \
sysdeps/x86_64/dl-machine.h",
        note: "Switching names off is not enough: memset takes sse2_unaligned_erms when ERMS is \
usable OR Avoid_Non_Temporal_Memset is clear, and glibc clears that bit by default on Intel \
(except Skylake-server class), AMD and Hygon, giving rep stosb on Intel and a vector loop on \
AMD. The pinned value therefore also switches Avoid_Non_Temporal_Memset on (see \
hwcaps_to_enable). The tag's wmemset selector tests AVX_Fast_Unaligned_Load inverted (fixed \
on the release branch); harmless once AVX2 is off. AVX is switched off only for libm's \
ifunc-avx-fma4.h (exp, log, sin, cos, tan, atan, atan2); no string/memory selector of this \
release tests it. libm's selectors are compiled out of x86-64-v2/v3 builds (see module docs).",
    },
];

const TESTED_2_31: &[&str] = &[
    "AVX2_Usable",
    "AVX512BW_Usable",
    "AVX512F_Usable",
    "AVX512VL_Usable",
    "AVX_Fast_Unaligned_Load",
    "AVX_Usable",
    "BMI2",
    "ERMS",
    "FMA4_Usable",
    "FMA_Usable",
    "Fast_Copy_Backward",
    "Fast_Unaligned_Copy",
    "Fast_Unaligned_Load",
    "MOVBE",
    "Prefer_AVX2_STRCMP",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "Prefer_No_AVX512",
    "Prefer_No_VZEROUPPER",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
    "Slow_SSE4_2",
];
const TESTED_2_32: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Copy_Backward",
    "Fast_Unaligned_Copy",
    "Fast_Unaligned_Load",
    "MOVBE",
    "Prefer_AVX2_STRCMP",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "Prefer_No_AVX512",
    "Prefer_No_VZEROUPPER",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
    "Slow_SSE4_2",
];
const TESTED_2_33_2_35: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512DQ",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI1",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Copy_Backward",
    "Fast_Unaligned_Copy",
    "Fast_Unaligned_Load",
    "LZCNT",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "Prefer_No_AVX512",
    "Prefer_No_VZEROUPPER",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
    "Slow_SSE4_2",
];
const TESTED_2_34: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512DQ",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI1",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Copy_Backward",
    "Fast_Unaligned_Copy",
    "Fast_Unaligned_Load",
    "LZCNT",
    "MOVBE",
    "Prefer_AVX2_STRCMP",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "Prefer_No_AVX512",
    "Prefer_No_VZEROUPPER",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
    "Slow_SSE4_2",
];
const TESTED_2_36_2_39: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512DQ",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI1",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Unaligned_Copy",
    "Fast_Unaligned_Load",
    "LZCNT",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "Prefer_No_AVX512",
    "Prefer_No_VZEROUPPER",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
    "Slow_SSE4_2",
];
const TESTED_2_40: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "BMI1",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Unaligned_Copy",
    "Fast_Unaligned_Load",
    "LZCNT",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "Prefer_No_AVX512",
    "Prefer_No_VZEROUPPER",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
    "Slow_SSE4_2",
];
const TESTED_2_41: &[&str] = &[
    "AVX",
    "AVX2",
    "AVX512BW",
    "AVX512F",
    "AVX512VL",
    "AVX_Fast_Unaligned_Load",
    "Avoid_Non_Temporal_Memset",
    "BMI1",
    "BMI2",
    "ERMS",
    "FMA",
    "FMA4",
    "Fast_Unaligned_Copy",
    "Fast_Unaligned_Load",
    "LZCNT",
    "MOVBE",
    "Prefer_ERMS",
    "Prefer_FSRM",
    "Prefer_No_AVX512",
    "Prefer_No_VZEROUPPER",
    "RTM",
    "SSE4_1",
    "SSE4_2",
    "SSSE3",
    "Slow_BSF",
    "Slow_SSE4_2",
];

/// Per release: every name the string/memory and scalar libm selectors test (tag and
/// release-branch head, whether or not the tunable can switch it off), and the names to
/// switch on.
const SELECTOR_FACTS: &[(GlibcVersion, &[&str], &[&str])] = &[
    ((2, 31), TESTED_2_31, &[]),
    ((2, 32), TESTED_2_32, &[]),
    ((2, 33), TESTED_2_33_2_35, &[]),
    ((2, 34), TESTED_2_34, &[]),
    ((2, 35), TESTED_2_33_2_35, &[]),
    ((2, 36), TESTED_2_36_2_39, &[]),
    ((2, 37), TESTED_2_36_2_39, &[]),
    ((2, 38), TESTED_2_36_2_39, &[]),
    ((2, 39), TESTED_2_36_2_39, &[]),
    ((2, 40), TESTED_2_40, &[]),
    ((2, 41), TESTED_2_41, &["Avoid_Non_Temporal_Memset"]),
];

/// The row of `version`, if the table has it.
pub fn row(version: GlibcVersion) -> Option<&'static GlibcRow> {
    TABLE.iter().find(|r| r.version == version)
}

/// Every CPU feature or preferred-bit name that some x86-64 string/memory or scalar libm
/// selector of `version` tests (release tag and release-branch head), including names the
/// tunable cannot switch off; `None` for a version outside the table. [`effective_flags`] is built
/// on it.
pub fn tested_features(version: GlibcVersion) -> Option<&'static [&'static str]> {
    SELECTOR_FACTS
        .iter()
        .find(|(v, _, _)| *v == version)
        .map(|(_, tested, _)| *tested)
}

/// glibc.cpu.hwcaps names that must be switched *on* (written without `-`) to pin the
/// selectors of `version`: only 2.41's `Avoid_Non_Temporal_Memset` so far. Empty for other
/// versions and for versions outside the table. [`pinned_tunables`] appends them after the
/// `-NAME` entries.
pub fn hwcaps_to_enable(version: GlibcVersion) -> &'static [&'static str] {
    SELECTOR_FACTS
        .iter()
        .find(|(v, _, _)| *v == version)
        .map_or(&[], |(_, _, enable)| *enable)
}

/// Parses "glibc 2.36", "2.36", "GNU libc 2.36" and "2.36.1" into (2, 36); None otherwise.
///
/// The first word of the form `MAJOR.MINOR` wins; a trailing `.patch` or a distribution
/// suffix (`2.36-9+deb12u14`) and a `glibc-` prefix (the tag name) are accepted too.
pub fn parse_version(text: &str) -> Option<GlibcVersion> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';'))
        .filter(|word| !word.is_empty())
        .find_map(parse_version_word)
}

fn parse_version_word(word: &str) -> Option<GlibcVersion> {
    let word = word.strip_prefix("glibc-").unwrap_or(word);
    let (major, rest) = leading_number(word)?;
    let (minor, rest) = leading_number(rest.strip_prefix('.')?)?;
    match rest.chars().next() {
        None | Some('.' | '-' | '+' | '~' | '_') => Some((major, minor)),
        Some(_) => None,
    }
}

fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    let (digits, rest) = s.split_at(end);
    Some((digits.parse().ok()?, rest))
}

/// The pinned GLIBC_TUNABLES value for `version`: `glibc.cpu.hwcaps=-A,-B,...` (the row's
/// [`GlibcRow::hwcaps`], then the [`hwcaps_to_enable`] names without `-`, 2.41 only),
/// followed by `:glibc.cpu.x86_data_cache_size=32768`,
/// `:glibc.cpu.x86_shared_cache_size=1048576` and
/// `:glibc.cpu.x86_non_temporal_threshold=786432` for those of the three cache tunables the
/// row has. None for a version outside the table.
///
/// The three values lie inside the bounds of every release in the table (see the module
/// docs and the constants), so no release needs different ones.
pub fn pinned_tunables(version: GlibcVersion) -> Option<String> {
    let row = row(version)?;
    let entries: Vec<String> = row
        .hwcaps
        .iter()
        .map(|name| format!("-{name}"))
        .chain(
            hwcaps_to_enable(version)
                .iter()
                .map(|name| (*name).to_owned()),
        )
        .collect();
    let mut value = format!("{HWCAPS_TUNABLE}={}", entries.join(","));
    for (name, size) in [
        (DATA, PINNED_DATA_CACHE_SIZE),
        (SHARED, PINNED_SHARED_CACHE_SIZE),
        (NON_TEMPORAL, PINNED_NON_TEMPORAL_THRESHOLD),
    ] {
        if row.cache_tunables.contains(&name) {
            value.push_str(&format!(":{name}={size}"));
        }
    }
    Some(value)
}

/// The hwcaps names a GLIBC_TUNABLES value switches off (the `-NAME` entries of its
/// glibc.cpu.hwcaps item; other tunables and `NAME` without `-` are ignored), as glibc's
/// parser reads them (tunables separated by ':', names by ',').
///
/// Like glibc, an item without `=` is skipped, names are compared exactly (no trimming),
/// and when glibc.cpu.hwcaps appears more than once the last one counts.
pub fn disabled_hwcaps(tunables: &str) -> BTreeSet<String> {
    tunables
        .split(':')
        .filter_map(|item| item.split_once('='))
        .rfind(|(name, _)| *name == HWCAPS_TUNABLE)
        .map(|(_, value)| {
            value
                .split(',')
                .filter_map(|entry| entry.strip_prefix('-'))
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The /proc/cpuinfo flag name of a hwcaps CPU feature name (AVX2 -> "avx2", SSE4_1 ->
/// "sse4_1", LZCNT -> "abm", SSE3 -> "pni", HTT -> "ht"); None for preferred bits
/// (AVX_Fast_Unaligned_Load etc.) and for names with no cpuinfo flag (OSXSAVE, which Linux
/// hides).
///
/// Linux reports LZCNT as `abm` on Intel and AMD alike; there is no `lzcnt` flag. glibc
/// 2.31's derived `*_Usable` bits map to the flag of their feature (AVX2_Usable -> "avx2").
pub fn cpuinfo_flag(hwcap: &str) -> Option<&'static str> {
    let name = hwcap.strip_suffix("_Usable").unwrap_or(hwcap);
    let flag = match name {
        "SSE2" => "sse2",
        "SSE3" => "pni",
        "SSSE3" => "ssse3",
        "SSE4_1" => "sse4_1",
        "SSE4_2" => "sse4_2",
        "POPCNT" => "popcnt",
        "AVX" => "avx",
        "AVX2" => "avx2",
        "AVX512F" => "avx512f",
        "AVX512CD" => "avx512cd",
        "AVX512BW" => "avx512bw",
        "AVX512DQ" => "avx512dq",
        "AVX512VL" => "avx512vl",
        "AVX512ER" => "avx512er",
        "AVX512PF" => "avx512pf",
        "BMI1" => "bmi1",
        "BMI2" => "bmi2",
        "LZCNT" => "abm",
        "MOVBE" => "movbe",
        "RTM" => "rtm",
        "ERMS" => "erms",
        "FSRM" => "fsrm",
        "FMA" => "fma",
        "FMA4" => "fma4",
        "XSAVE" => "xsave",
        "XSAVEC" => "xsavec",
        "CMOV" => "cmov",
        "CX8" => "cx8",
        "HTT" => "ht",
        _ => return None,
    };
    Some(flag)
}

/// The effective CPU flags: the cpuinfo flags in `cpu_flags` (space separated) that some
/// string/memory or libm selector of `glibc` (the row of parse_version(glibc); when unknown,
/// the union over the whole TABLE) tests, minus those `tunables` switches off. Sorted,
/// space-separated, deduplicated. Two machines that differ only in features the tunables
/// switch off have the same effective flags.
///
/// A flag counts as switched off only when every tested name that maps to it is switched
/// off, so `-AVX2` does not hide `avx2` for 2.31, whose selectors read `AVX2_Usable`.
pub fn effective_flags(cpu_flags: &str, tunables: &str, glibc: Option<&str>) -> String {
    let disabled = disabled_hwcaps(tunables);
    let present: BTreeSet<&str> = cpu_flags.split_whitespace().collect();
    let tested: Vec<&'static str> = match glibc.and_then(parse_version).and_then(tested_features) {
        Some(names) => names.to_vec(),
        None => SELECTOR_FACTS
            .iter()
            .flat_map(|(_, names, _)| names.iter().copied())
            .collect(),
    };
    let effective: BTreeSet<&str> = tested
        .iter()
        .filter(|name| !disabled.contains(**name))
        .filter_map(|name| cpuinfo_flag(name))
        .filter(|flag| present.contains(flag))
        .collect();
    effective.into_iter().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    const AVX512_MACHINE: &str = "avx avx2 avx512bw avx512dq avx512f avx512vl bmi1 bmi2 erms \
fsrm lzcnt movbe popcnt rtm sse2 sse3 sse4_1 sse4_2 ssse3 xsave xsavec";
    const EPYC_MACHINE: &str =
        "avx avx2 bmi1 bmi2 erms fsrm lzcnt movbe popcnt rtm sse2 sse3 sse4_1 sse4_2 ssse3 xsave \
xsavec";

    #[test]
    fn table_covers_2_31_to_2_41_once_ascending() {
        let versions: Vec<GlibcVersion> = TABLE.iter().map(|r| r.version).collect();
        let expected: Vec<GlibcVersion> = (31..=41).map(|minor| (2, minor)).collect();
        assert_eq!(versions, expected);
        for r in TABLE {
            let tag = format!("glibc-{}.{}", r.version.0, r.version.1);
            assert!(
                r.source.contains(&tag),
                "{:?}: source must name {tag}",
                r.version
            );
            assert!(!r.hwcaps.is_empty());
        }
        let facts: Vec<GlibcVersion> = SELECTOR_FACTS.iter().map(|(v, _, _)| *v).collect();
        assert_eq!(facts, expected);
    }

    #[test]
    fn rows_are_sorted_consistent_and_exclude_unswitchable_names() {
        for r in TABLE {
            assert!(
                r.hwcaps.windows(2).all(|w| w[0] < w[1]),
                "{:?}: hwcaps not sorted/unique",
                r.version
            );
            let tested = tested_features(r.version).unwrap();
            assert!(tested.windows(2).all(|w| w[0] < w[1]));
            for name in r.hwcaps.iter().chain(hwcaps_to_enable(r.version)) {
                assert!(
                    tested.contains(name),
                    "{:?}: {name} is not tested",
                    r.version
                );
            }
            // SSE2 is the baseline; FSRM is accepted by no release's glibc.cpu.hwcaps.
            for name in [
                "SSE2",
                "FSRM",
                "Fast_Unaligned_Copy",
                "Prefer_No_VZEROUPPER",
            ] {
                assert!(!r.hwcaps.contains(&name), "{:?}: {name}", r.version);
            }
            for t in [DATA, SHARED, NON_TEMPORAL] {
                assert!(r.cache_tunables.contains(&t));
            }
            let has_rep = r.cache_tunables.contains(&REP_MOVSB);
            assert_eq!(has_rep, r.version >= (2, 32));
            assert_eq!(has_rep, r.cache_tunables.contains(&REP_STOSB));
        }
    }

    #[test]
    fn parse_version_cases() {
        for text in [
            "glibc 2.36",
            "2.36",
            "GNU libc 2.36",
            "2.36.1",
            "glibc-2.36",
            "ldd (Debian GLIBC 2.36-9+deb12u14) 2.36",
            "  2.36\n",
        ] {
            assert_eq!(parse_version(text), Some((2, 36)), "{text:?}");
        }
        assert_eq!(parse_version("glibc 2.41"), Some((2, 41)));
        for text in [
            "",
            "glibc",
            "2",
            "2.",
            ".36",
            "2.x",
            "v2.36",
            "2.36abc",
            "99999999999.1",
        ] {
            assert_eq!(parse_version(text), None, "{text:?}");
        }
    }

    #[test]
    fn versions_outside_the_table() {
        for v in [(2, 30), (2, 99)] {
            assert!(row(v).is_none());
            assert!(pinned_tunables(v).is_none());
            assert!(tested_features(v).is_none());
            assert!(hwcaps_to_enable(v).is_empty());
        }
        assert_eq!(row((2, 36)).unwrap().version, (2, 36));
    }

    #[test]
    fn pinned_2_36_switches_off_the_measured_set_and_round_trips() {
        let pinned = pinned_tunables((2, 36)).unwrap();
        let off = disabled_hwcaps(&pinned);
        // Measured on 2.36 earlier. FSRM from that list is not a name glibc.cpu.hwcaps knows
        // in any release (glibc ignores it); the selector tests Prefer_FSRM instead.
        for name in [
            "AVX2",
            "AVX512F",
            "AVX512VL",
            "AVX512BW",
            "ERMS",
            "Prefer_FSRM",
            "SSSE3",
            "SSE4_1",
            "SSE4_2",
            "AVX_Fast_Unaligned_Load",
            "Fast_Unaligned_Load",
            // libm: exp/log/sin/... (avx, fma4 variants), fma/fmaf (fma3, fma4 variants).
            "AVX",
            "FMA",
            "FMA4",
        ] {
            assert!(off.contains(name), "{name} missing from {pinned}");
        }
        assert!(!off.contains("FSRM"));
        let row_set: BTreeSet<String> = row((2, 36))
            .unwrap()
            .hwcaps
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(off, row_set);
        assert!(pinned.starts_with("glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512BW,"));
        assert!(pinned.contains(",-ERMS,-FMA,-FMA4,-Fast_Unaligned_Load,"));
        assert!(pinned.ends_with(
            ":glibc.cpu.x86_data_cache_size=32768:glibc.cpu.x86_shared_cache_size=1048576\
:glibc.cpu.x86_non_temporal_threshold=786432"
        ));
    }

    #[test]
    fn pinned_values_per_version() {
        let p31 = pinned_tunables((2, 31)).unwrap();
        assert!(p31.contains("-AVX2_Usable,") && !p31.contains("-AVX2,"));
        let p41 = pinned_tunables((2, 41)).unwrap();
        assert!(p41.contains(",-Slow_BSF,Avoid_Non_Temporal_Memset:"));
        assert!(!disabled_hwcaps(&p41).contains("Avoid_Non_Temporal_Memset"));
        for r in TABLE {
            let p = pinned_tunables(r.version).unwrap();
            assert_eq!(p.matches(':').count(), 3, "{p}");
            assert!(!p.contains("rep_"));
        }
    }

    #[test]
    fn pinned_cache_values() {
        // The bounds themselves are checked at compile time next to the constants.
        let values = [
            PINNED_DATA_CACHE_SIZE,
            PINNED_SHARED_CACHE_SIZE,
            PINNED_NON_TEMPORAL_THRESHOLD,
        ];
        assert_eq!(values, [32_768, 1_048_576, 786_432]);
    }

    #[test]
    fn disabled_hwcaps_reads_like_glibc() {
        let got = disabled_hwcaps("glibc.malloc.check=0:glibc.cpu.hwcaps=-AVX2,ERMS,-FSRM");
        let want: BTreeSet<String> = ["AVX2", "FSRM"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(got, want);
        assert!(disabled_hwcaps("").is_empty());
        assert!(disabled_hwcaps("glibc.cpu.hwcaps").is_empty());
        assert!(disabled_hwcaps("glibc.cpu.x86_hwcaps=-AVX2").is_empty());
        assert!(disabled_hwcaps("glibc.cpu.hwcaps=-,,-").is_empty());
        let last = disabled_hwcaps("glibc.cpu.hwcaps=-AVX2:glibc.cpu.hwcaps=-ERMS");
        assert_eq!(last.into_iter().collect::<Vec<_>>(), ["ERMS"]);
    }

    #[test]
    fn cpuinfo_flag_names() {
        for (name, flag) in [
            ("AVX2", "avx2"),
            ("SSE4_1", "sse4_1"),
            ("SSE4_2", "sse4_2"),
            ("SSSE3", "ssse3"),
            ("LZCNT", "abm"),
            ("BMI1", "bmi1"),
            ("BMI2", "bmi2"),
            ("MOVBE", "movbe"),
            ("RTM", "rtm"),
            ("ERMS", "erms"),
            ("FSRM", "fsrm"),
            ("AVX512F", "avx512f"),
            ("AVX512VL", "avx512vl"),
            ("AVX512BW", "avx512bw"),
            ("AVX512DQ", "avx512dq"),
            ("XSAVE", "xsave"),
            ("XSAVEC", "xsavec"),
            ("POPCNT", "popcnt"),
            ("AVX", "avx"),
            ("AVX2_Usable", "avx2"),
            ("FMA", "fma"),
            ("FMA4", "fma4"),
            ("AVX_Usable", "avx"),
            ("FMA_Usable", "fma"),
            ("FMA4_Usable", "fma4"),
        ] {
            assert_eq!(cpuinfo_flag(name), Some(flag), "{name}");
        }
        for name in [
            "OSXSAVE",
            "AVX_Fast_Unaligned_Load",
            "Fast_Unaligned_Load",
            "Prefer_FSRM",
            "Slow_BSF",
            "Avoid_Non_Temporal_Memset",
            "avx2",
            "",
        ] {
            assert_eq!(cpuinfo_flag(name), None, "{name}");
        }
    }

    #[test]
    fn effective_flags_hide_what_the_pinned_value_switches_off() {
        let pinned = pinned_tunables((2, 36)).unwrap();
        let glibc = Some("glibc 2.36");
        let a = effective_flags(AVX512_MACHINE, &pinned, glibc);
        let b = effective_flags(EPYC_MACHINE, &pinned, glibc);
        assert_eq!(a, b);
        let a0 = effective_flags(AVX512_MACHINE, "", glibc);
        let b0 = effective_flags(EPYC_MACHINE, "", glibc);
        assert_ne!(a0, b0);
        assert_eq!(
            a0,
            "avx avx2 avx512bw avx512dq avx512f avx512vl bmi1 bmi2 erms movbe rtm sse4_1 sse4_2 \
ssse3"
        );
        assert_eq!(b0, "avx avx2 bmi1 bmi2 erms movbe rtm sse4_1 sse4_2 ssse3");
    }

    #[test]
    fn rows_switch_off_the_libm_features() {
        for r in TABLE {
            let names: &[&str] = if r.version == (2, 31) {
                &[
                    "AVX2_Usable",
                    "AVX_Usable",
                    "FMA4_Usable",
                    "FMA_Usable",
                    "SSE4_1",
                ]
            } else {
                &["AVX", "AVX2", "FMA", "FMA4", "SSE4_1"]
            };
            for name in names {
                assert!(r.hwcaps.contains(name), "{:?}: {name}", r.version);
            }
            assert!(r
                .source
                .contains("sysdeps/x86_64/fpu/multiarch/ifunc-avx-fma4.h"));
            for file in ["e_exp.c", "e_log.c", "s_sin.c", "s_floor.c", "s_fma.c"] {
                assert!(r.source.contains(file), "{:?}: {file}", r.version);
            }
        }
    }

    #[test]
    fn effective_flags_hide_fma_fma4_and_avx_only_when_pinned() {
        // Same machine apart from the libm-relevant flags: no AVX at all, AVX + FMA (Intel
        // without AVX2), AVX + FMA4 (AMD Bulldozer), AVX + FMA + FMA4 (AMD Piledriver).
        const BASE: &str = "sse2 sse3 ssse3 sse4_1 sse4_2 popcnt xsave";
        let machines = [
            BASE.to_owned(),
            format!("{BASE} avx fma"),
            format!("avx fma4 {BASE}"),
            format!("{BASE} fma fma4 avx"),
        ];
        for r in TABLE {
            let glibc = format!("glibc {}.{}", r.version.0, r.version.1);
            let pinned = pinned_tunables(r.version).unwrap();
            let with: Vec<String> = machines
                .iter()
                .map(|m| effective_flags(m, &pinned, Some(&glibc)))
                .collect();
            assert!(with.iter().all(|e| *e == with[0]), "{glibc}: {with:?}");
            assert_eq!(with[0], "", "{glibc}");
            let without: BTreeSet<String> = machines
                .iter()
                .map(|m| effective_flags(m, "", Some(&glibc)))
                .collect();
            assert_eq!(without.len(), machines.len(), "{glibc}: {without:?}");
        }
        let glibc = Some("glibc 2.36");
        assert_eq!(
            effective_flags("avx fma fma4 sse4_1", "", glibc),
            "avx fma fma4 sse4_1"
        );
        // The string/memory-only value of before left all three visible.
        let old = "glibc.cpu.hwcaps=-AVX2,-SSE4_1";
        assert_eq!(
            effective_flags("avx fma fma4 sse4_1", old, glibc),
            "avx fma fma4"
        );
        // 2.31 reads the derived bits, so the CPUID names do not hide anything there.
        assert_eq!(
            effective_flags(
                "avx fma fma4",
                "glibc.cpu.hwcaps=-AVX,-FMA,-FMA4",
                Some("2.31")
            ),
            "avx fma fma4"
        );
    }

    #[test]
    fn effective_flags_per_version_semantics() {
        // 2.31's selectors read AVX2_Usable: -AVX2 does not hide avx2 there, -AVX2_Usable does.
        assert_eq!(
            effective_flags("avx2 sse2", "glibc.cpu.hwcaps=-AVX2", Some("2.31")),
            "avx2"
        );
        assert_eq!(
            effective_flags("avx2", "glibc.cpu.hwcaps=-AVX2_Usable", Some("2.31")),
            ""
        );
        // 2.31 cannot switch off AVX512VL_Usable, so a difference there still shows.
        let p31 = pinned_tunables((2, 31)).unwrap();
        assert_eq!(
            effective_flags(AVX512_MACHINE, &p31, Some("2.31")),
            "avx512bw avx512vl"
        );
        assert_eq!(effective_flags(EPYC_MACHINE, &p31, Some("2.31")), "");
        // Unknown version: the union over the table, so both spellings are needed.
        assert_eq!(
            effective_flags("avx2 abm", "glibc.cpu.hwcaps=-AVX2", None),
            "abm avx2"
        );
        assert_eq!(
            effective_flags("avx2", "glibc.cpu.hwcaps=-AVX2,-AVX2_Usable", Some("musl")),
            ""
        );
        // Output is sorted and deduplicated whatever the input order.
        assert_eq!(
            effective_flags("ssse3 avx2 avx2  erms", "", Some("2.40")),
            "avx2 erms ssse3"
        );
    }
}
