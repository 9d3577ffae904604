//! Coffre's wire types, shared by the server and its clients, and a typed
//! async client.

#![forbid(unsafe_code)]

mod client;
mod email;
pub mod roster;
mod types;

pub use client::{Client, ClientOptions, Error, ErrorCode, Result};
pub use email::{Email, NotAnEmail};
pub use types::*;
