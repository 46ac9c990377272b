//! Fuzzes the token file decoder (`HDTS`, versions 0 and 1) and the Writable token form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yarn::credentials::{Credentials, Token};

fuzz_target!(|data: &[u8]| {
    let _ = Credentials::from_bytes(data);
    let _ = Token::from_writable(data);
});
