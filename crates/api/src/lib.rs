//! Coffre's wire types, shared by the server and its clients, and a typed
//! async client.

#![forbid(unsafe_code)]

mod client;
pub mod roster;
mod types;

pub use client::{Client, Error, ErrorCode, Result};
pub use types::*;
