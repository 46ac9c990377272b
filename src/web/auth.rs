//! Who may change the cluster through the ApplicationMaster's REST API. Read-only GETs are open,
//! as YARN's tracking UI is; a request that changes state (`DELETE /cluster`, `POST /jobs`,
//! `PATCH /jobs/{id}`) must carry `Authorization: Bearer <token>`, where the token is the hex
//! HMAC-SHA256, keyed with the application's secret, of the text `spindle-rest/1 <METHOD> <path>`
//! (e.g. `spindle-rest/1 DELETE /cluster`). The CLI holds the same secret (it created it) and
//! computes the token with [`request_token`]; the secret itself never crosses the network, and a
//! token opens only the one action it was made for (it is not bound to time: anyone who can
//! read the REST traffic can replay it, as with Flink's REST API without TLS).
//!
//! Submitting and cancelling jobs (`POST /jobs`, `PATCH /jobs/{id}`) bind the token to the body and
//! a time too ([`signed_request_token`], the time in [`DATE_HEADER`]): a recorded submission cannot
//! be replayed with another spec, nor more than [`MAX_SKEW_SECS`] later.
//!
//! A job's key-value store takes the job's token ([`job_token`]), which the dispatcher gives that
//! job's tasks in their environment.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::resource_manager::types::JobId;
use crate::rpc::Secret;

const LABEL: &str = "spindle-rest/1";
const SIGNED_LABEL: &str = "spindle-rest/2";

/// The header carrying a signed request's time (seconds since the epoch).
pub const DATE_HEADER: &str = "x-spindle-date";
/// How far a signed request's time may be from the ApplicationMaster's clock.
pub const MAX_SKEW_SECS: u64 = 300;

fn mac_of(secret: &Secret, text: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC-SHA256 takes any key length");
    mac.update(text.as_bytes());
    mac
}

/// Whether `header` is `Bearer <hex>` and the hex is `mac`'s tag (constant-time).
fn verify(mac: Hmac<Sha256>, header: Option<&str>) -> bool {
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    let Ok(bytes) = hex::decode(token.trim()) else {
        return false;
    };
    mac.verify_slice(&bytes).is_ok()
}

fn mac(secret: &Secret, method: &str, path: &str) -> Hmac<Sha256> {
    mac_of(secret, &format!("{LABEL} {method} {path}"))
}

/// The bearer token that authorizes `method` on `path` (e.g. `"DELETE"`, `"/cluster"`).
pub fn request_token(secret: &Secret, method: &str, path: &str) -> String {
    hex::encode(mac(secret, method, path).finalize().into_bytes())
}

/// Whether an `Authorization` header value authorizes `method` on `path` (constant-time).
pub fn authorizes(secret: &Secret, method: &str, path: &str, header: Option<&str>) -> bool {
    verify(mac(secret, method, path), header)
}

fn signed_mac(secret: &Secret, method: &str, path: &str, body: &[u8], date: u64) -> Hmac<Sha256> {
    let digest = hex::encode(Sha256::digest(body));
    mac_of(
        secret,
        &format!("{SIGNED_LABEL} {method} {path} {date} {digest}"),
    )
}

/// The bearer token of a request that carries a body and a time (job submission and
/// cancellation): it opens `method` on `path` with exactly this body, for [`MAX_SKEW_SECS`]
/// around `date` (sent in [`DATE_HEADER`]). A recorded request cannot be replayed with another
/// body, nor later than that.
pub fn signed_request_token(
    secret: &Secret,
    method: &str,
    path: &str,
    body: &[u8],
    date: u64,
) -> String {
    hex::encode(
        signed_mac(secret, method, path, body, date)
            .finalize()
            .into_bytes(),
    )
}

/// Whether a signed request's headers authorize `method` on `path` with `body` at `now`
/// (seconds since the epoch).
pub fn authorizes_signed(
    secret: &Secret,
    method: &str,
    path: &str,
    body: &[u8],
    date_header: Option<&str>,
    authorization: Option<&str>,
    now: u64,
) -> bool {
    let Some(date) = date_header.and_then(|d| d.trim().parse::<u64>().ok()) else {
        return false;
    };
    now.abs_diff(date) <= MAX_SKEW_SECS
        && verify(signed_mac(secret, method, path, body, date), authorization)
}

/// Seconds since the epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn job_mac(secret: &Secret, job: &JobId) -> Hmac<Sha256> {
    mac_of(secret, &format!("spindle-job/1 {job}"))
}

/// A job's token: the bearer credential its tasks (and only they, besides the CLI) use for the
/// job's key-value store, `/jobs/<id>/kv/...`. It is the hex HMAC-SHA256 of
/// `spindle-job/1 <job id>` keyed with the application's secret, so it opens one job's store only
/// and reveals nothing about the secret.
pub fn job_token(secret: &Secret, job: &JobId) -> String {
    hex::encode(job_mac(secret, job).finalize().into_bytes())
}

/// Whether an `Authorization` header value carries `job`'s token (constant-time).
pub fn authorizes_job(secret: &Secret, job: &JobId, header: Option<&str>) -> bool {
    verify(job_mac(secret, job), header)
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

    #[test]
    fn a_signed_token_opens_one_body_for_a_while() {
        let secret = Secret::new(b"s3cret".to_vec()).unwrap();
        let now = 1_800_000_000;
        let token = signed_request_token(&secret, "POST", "/jobs", b"{spec}", now);
        let header = format!("Bearer {token}");
        let date = now.to_string();
        let ok = |body: &[u8], at: u64, date: Option<&str>, header: &str| {
            authorizes_signed(&secret, "POST", "/jobs", body, date, Some(header), at)
        };
        assert!(ok(b"{spec}", now, Some(&date), &header));
        assert!(ok(b"{spec}", now + MAX_SKEW_SECS, Some(&date), &header));
        assert!(!ok(
            b"{spec}",
            now + MAX_SKEW_SECS + 1,
            Some(&date),
            &header
        ));
        assert!(!ok(b"{other spec}", now, Some(&date), &header));
        assert!(!ok(b"{spec}", now, Some("1800000001"), &header));
        assert!(!ok(b"{spec}", now, None, &header));
        assert!(!authorizes_signed(
            &secret,
            "PATCH",
            "/jobs",
            b"{spec}",
            Some(&date),
            Some(&header),
            now
        ));
    }

    #[test]
    fn a_job_token_opens_its_own_job_only() {
        let secret = Secret::new(b"s3cret".to_vec()).unwrap();
        let token = format!("Bearer {}", job_token(&secret, &JobId(1)));
        assert!(authorizes_job(&secret, &JobId(1), Some(&token)));
        assert!(!authorizes_job(&secret, &JobId(2), Some(&token)));
    }
}
