//! The DIGEST-MD5 mechanism (RFC 2831, subsequent authentication not supported, as in Hadoop): the
//! client answers one challenge and verifies the server's `rspauth`; the server issues the challenge,
//! checks the response against the password its caller looks up, and produces `rspauth`.
//!
//! Hadoop's TOKEN authentication maps a token onto it: username = Base64(identifier), password =
//! Base64(password), protocol `""`, server name and realm `default`, so digest-uri is `/default`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest, Md5};
use rand::RngCore;

use super::directives::{self, Directive, MAX_CHALLENGE_LEN, MAX_RESPONSE_LEN, quote, single};
use super::layer::{self, Cipher, Opener, Sealer};
use super::{Qop, SaslError};

/// The `maxbuf` both sides assume when none is sent (RFC 2831).
pub const DEFAULT_MAXBUF: u32 = 65536;
/// Appended to A2 when a security layer is negotiated (RFC 2831 §2.1.2.1).
const SECURITY_LAYER_MARKER: &str = ":00000000000000000000000000000000";

/// The outcome of a completed authentication: the protection level and, unless it is `auth`, the two
/// halves of the security layer.
pub struct Negotiated {
    /// The negotiated quality of protection.
    pub qop: Qop,
    /// The cipher, for `auth-conf`.
    pub cipher: Option<Cipher>,
    /// The security layer (`None` for `auth`).
    pub layer: Option<(Sealer, Opener)>,
}

impl fmt::Debug for Negotiated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Negotiated")
            .field("qop", &self.qop)
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// H(A1) of RFC 2831 with `algorithm=md5-sess`: MD5(MD5(user:realm:password):nonce:cnonce[:authzid]).
pub fn session_key(
    username: &str,
    realm: &str,
    password: &str,
    nonce: &str,
    cnonce: &str,
    authzid: Option<&str>,
) -> [u8; 16] {
    let inner = md5(&[
        username.as_bytes(),
        b":",
        realm.as_bytes(),
        b":",
        password.as_bytes(),
    ]);
    let mut parts: Vec<&[u8]> = vec![&inner, b":", nonce.as_bytes(), b":", cnonce.as_bytes()];
    if let Some(authzid) = authzid {
        parts.push(b":");
        parts.push(authzid.as_bytes());
    }
    md5(&parts)
}

/// The `response` value (when `initial`) or the `rspauth` value (otherwise), RFC 2831 §2.1.2.1.
pub fn response_value(
    ha1: &[u8; 16],
    nonce: &str,
    nc: u32,
    cnonce: &str,
    qop: Qop,
    digest_uri: &str,
    initial: bool,
) -> String {
    let mut a2 = String::new();
    if initial {
        a2.push_str("AUTHENTICATE");
    }
    a2.push(':');
    a2.push_str(digest_uri);
    if qop != Qop::Auth {
        a2.push_str(SECURITY_LAYER_MARKER);
    }
    let ha2 = hex(&md5(&[a2.as_bytes()]));
    let kd = format!(
        "{}:{nonce}:{nc:08x}:{cnonce}:{}:{ha2}",
        hex(ha1),
        qop.as_str()
    );
    hex(&md5(&[kd.as_bytes()]))
}

fn random_nonce() -> String {
    let mut raw = [0u8; 30];
    rand::rng().fill_bytes(&mut raw);
    BASE64.encode(raw)
}

fn parse_list<T>(value: Option<&str>, item: impl Fn(&str) -> Option<T>) -> Vec<T> {
    value
        .map(|v| v.split(',').filter_map(|t| item(t.trim())).collect())
        .unwrap_or_default()
}

fn check_charset(directives: &[Directive]) -> Result<bool, SaslError> {
    match single(directives, "charset")? {
        None => Ok(false),
        Some(c) if c.eq_ignore_ascii_case("utf-8") => Ok(true),
        Some(c) => Err(SaslError::new(format!(
            "unsupported charset {c:?} (only utf-8 is defined)"
        ))),
    }
}

fn parse_maxbuf(directives: &[Directive]) -> Result<u32, SaslError> {
    match single(directives, "maxbuf")? {
        None => Ok(DEFAULT_MAXBUF),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n >= 16)
            .ok_or_else(|| SaslError::new(format!("invalid maxbuf {v:?}"))),
    }
}

