//! Fuzzes the client side of DIGEST-MD5: parsing a server challenge, answering it, and checking the
//! server's final message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yarn::sasl::digest::{Challenge, parse_rspauth};
use yarn::sasl::{DigestMd5Client, Qop};

fuzz_target!(|data: &[u8]| {
    let _ = Challenge::parse(data);
    let _ = parse_rspauth(data);
    let mut client = DigestMd5Client::for_token(
        b"identifier",
        b"password",
        "",
        "default",
        &[Qop::AuthConf, Qop::AuthInt, Qop::Auth],
    );
    if client.respond(data).is_ok() {
        let _ = client.finish(data);
    }
});
