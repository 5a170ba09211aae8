//! Fusabi plugins: compiling and checking scripts, the VM template, the script cache,
//! and the plugin type that adapts a script to [`crate::Plugin`].

pub mod bytecode;
pub mod cache;
pub mod plugin;
pub mod template;