/// A server challenge, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Offered realms (Hadoop offers exactly `default`).
    pub realms: Vec<String>,
    /// The server nonce.
    pub nonce: String,
    /// Offered protection levels (`auth` when the directive is absent).
    pub qops: Vec<Qop>,
    /// Offered ciphers for `auth-conf`.
    pub ciphers: Vec<Cipher>,
    /// The largest wrapped message the server accepts.
    pub maxbuf: u32,
    /// Whether the server declared `charset=utf-8`.
    pub utf8: bool,
}

impl Challenge {
    /// Parses a DIGEST-MD5 challenge; any byte string gives a value or an error.
    pub fn parse(input: &[u8]) -> Result<Challenge, SaslError> {
        if input.len() > MAX_CHALLENGE_LEN {
            return Err(SaslError::new(format!(
                "challenge of {} bytes exceeds {MAX_CHALLENGE_LEN}",
                input.len()
            )));
        }
        let d = directives::parse(input)?;
        let algorithm = single(&d, "algorithm")?
            .ok_or_else(|| SaslError::new("challenge lacks algorithm=md5-sess"))?;
        if !algorithm.eq_ignore_ascii_case("md5-sess") {
            return Err(SaslError::new(format!(
                "unsupported algorithm {algorithm:?} (expected md5-sess)"
            )));
        }
        let nonce = single(&d, "nonce")?
            .ok_or_else(|| SaslError::new("challenge lacks a nonce"))?
            .to_string();
        let qops = match single(&d, "qop")? {
            None => vec![Qop::Auth],
            some => parse_list(some, Qop::from_token),
        };
        Ok(Challenge {
            realms: d
                .iter()
                .filter(|x| x.name == "realm")
                .map(|x| x.value.clone())
                .collect(),
            nonce,
            qops,
            ciphers: parse_list(single(&d, "cipher")?, Cipher::from_token),
            maxbuf: parse_maxbuf(&d)?,
            utf8: check_charset(&d)?,
        })
    }
}

/// A client's digest-response, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The authentication id (for TOKEN: Base64 of the token identifier).
    pub username: String,
    /// The chosen realm (empty when absent).
    pub realm: String,
    /// The server nonce, echoed.
    pub nonce: String,
    /// The client nonce.
    pub cnonce: String,
    /// The nonce count.
    pub nc: u32,
    /// The chosen protection.
    pub qop: Qop,
    /// The digest-uri (`protocol/server`).
    pub digest_uri: String,
    /// The 32 hex digits of the response.
    pub response: String,
    /// The client's maxbuf.
    pub maxbuf: u32,
    /// The chosen cipher, for `auth-conf`.
    pub cipher: Option<Cipher>,
    /// An authorization id, if the client sent one.
    pub authzid: Option<String>,
}

impl Response {
    /// Parses a DIGEST-MD5 digest-response; any byte string gives a value or an error.
    pub fn parse(input: &[u8]) -> Result<Response, SaslError> {
        if input.len() > MAX_RESPONSE_LEN {
            return Err(SaslError::new(format!(
                "response of {} bytes exceeds {MAX_RESPONSE_LEN}",
                input.len()
            )));
        }
        let d = directives::parse(input)?;
        let required = |name: &str| -> Result<String, SaslError> {
            single(&d, name)?
                .map(str::to_string)
                .ok_or_else(|| SaslError::new(format!("response lacks {name}")))
        };
        let nc_text = required("nc")?;
        let nc = u32::from_str_radix(&nc_text, 16)
            .map_err(|_| SaslError::new(format!("invalid nonce count {nc_text:?}")))?;
        let qop = match single(&d, "qop")? {
            None => Qop::Auth,
            Some(q) => {
                Qop::from_token(q).ok_or_else(|| SaslError::new(format!("unknown qop {q:?}")))?
            }
        };
        let cipher = match single(&d, "cipher")? {
            None => None,
            Some(c) => Some(
                Cipher::from_token(c)
                    .ok_or_else(|| SaslError::new(format!("unknown cipher {c:?}")))?,
            ),
        };
        check_charset(&d)?;
        Ok(Response {
            username: required("username")?,
            realm: single(&d, "realm")?.unwrap_or_default().to_string(),
            nonce: required("nonce")?,
            cnonce: required("cnonce")?,
            nc,
            qop,
            digest_uri: required("digest-uri")?,
            response: required("response")?,
            maxbuf: parse_maxbuf(&d)?,
            cipher,
            authzid: single(&d, "authzid")?.map(str::to_string),
        })
    }
}

