//! Placeholder: the glibc x86-64 ifunc table (being written).
