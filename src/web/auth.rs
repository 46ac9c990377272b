//! Who may change the cluster through the ApplicationMaster's REST API. Read-only GETs are open,
//! as YARN's tracking UI is; a request that changes state (`DELETE /cluster`, `POST /jobs`,
//! `PATCH /jobs/{id}`) must carry `Authorization: Bearer <token>`, where the token is the hex
//! HMAC-SHA256, keyed with the application's secret, of the text `spindle-rest/1 <METHOD> <path>`
//! (e.g. `spindle-rest/1 DELETE /cluster`). The CLI holds the same secret (it created it) and
//! computes the token with [`request_token`]; the secret itself never crosses the network, and a
//! token opens only the one action it was made for (it is not bound to time: anyone who can
//! read the REST traffic can replay it, as with Flink's REST API without TLS).
//!
//! A job's key-value store takes the job's token ([`job_token`]), which the dispatcher gives that
//! job's tasks in their environment.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::resource_manager::types::JobId;
use crate::rpc::Secret;

const LABEL: &str = "spindle-rest/1";

fn mac(secret: &Secret, method: &str, path: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC-SHA256 takes any key length");
    mac.update(format!("{LABEL} {method} {path}").as_bytes());
    mac
}

/// The bearer token that authorizes `method` on `path` (e.g. `"DELETE"`, `"/cluster"`).
pub fn request_token(secret: &Secret, method: &str, path: &str) -> String {
    hex::encode(mac(secret, method, path).finalize().into_bytes())
}

/// A job's token: the bearer credential its tasks (and only they, besides the CLI) use for the
/// job's key-value store, `/jobs/<id>/kv/...`. It is the hex HMAC-SHA256 of
/// `spindle-job/1 <job id>` keyed with the application's secret, so it opens one job's store only
/// and reveals nothing about the secret.
pub fn job_token(secret: &Secret, job: &JobId) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC-SHA256 takes any key length");
    mac.update(format!("spindle-job/1 {job}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether an `Authorization` header value carries `job`'s token (constant-time).
pub fn authorizes_job(secret: &Secret, job: &JobId, header: Option<&str>) -> bool {
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    let Ok(bytes) = hex::decode(token.trim()) else {
        return false;
    };
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC-SHA256 takes any key length");
    mac.update(format!("spindle-job/1 {job}").as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

/// Whether an `Authorization` header value authorizes `method` on `path` (constant-time).
pub fn authorizes(secret: &Secret, method: &str, path: &str, header: Option<&str>) -> bool {
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    let Ok(bytes) = hex::decode(token.trim()) else {
        return false;
    };
    mac(secret, method, path).verify_slice(&bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_its_own_action_with_its_own_secret() {
        let secret = Secret::new(b"s3cret".to_vec()).unwrap();
        let token = request_token(&secret, "DELETE", "/cluster");
        assert_eq!(token.len(), 64);
        let header = format!("Bearer {token}");
        assert!(authorizes(&secret, "DELETE", "/cluster", Some(&header)));
        assert!(!authorizes(&secret, "DELETE", "/jobs", Some(&header)));
        let other = Secret::new(b"other".to_vec()).unwrap();
        assert!(!authorizes(&other, "DELETE", "/cluster", Some(&header)));
        assert!(!authorizes(&secret, "DELETE", "/cluster", Some(&token)));
        assert!(!authorizes(
            &secret,
            "DELETE",
            "/cluster",
            Some("Bearer zz")
        ));
        assert!(!authorizes(&secret, "DELETE", "/cluster", None));
    }
}