/// Parses the server's final message, `rspauth=<32 hex>`.
pub fn parse_rspauth(input: &[u8]) -> Result<String, SaslError> {
    let d = directives::parse(input)?;
    single(&d, "rspauth")?
        .map(str::to_string)
        .ok_or_else(|| SaslError::new("the server's final message lacks rspauth"))
}

enum ClientState {
    Start,
    Responded {
        ha1: [u8; 16],
        rspauth: String,
        qop: Qop,
        cipher: Option<Cipher>,
        server_maxbuf: u32,
    },
    Done,
}

/// The client side of DIGEST-MD5.
pub struct DigestMd5Client {
    username: String,
    password: String,
    digest_uri: String,
    accept: Vec<Qop>,
    state: ClientState,
}

impl fmt::Debug for DigestMd5Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestMd5Client")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("digest_uri", &self.digest_uri)
            .field("accept", &self.accept)
            .finish_non_exhaustive()
    }
}

impl DigestMd5Client {
    /// A client for this username and password; `accept` lists acceptable protection levels in order of
    /// preference (the client's `hadoop.rpc.protection`).
    pub fn new(
        username: String,
        password: String,
        protocol: &str,
        server_name: &str,
        accept: &[Qop],
    ) -> DigestMd5Client {
        DigestMd5Client {
            username,
            password,
            digest_uri: format!("{protocol}/{server_name}"),
            accept: accept.to_vec(),
            state: ClientState::Start,
        }
    }

    /// A client for Hadoop TOKEN authentication with this token identifier and password.
    pub fn for_token(
        identifier: &[u8],
        password: &[u8],
        protocol: &str,
        server_name: &str,
        accept: &[Qop],
    ) -> DigestMd5Client {
        DigestMd5Client::new(
            BASE64.encode(identifier),
            BASE64.encode(password),
            protocol,
            server_name,
            accept,
        )
    }

    /// Answers the server's challenge with a digest-response.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        self.respond_with_cnonce(challenge, &random_nonce())
    }

    fn respond_with_cnonce(
        &mut self,
        challenge: &[u8],
        cnonce: &str,
    ) -> Result<Vec<u8>, SaslError> {
        if !matches!(self.state, ClientState::Start) {
            return Err(SaslError::new(
                "a second challenge arrived after the response",
            ));
        }
        let ch = Challenge::parse(challenge)?;
        let qop = self
            .accept
            .iter()
            .copied()
            .find(|q| ch.qops.contains(q))
            .ok_or_else(|| {
                SaslError::new(format!(
                    "no common protection level: the server offers {:?}, this client accepts {:?} \
                     (check hadoop.rpc.protection on both sides)",
                    ch.qops
                        .iter()
                        .map(|q| q.protection_name())
                        .collect::<Vec<_>>(),
                    self.accept
                        .iter()
                        .map(|q| q.protection_name())
                        .collect::<Vec<_>>()
                ))
            })?;
        let cipher = if qop == Qop::AuthConf {
            Some(
                Cipher::ALL
                    .into_iter()
                    .find(|c| ch.ciphers.contains(c))
                    .ok_or_else(|| {
                        SaslError::new("the server offers privacy but none of the ciphers 3des, rc4, des, rc4-56, rc4-40")
                    })?,
            )
        } else {
            None
        };
        let realm = ch.realms.first().cloned().unwrap_or_default();
        let ha1 = session_key(
            &self.username,
            &realm,
            &self.password,
            &ch.nonce,
            cnonce,
            None,
        );
        let nc = 1;
        let response = response_value(&ha1, &ch.nonce, nc, cnonce, qop, &self.digest_uri, true);
        let rspauth = response_value(&ha1, &ch.nonce, nc, cnonce, qop, &self.digest_uri, false);
        let mut out = String::new();
        if ch.utf8 {
            out.push_str("charset=utf-8,");
        }
        out.push_str(&format!("username={}", quote(&self.username)));
        if !ch.realms.is_empty() {
            out.push_str(&format!(",realm={}", quote(&realm)));
        }
        out.push_str(&format!(
            ",nonce={},nc={nc:08x},cnonce={},digest-uri={},maxbuf={DEFAULT_MAXBUF},response={response},qop={qop}",
            quote(&ch.nonce),
            quote(cnonce),
            quote(&self.digest_uri),
        ));
        if let Some(cipher) = cipher {
            out.push_str(&format!(",cipher={}", quote(cipher.token())));
        }
        self.state = ClientState::Responded {
            ha1,
            rspauth,
            qop,
            cipher,
            server_maxbuf: ch.maxbuf,
        };
        Ok(out.into_bytes())
    }

    /// Checks the server's final message (`rspauth`), proving the server knows the password too, and
    /// yields the negotiated protection.
    pub fn finish(&mut self, server_final: &[u8]) -> Result<Negotiated, SaslError> {
        let ClientState::Responded {
            ha1,
            rspauth,
            qop,
            cipher,
            server_maxbuf,
        } = std::mem::replace(&mut self.state, ClientState::Done)
        else {
            return Err(SaslError::new(
                "the server reported success before the client responded to a challenge",
            ));
        };
        let got = parse_rspauth(server_final)?;
        if !got.eq_ignore_ascii_case(&rspauth) {
            return Err(SaslError::new(
                "the server's rspauth does not match: it does not know the token password",
            ));
        }
        Ok(Negotiated {
            qop,
            cipher,
            layer: layer::halves(&ha1, qop, cipher, true, server_maxbuf)?,
        })
    }
}

