//! `perfgate`: the command-line front of the regression gate.

fn main() {}
