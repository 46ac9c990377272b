//! Fuzzes the server side of DIGEST-MD5: parsing and verifying a client's digest-response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yarn::sasl::digest::Response;
use yarn::sasl::{DigestMd5Server, Qop};

fuzz_target!(|data: &[u8]| {
    let _ = Response::parse(data);
    let mut server = DigestMd5Server::new("", "default", &[Qop::Auth, Qop::AuthInt, Qop::AuthConf]);
    let _ = server.verify(data, |_| Ok::<_, ()>("cGFzc3dvcmQ=".to_string()));
});