/// Why a server could not verify a response: a SASL failure, or the password lookup's own error (for
/// Hadoop: an invalid or expired token).
#[derive(Debug)]
pub enum VerifyError<E> {
    /// The response was malformed or did not match.
    Sasl(SaslError),
    /// The password lookup failed.
    Lookup(E),
}

impl<E> From<SaslError> for VerifyError<E> {
    fn from(e: SaslError) -> Self {
        VerifyError::Sasl(e)
    }
}

/// The server side of DIGEST-MD5.
#[derive(Debug)]
pub struct DigestMd5Server {
    realm: String,
    digest_uri: String,
    qops: Vec<Qop>,
    ciphers: Vec<Cipher>,
    nonce: String,
    done: bool,
}

impl DigestMd5Server {
    /// A server for this SASL protocol and server name (Hadoop: `""` and `default`; the realm is the
    /// server name), offering these protection levels in this order.
    pub fn new(protocol: &str, server_name: &str, qops: &[Qop]) -> DigestMd5Server {
        DigestMd5Server {
            realm: server_name.to_string(),
            digest_uri: format!("{protocol}/{server_name}"),
            qops: qops.to_vec(),
            ciphers: Cipher::ALL.to_vec(),
            nonce: random_nonce(),
            done: false,
        }
    }

    /// Restricts the ciphers offered for `auth-conf` (default: all five, in the JDK's order).
    pub fn with_ciphers(mut self, ciphers: &[Cipher]) -> DigestMd5Server {
        self.ciphers = ciphers.to_vec();
        self
    }

    /// The challenge, in the JDK's directive order.
    pub fn challenge(&self) -> Vec<u8> {
        let qops: Vec<&str> = self.qops.iter().map(|q| q.as_str()).collect();
        let mut out = format!(
            "realm={},nonce={},qop={},charset=utf-8,",
            quote(&self.realm),
            quote(&self.nonce),
            quote(&qops.join(","))
        );
        if self.qops.contains(&Qop::AuthConf) {
            let ciphers: Vec<&str> = self.ciphers.iter().map(|c| c.token()).collect();
            out.push_str(&format!("cipher={},", quote(&ciphers.join(","))));
        }
        out.push_str("algorithm=md5-sess");
        out.into_bytes()
    }

