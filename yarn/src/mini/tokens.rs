//! The mini cluster's token secrets: it issues AMRMTokens, NMTokens and container tokens and checks
//! them when they come back, as the RM's and NMs' secret managers do.
//!
//! A token's password is an HMAC of its identifier bytes under a master key only the cluster knows
//! (YARN uses HMAC-SHA1; a client never recomputes it, so the mini cluster's HMAC-MD5 is equally
//! opaque to it). Identifiers are YARN's own protobuf records, so real clients read them unchanged.

use hmac::{Hmac, Mac};
use md5::Md5;
use prost::Message;

use crate::credentials::{AMRM_TOKEN_KIND, CONTAINER_TOKEN_KIND, NM_TOKEN_KIND, Token};
use crate::proto::hadoop::yarn as pb;
use crate::records::{ApplicationAttemptId, ContainerId, NodeId, Priority, Resource};

/// The id of the (single, never rolled) master key of each secret manager.
pub const KEY_ID: i32 = 1;

/// The master keys (secret; `Debug` prints nothing of them).
pub struct Secrets {
    amrm_key: [u8; 32],
    nm_key: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Fields of a container token the RM fills in.
pub struct ContainerGrant<'a> {
    /// The container.
    pub container: ContainerId,
    /// The NM it is for.
    pub node: &'a NodeId,
    /// The submitting user.
    pub user: &'a str,
    /// Its resource.
    pub resource: Resource,
    /// Its priority.
    pub priority: i32,
    /// The RM's cluster timestamp.
    pub rm_identifier: i64,
    /// Creation time, ms.
    pub now_ms: i64,
    /// Whether it is an AM container.
    pub am: bool,
    /// The allocation request id of its ask.
    pub allocation_request_id: i64,
}

impl Secrets {
    /// Fresh random master keys.
    pub fn generate() -> Self {
        Secrets {
            amrm_key: rand::random(),
            nm_key: rand::random(),
        }
    }

    /// The AMRMToken of an attempt (service empty, as the RM creates it).
    pub fn amrm_token(&self, attempt: ApplicationAttemptId) -> Token {
        let id = pb::AmrmTokenIdentifierProto {
            app_attempt_id: Some(attempt.into()),
            key_id: Some(KEY_ID),
        }
        .encode_to_vec();
        let password = hmac(&self.amrm_key, &id);
        Token::new(id, password, AMRM_TOKEN_KIND, "")
    }

    /// The password of an AMRMToken identifier, and the attempt it names; `None` for garbage.
    pub fn amrm_password(&self, identifier: &[u8]) -> Option<(ApplicationAttemptId, Vec<u8>)> {
        let p = pb::AmrmTokenIdentifierProto::decode(identifier).ok()?;
        let attempt = ApplicationAttemptId::try_from(p.app_attempt_id.as_ref()?).ok()?;
        Some((attempt, hmac(&self.amrm_key, identifier)))
    }

    /// The NMToken for an attempt to talk to `node` (service `host:port`).
    pub fn nm_token(&self, attempt: ApplicationAttemptId, node: &NodeId, user: &str) -> Token {
        let id = pb::NmTokenIdentifierProto {
            app_attempt_id: Some(attempt.into()),
            node_id: Some(node.into()),
            app_submitter: Some(user.to_string()),
            key_id: Some(KEY_ID),
        }
        .encode_to_vec();
        let password = hmac(&self.nm_key, &id);
        Token::new(id, password, NM_TOKEN_KIND, node.to_string())
    }

    /// The password of an NMToken identifier and the identifier; `None` for garbage.
    pub fn nm_password(&self, identifier: &[u8]) -> Option<(pb::NmTokenIdentifierProto, Vec<u8>)> {
        let p = pb::NmTokenIdentifierProto::decode(identifier).ok()?;
        p.app_attempt_id.as_ref()?;
        Some((p, hmac(&self.nm_key, identifier)))
    }

    /// A container token for `grant` (service `host:port` of its NM).
    pub fn container_token(&self, grant: &ContainerGrant<'_>) -> Token {
        let id = pb::ContainerTokenIdentifierProto {
            container_id: Some(grant.container.into()),
            nm_host_addr: Some(grant.node.to_string()),
            app_submitter: Some(grant.user.to_string()),
            resource: Some(grant.resource.into()),
            expiry_time_stamp: Some(grant.now_ms + 600_000),
            master_key_id: Some(KEY_ID),
            rm_identifier: Some(grant.rm_identifier),
            priority: Some(Priority(grant.priority).into()),
            creation_time: Some(grant.now_ms),
            container_type: Some(if grant.am {
                pb::ContainerTypeProto::ApplicationMaster as i32
            } else {
                pb::ContainerTypeProto::Task as i32
            }),
            allocation_request_id: Some(grant.allocation_request_id),
            ..Default::default()
        }
        .encode_to_vec();
        let password = hmac(&self.nm_key, &id);
        Token::new(id, password, CONTAINER_TOKEN_KIND, grant.node.to_string())
    }

    /// Checks a container token's password; returns its identifier when it is genuine.
    pub fn verify_container_token(
        &self,
        token: &Token,
    ) -> Option<pb::ContainerTokenIdentifierProto> {
        let p = pb::ContainerTokenIdentifierProto::decode(token.identifier.as_slice()).ok()?;
        let expected = hmac(&self.nm_key, &token.identifier);
        (constant_time_eq(&expected, &token.password)).then_some(p)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::ApplicationId;

    #[test]
    fn tokens_verify_only_with_their_own_keys() {
        let s = Secrets::generate();
        let attempt = ApplicationAttemptId::new(ApplicationId::new(7, 1), 1);
        let t = s.amrm_token(attempt);
        assert_eq!(t.service, "");
        let (who, pw) = s.amrm_password(&t.identifier).unwrap();
        assert_eq!((who, pw), (attempt, t.password.clone()));
        assert_eq!(t.amrm_identifier().unwrap().application_attempt_id, attempt);
        assert!(s.amrm_password(b"\xff\xff garbage").is_none());

        let node = NodeId::new("127.0.0.1", 4545);
        let c = ContainerId::new(attempt, 2);
        let grant = ContainerGrant {
            container: c,
            node: &node,
            user: "alice",
            resource: Resource::new(1024, 1),
            priority: 1,
            rm_identifier: 7,
            now_ms: 1,
            am: false,
            allocation_request_id: -1,
        };
        let mut ct = s.container_token(&grant);
        assert!(s.verify_container_token(&ct).is_some());
        ct.password[0] ^= 1;
        assert!(s.verify_container_token(&ct).is_none());
        let other = Secrets::generate();
        assert!(
            other
                .verify_container_token(&s.container_token(&grant))
                .is_none()
        );
        assert_eq!(format!("{s:?}"), "Secrets(<redacted>)");
    }
}
