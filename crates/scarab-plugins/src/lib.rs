//! A terminal plugin host whose plugins are Fusabi scripts, Fusabi bytecode, or native Rust.
