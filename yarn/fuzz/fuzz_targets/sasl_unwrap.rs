//! Fuzzes the DIGEST-MD5 security layer's receiving half with every cipher: wrapped messages from a
//! peer must be checked, never trusted, whatever their bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yarn::sasl::{Cipher, DigestMd5Client, DigestMd5Server, Qop};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, token)) = data.split_first() else {
        return;
    };
    let (qop, cipher) = match selector % 6 {
        0 => (Qop::AuthInt, None),
        n => (Qop::AuthConf, Some(Cipher::ALL[usize::from(n - 1)])),
    };
    let mut server = DigestMd5Server::new("", "default", &[qop]);
    if let Some(cipher) = cipher {
        server = server.with_ciphers(&[cipher]);
    }
    let mut client = DigestMd5Client::for_token(b"i", b"p", "", "default", &[qop]);
    let response = client.respond(&server.challenge()).expect("a well-formed challenge");
    let (_, negotiated) = server
        .verify(&response, |_| Ok::<_, ()>("cA==".to_string()))
        .expect("the right password");
    let (_, mut opener) = negotiated.layer.expect("a security layer");
    let _ = opener.unwrap(token);
});