    /// Checks a digest-response. `password_for` maps the username to the password (for TOKEN: decodes
    /// the identifier, finds the token's password, returns its Base64). On success returns the final
    /// message for the client (`rspauth=...`) and the negotiated protection.
    pub fn verify<E>(
        &mut self,
        response: &[u8],
        password_for: impl FnOnce(&str) -> Result<String, E>,
    ) -> Result<(Vec<u8>, Negotiated), VerifyError<E>> {
        if self.done {
            return Err(SaslError::new("authentication is already complete").into());
        }
        let r = Response::parse(response)?;
        if r.nonce != self.nonce {
            return Err(SaslError::new("the response does not echo the server nonce").into());
        }
        if r.nc != 1 {
            return Err(SaslError::new(format!("nonce count {} is not 1", r.nc)).into());
        }
        if !r.realm.is_empty() && r.realm != self.realm {
            return Err(SaslError::new(format!(
                "realm {:?} is not the offered {:?}",
                r.realm, self.realm
            ))
            .into());
        }
        if !self.qops.contains(&r.qop) {
            return Err(SaslError::new(format!(
                "the client chose {}, which this server does not offer",
                r.qop
            ))
            .into());
        }
        if r.qop == Qop::AuthConf && !r.cipher.is_some_and(|c| self.ciphers.contains(&c)) {
            return Err(SaslError::new("auth-conf chosen without an offered cipher").into());
        }
        if !r.digest_uri.eq_ignore_ascii_case(&self.digest_uri) {
            return Err(SaslError::new(format!(
                "digest-uri {:?} does not name this server ({:?})",
                r.digest_uri, self.digest_uri
            ))
            .into());
        }
        if let Some(authzid) = &r.authzid
            && authzid != &r.username
        {
            return Err(
                SaslError::new("authorization id differs from the authentication id").into(),
            );
        }
        let password = password_for(&r.username).map_err(VerifyError::Lookup)?;
        let ha1 = session_key(
            &r.username,
            &r.realm,
            &password,
            &r.nonce,
            &r.cnonce,
            r.authzid.as_deref(),
        );
        let expected = response_value(&ha1, &r.nonce, r.nc, &r.cnonce, r.qop, &r.digest_uri, true);
        if !expected.eq_ignore_ascii_case(&r.response) {
            return Err(SaslError::new(
                "digest response does not match: wrong token password or identifier",
            )
            .into());
        }
        let rspauth = response_value(&ha1, &r.nonce, r.nc, &r.cnonce, r.qop, &r.digest_uri, false);
        self.done = true;
        let layer = layer::halves(&ha1, r.qop, r.cipher, false, r.maxbuf)?;
        Ok((
            format!("rspauth={rspauth}").into_bytes(),
            Negotiated {
                qop: r.qop,
                cipher: r.cipher,
                layer,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 2831 §4, example 1 (IMAP): the response and rspauth values given there.
    #[test]
    fn rfc2831_worked_example() {
        let ha1 = session_key(
            "chris",
            "elwood.innosoft.com",
            "secret",
            "OA6MG9tEQGm2hh",
            "OA6MHXh6VqTrRk",
            None,
        );
        let uri = "imap/elwood.innosoft.com";
        assert_eq!(
            response_value(
                &ha1,
                "OA6MG9tEQGm2hh",
                1,
                "OA6MHXh6VqTrRk",
                Qop::Auth,
                uri,
                true
            ),
            "d388dad90d4bbd760a152321f2143af7"
        );
        assert_eq!(
            response_value(
                &ha1,
                "OA6MG9tEQGm2hh",
                1,
                "OA6MHXh6VqTrRk",
                Qop::Auth,
                uri,
                false
            ),
            "ea40f60335c427b5527b84dbabcdfffd"
        );
    }

    #[test]
    fn rfc2831_example_through_the_client() {
        let mut client = DigestMd5Client::new(
            "chris".into(),
            "secret".into(),
            "imap",
            "elwood.innosoft.com",
            &[Qop::Auth],
        );
        let challenge = br#"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#;
        let response = client
            .respond_with_cnonce(challenge, "OA6MHXh6VqTrRk")
            .unwrap();
        let parsed = Response::parse(&response).unwrap();
        assert_eq!(parsed.response, "d388dad90d4bbd760a152321f2143af7");
        assert_eq!(parsed.digest_uri, "imap/elwood.innosoft.com");
        assert!(
            client
                .finish(b"rspauth=00000000000000000000000000000000")
                .is_err()
        );
        let mut client = DigestMd5Client::new(
            "chris".into(),
            "secret".into(),
            "imap",
            "elwood.innosoft.com",
            &[Qop::Auth],
        );
        client
            .respond_with_cnonce(challenge, "OA6MHXh6VqTrRk")
            .unwrap();
        let done = client
            .finish(b"rspauth=ea40f60335c427b5527b84dbabcdfffd")
            .unwrap();
        assert_eq!(done.qop, Qop::Auth);
        assert!(done.layer.is_none());
    }

    fn handshake(
        server_qops: &[Qop],
        client_accepts: &[Qop],
        server_password: &[u8],
    ) -> Result<(Negotiated, Negotiated), String> {
        let mut server = DigestMd5Server::new("", "default", server_qops);
        let challenge = server.challenge();
        let mut client =
            DigestMd5Client::for_token(b"ident", b"pass", "", "default", client_accepts);
        let response = client.respond(&challenge).map_err(|e| e.to_string())?;
        let (fin, s) = server
            .verify(&response, |user| {
                assert_eq!(BASE64.decode(user).unwrap(), b"ident");
                Ok::<_, ()>(BASE64.encode(server_password))
            })
            .map_err(|e| format!("{e:?}"))?;
        let c = client.finish(&fin).map_err(|e| e.to_string())?;
        Ok((c, s))
    }

    #[test]
    fn client_and_server_agree_at_every_level() {
        for qop in [Qop::Auth, Qop::AuthInt, Qop::AuthConf] {
            let (mut c, mut s) =
                handshake(&[Qop::Auth, Qop::AuthInt, Qop::AuthConf], &[qop], b"pass").unwrap();
            assert_eq!((c.qop, s.qop), (qop, qop));
            if qop == Qop::AuthConf {
                assert_eq!(c.cipher, Some(Cipher::TripleDes), "the JDK's first choice");
            }
            if let (Some((cs, _)), Some((_, so))) = (&mut c.layer, &mut s.layer) {
                assert_eq!(so.unwrap(&cs.wrap(b"frame")).unwrap(), b"frame");
            } else {
                assert_eq!(qop, Qop::Auth);
            }
        }
    }

    #[test]
    fn the_client_takes_the_cipher_the_server_restricts_to() {
        for cipher in Cipher::ALL {
            let mut server =
                DigestMd5Server::new("", "default", &[Qop::AuthConf]).with_ciphers(&[cipher]);
            let mut client =
                DigestMd5Client::for_token(b"i", b"p", "", "default", &[Qop::AuthConf]);
            let response = client.respond(&server.challenge()).unwrap();
            let (fin, mut s) = server
                .verify(&response, |_| Ok::<_, ()>(BASE64.encode(b"p")))
                .unwrap();
            let mut c = client.finish(&fin).unwrap();
            assert_eq!((c.cipher, s.cipher), (Some(cipher), Some(cipher)));
            let (mut c_seal, _) = c.layer.take().unwrap();
            let (_, mut s_open) = s.layer.take().unwrap();
            assert_eq!(s_open.unwrap(&c_seal.wrap(b"sealed")).unwrap(), b"sealed");
        }
    }

    #[test]
    fn wrong_password_and_no_common_qop_fail_clearly() {
        let err = handshake(&[Qop::Auth], &[Qop::Auth], b"other").unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        for secret in [BASE64.encode(b"pass"), BASE64.encode(b"other")] {
            assert!(!err.contains(&secret), "no secret in {err}");
        }
        let err = handshake(&[Qop::AuthConf], &[Qop::Auth], b"pass").unwrap_err();
        assert!(err.contains("no common protection level"), "{err}");
    }

    #[test]
    fn server_challenge_has_the_jdk_shape() {
        let server = DigestMd5Server::new("", "default", &[Qop::AuthConf]);
        let text = String::from_utf8(server.challenge()).unwrap();
        assert!(text.starts_with("realm=\"default\",nonce=\""), "{text}");
        assert!(
            text.ends_with(
                "qop=\"auth-conf\",charset=utf-8,cipher=\"3des,rc4,des,rc4-56,rc4-40\",algorithm=md5-sess"
            ),
            "{text}"
        );
        let parsed = Challenge::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.realms, vec!["default".to_string()]);
        assert_eq!(parsed.nonce.len(), 40);
    }

    #[test]
    fn client_debug_redacts_the_password() {
        let client =
            DigestMd5Client::new("u".into(), "hunter2".into(), "", "default", &[Qop::Auth]);
        assert!(!format!("{client:?}").contains("hunter2"));
    }

    proptest! {
        #[test]
        fn challenge_and_response_parsers_never_panic(input in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Challenge::parse(&input);
            let _ = Response::parse(&input);
            let _ = parse_rspauth(&input);
            let mut client = DigestMd5Client::new("u".into(), "p".into(), "", "default", &[Qop::AuthConf, Qop::Auth]);
            let _ = client.respond(&input);
            let mut server = DigestMd5Server::new("", "default", &[Qop::Auth, Qop::AuthInt, Qop::AuthConf]);
            let _ = server.verify(&input, |_| Ok::<_, ()>("p".to_string()));
        }
    }
}
