//! SASL DIGEST-MD5 (RFC 2831) as Hadoop uses it for TOKEN authentication, both sides.
//!
//! Hadoop authenticates a connection that holds a token (an AMRMToken, an NMToken, a delegation token)
//! with DIGEST-MD5: the username is the Base64 of the token identifier, the password the Base64 of the
//! token password, realm and server name `default`, protocol empty. After authentication the connection
//! may carry a security layer, chosen by `hadoop.rpc.protection`: `authentication` (none), `integrity`
//! (HMAC-MD5 per message) or `privacy` (encrypted; the JDK negotiates `3des` when offered).
//!
//! - [`directives`]: the `key=value,...` challenge/response syntax, tolerant of any input.
//! - [`digest`]: the mechanism itself: [`DigestMd5Client`] and [`DigestMd5Server`].
//! - [`layer`]: the integrity and confidentiality layer, split into a [`Sealer`] and an [`Opener`].

pub mod digest;
pub mod directives;
pub mod layer;

pub use digest::{DigestMd5Client, DigestMd5Server, Negotiated};
pub use layer::{Cipher, Opener, Sealer};

use std::fmt;

/// A DIGEST-MD5 quality of protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Qop {
    /// Authentication only (`hadoop.rpc.protection=authentication`).
    Auth,
    /// Authentication plus per-message integrity (`integrity`).
    AuthInt,
    /// Authentication plus integrity and encryption (`privacy`).
    AuthConf,
}

impl Qop {
    /// The token used in DIGEST-MD5 directives: `auth`, `auth-int` or `auth-conf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
            Qop::AuthConf => "auth-conf",
        }
    }

    /// The `hadoop.rpc.protection` name of this level.
    pub fn protection_name(self) -> &'static str {
        match self {
            Qop::Auth => "authentication",
            Qop::AuthInt => "integrity",
            Qop::AuthConf => "privacy",
        }
    }

    /// Parses a DIGEST-MD5 qop token (`auth`, `auth-int`, `auth-conf`; case-insensitive).
    pub fn from_token(token: &str) -> Option<Qop> {
        match token.trim().to_ascii_lowercase().as_str() {
            "auth" => Some(Qop::Auth),
            "auth-int" => Some(Qop::AuthInt),
            "auth-conf" => Some(Qop::AuthConf),
            _ => None,
        }
    }

    /// Parses a `hadoop.rpc.protection` value: a comma-separated list of `authentication`,
    /// `integrity` and `privacy`, in order of preference. Duplicates are dropped.
    pub fn parse_protection(value: &str) -> Result<Vec<Qop>, SaslError> {
        let mut out = Vec::new();
        for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let qop = match name.to_ascii_lowercase().as_str() {
                "authentication" => Qop::Auth,
                "integrity" => Qop::AuthInt,
                "privacy" => Qop::AuthConf,
                _ => {
                    return Err(SaslError::new(format!(
                        "unknown hadoop.rpc.protection value {name:?}: use authentication, integrity or privacy"
                    )));
                }
            };
            if !out.contains(&qop) {
                out.push(qop);
            }
        }
        if out.is_empty() {
            return Err(SaslError::new(
                "empty hadoop.rpc.protection: use authentication, integrity or privacy",
            ));
        }
        Ok(out)
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SASL failure: malformed input, a failed check, or a mismatch of offered and wanted options.
/// The message never contains a password or a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("DIGEST-MD5: {message}")]
pub struct SaslError {
    message: String,
}

impl SaslError {
    /// A SASL error with this message.
    pub fn new(message: impl Into<String>) -> SaslError {
        SaslError {
            message: message.into(),
        }
    }

    /// The message, without the `DIGEST-MD5:` prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_names_map_to_qops_in_order() {
        assert_eq!(
            Qop::parse_protection("privacy, authentication,privacy").unwrap(),
            vec![Qop::AuthConf, Qop::Auth]
        );
        assert_eq!(
            Qop::parse_protection("Integrity").unwrap(),
            vec![Qop::AuthInt]
        );
        let err = Qop::parse_protection("secret").unwrap_err();
        assert!(err.to_string().contains("\"secret\""), "{err}");
        assert!(Qop::parse_protection(" , ").is_err());
    }
}
