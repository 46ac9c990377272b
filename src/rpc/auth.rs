//! Mutual challenge-response authentication with the per-application secret.
//!
//! A TaskExecutor runs whatever commands the ApplicationMaster deploys, and the ApplicationMaster
//! hands slots to whoever registers, so each side must prove it knows the application's secret
//! before anything else is said. The secret never crosses the wire; each side proves knowledge of it
//! with HMAC-SHA256 over both sides' fresh 32-byte nonces and the TaskExecutor's resource id:
//!
//! 1. TE -> AM `client_hello { version, resource_id, client_nonce }`
//! 2. AM -> TE `server_challenge { server_nonce, server_proof }`, or `refused { reason }`
//!    where `server_proof = HMAC(secret, "spindle-te-auth/1 server" || client_nonce || server_nonce || resource_id)`
//! 3. TE checks `server_proof`, then TE -> AM `client_proof { proof }`
//!    where `proof = HMAC(secret, "spindle-te-auth/1 client" || server_nonce || client_nonce || resource_id)`
//! 4. AM -> TE `accepted`, or `refused { reason }` and the connection is closed.
//!
//! Nonces are hex on the wire; distinct labels keep one side's proof from serving as the other's.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

use super::messages::ResourceId;

/// Length of each side's nonce in bytes.
pub const NONCE_LEN: usize = 32;

const SERVER_LABEL: &[u8] = b"spindle-te-auth/1 server";
const CLIENT_LABEL: &[u8] = b"spindle-te-auth/1 client";

/// The per-application secret shared by the ApplicationMaster and its TaskExecutors.
/// Its bytes are never printed: `Debug` is redacted and there is no `Display`.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps the secret's bytes; an empty secret is refused.
    pub fn new(bytes: Vec<u8>) -> Result<Self, AuthError> {
        if bytes.is_empty() {
            return Err(AuthError::EmptySecret);
        }
        Ok(Secret(bytes))
    }

    /// A fresh random 32-byte secret, for an ApplicationMaster creating its application's secret.
    pub fn generate() -> Self {
        Secret(rand::random::<[u8; 32]>().to_vec())
    }

    /// The secret's bytes, for storing it in the application's credentials.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    fn mac(
        &self,
        label: &[u8],
        first: &[u8],
        second: &[u8],
        resource_id: &ResourceId,
    ) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0)
            .expect("HMAC-SHA256 accepts keys of any length");
        mac.update(label);
        mac.update(first);
        mac.update(second);
        mac.update(resource_id.0.as_bytes());
        mac
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Authentication failures, worded for the operator reading the log.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the application secret is empty")]
    EmptySecret,
    #[error("malformed nonce or proof in the handshake: expected {expected} hex-encoded bytes")]
    Malformed { expected: usize },
    #[error(
        "authentication failed: the peer does not know this application's secret (wrong secret or \
         a different application)"
    )]
    WrongSecret,
}

/// The handshake messages (steps 1-4 above), tagged by `"type"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Handshake {
    ClientHello {
        version: u32,
        resource_id: ResourceId,
        client_nonce: String,
    },
    ServerChallenge {
        server_nonce: String,
        server_proof: String,
    },
    ClientProof {
        proof: String,
    },
    Accepted,
    Refused {
        reason: String,
    },
}

/// A fresh random nonce.
pub fn new_nonce() -> [u8; NONCE_LEN] {
    rand::random()
}

/// Decodes a hex nonce of exactly [`NONCE_LEN`] bytes.
pub fn decode_nonce(hex_nonce: &str) -> Result<[u8; NONCE_LEN], AuthError> {
    let mut nonce = [0u8; NONCE_LEN];
    hex::decode_to_slice(hex_nonce, &mut nonce).map_err(|_| AuthError::Malformed {
        expected: NONCE_LEN,
    })?;
    Ok(nonce)
}

/// The ApplicationMaster's proof (step 2).
pub fn server_proof(
    secret: &Secret,
    client_nonce: &[u8; NONCE_LEN],
    server_nonce: &[u8; NONCE_LEN],
    resource_id: &ResourceId,
) -> String {
    let mac = secret.mac(SERVER_LABEL, client_nonce, server_nonce, resource_id);
    hex::encode(mac.finalize().into_bytes())
}

/// The TaskExecutor's proof (step 3).
pub fn client_proof(
    secret: &Secret,
    server_nonce: &[u8; NONCE_LEN],
    client_nonce: &[u8; NONCE_LEN],
    resource_id: &ResourceId,
) -> String {
    let mac = secret.mac(CLIENT_LABEL, server_nonce, client_nonce, resource_id);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks the ApplicationMaster's proof in constant time.
pub fn verify_server_proof(
    secret: &Secret,
    client_nonce: &[u8; NONCE_LEN],
    server_nonce: &[u8; NONCE_LEN],
    resource_id: &ResourceId,
    proof: &str,
) -> Result<(), AuthError> {
    let mac = secret.mac(SERVER_LABEL, client_nonce, server_nonce, resource_id);
    verify(mac, proof)
}

/// Checks the TaskExecutor's proof in constant time.
pub fn verify_client_proof(
    secret: &Secret,
    server_nonce: &[u8; NONCE_LEN],
    client_nonce: &[u8; NONCE_LEN],
    resource_id: &ResourceId,
    proof: &str,
) -> Result<(), AuthError> {
    let mac = secret.mac(CLIENT_LABEL, server_nonce, client_nonce, resource_id);
    verify(mac, proof)
}

fn verify(mac: Hmac<Sha256>, proof: &str) -> Result<(), AuthError> {
    let proof = hex::decode(proof).map_err(|_| AuthError::Malformed { expected: 32 })?;
    mac.verify_slice(&proof).map_err(|_| AuthError::WrongSecret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_verify_only_with_the_same_secret_and_role() {
        let secret = Secret::new(b"s3cret".to_vec()).unwrap();
        let other = Secret::new(b"other".to_vec()).unwrap();
        let (c, s) = (new_nonce(), new_nonce());
        let rid = ResourceId::from("container_1_0001_01_000002");
        let proof = client_proof(&secret, &s, &c, &rid);
        assert_eq!(proof.len(), 64);
        assert_eq!(verify_client_proof(&secret, &s, &c, &rid, &proof), Ok(()));
        assert_eq!(
            verify_client_proof(&other, &s, &c, &rid, &proof),
            Err(AuthError::WrongSecret)
        );
        // A server proof over the same nonces is not a client proof.
        let server = server_proof(&secret, &s, &c, &rid);
        assert_eq!(
            verify_client_proof(&secret, &s, &c, &rid, &server),
            Err(AuthError::WrongSecret)
        );
        assert_eq!(
            verify_server_proof(&secret, &c, &s, &rid, "zz"),
            Err(AuthError::Malformed { expected: 32 })
        );
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = Secret::new(b"hunter2".to_vec()).unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(Secret::new(Vec::new()).unwrap_err(), AuthError::EmptySecret);
    }

    #[test]
    fn nonces_must_be_32_hex_bytes() {
        let n = new_nonce();
        assert_eq!(decode_nonce(&hex::encode(n)).unwrap(), n);
        assert!(decode_nonce("abcd").is_err());
        assert!(decode_nonce(&"g".repeat(64)).is_err());
    }
}
