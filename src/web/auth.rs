//! Who may change the session through the ApplicationMaster's REST API. Read-only GETs are open,
//! as YARN's tracking UI is; a request that changes state (today only `DELETE /cluster`) must
//! carry `Authorization: Bearer <token>`, where the token is the hex HMAC-SHA256, keyed with the
//! application's secret, of the text `spindle-rest/1 <METHOD> <path>` (e.g.
//! `spindle-rest/1 DELETE /cluster`). The CLI holds the same secret (it created it) and computes
//! the token with [`request_token`]; the secret itself never crosses the network, and a token
//! opens only the one action it was made for.

use hmac::{Hmac, Mac};
use sha2::Sha256;

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
