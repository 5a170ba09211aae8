//! Feeding the host's spans into optional profilers (cargo features `tracy` and
//! `puffin`). Without those features the macro expands to nothing.

/// Open a profiler scope named `$name` until the end of the enclosing block, in every
/// profiler enabled by a cargo feature. The host also opens a `tracing` span at each
/// of these places.
#[macro_export]
#[doc(hidden)]
macro_rules! profile_scope {
    ($name:literal) => {
        #[cfg(feature = "puffin")]
        $crate::profiling::puffin::profile_scope!($name);
        #[cfg(feature = "tracy")]
        let _tracy_span = $crate::profiling::tracy_client::Client::running()
            .map(|c| c.span($crate::profiling::tracy_client::span_location!($name), 0));
    };
}

#[cfg(feature = "puffin")]
pub use puffin;
#[cfg(feature = "tracy")]
pub use tracy_client;
