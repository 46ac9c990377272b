//! What can go wrong talking to the ResourceManager's web services, said so that a user can act on it.

use reqwest::StatusCode;

use super::types::{RemoteExceptionData, RemoteExceptionResponse};

/// An error from [`RmClient`](super::RmClient).
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// No ResourceManager URL could be connected to.
    #[error(
        "could not connect to the ResourceManager at {urls} ({reason}); is the ResourceManager running \
         there? check yarn.resourcemanager.webapp.address (or yarn.resourcemanager.webapp.address.<rm-id> \
         with HA) in yarn-site.xml"
    )]
    Unreachable {
        /// Every URL tried, comma-separated.
        urls: String,
        /// The last connection error.
        reason: String,
    },
    /// Every reachable ResourceManager redirected elsewhere (all standby).
    #[error(
        "no active ResourceManager among {urls}: each one is standby or redirects elsewhere; check that \
         the ResourceManager HA pair has elected an active one"
    )]
    NoActive {
        /// Every URL tried, comma-separated.
        urls: String,
    },
    /// The ResourceManager answered with an error (usually with a Java `RemoteException`).
    #[error(
        "the ResourceManager refused {action}: {}{message} (HTTP {status}){}",
        if exception.is_empty() { String::new() } else { format!("{exception}: ") },
        if hint.is_empty() { String::new() } else { format!("; {hint}") }
    )]
    Refused {
        /// What was being done, e.g. `the submission of application_1700000000000_0001`.
        action: String,
        /// HTTP status.
        status: StatusCode,
        /// Exception simple class name (`BadRequestException`), empty when the body was not one.
        exception: String,
        /// Fully qualified exception class name, empty when unknown.
        java_class_name: String,
        /// The exception's message, or the start of the body.
        message: String,
        /// What to do about it, when that is known (empty otherwise).
        hint: &'static str,
    },
    /// The answer was not what the ResourceManager's web services write.
    #[error("unexpected answer from {url} to {action}: {reason}")]
    Unexpected {
        /// What was being done.
        action: String,
        /// The URL asked.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The request failed after connecting (timeout, connection reset...).
    #[error("{action} at {url} failed: {reason}")]
    Transport {
        /// What was being done.
        action: String,
        /// The URL asked.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// A ResourceManager URL given by the caller is not usable.
    #[error(
        "invalid ResourceManager web address {url:?}: {reason}; expected e.g. http://rm-host:8088"
    )]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The application did not reach a final state in time.
    #[error(
        "application {app_id} was still {state} after waiting {waited_ms} ms for it to be killed"
    )]
    KillTimedOut {
        /// The application.
        app_id: String,
        /// Its last state.
        state: String,
        /// How long we waited.
        waited_ms: u128,
    },
}

impl RestError {
    /// The HTTP status, when the ResourceManager answered with an error.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RestError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The Java exception's simple class name, when the ResourceManager sent one.
    pub fn exception(&self) -> Option<&str> {
        match self {
            RestError::Refused { exception, .. } if !exception.is_empty() => Some(exception),
            _ => None,
        }
    }

    /// Whether the thing asked about does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// Builds [`RestError::Refused`] from an error answer, reading its `RemoteException` if it has one.
    pub(crate) fn refused(action: &str, status: StatusCode, body: &[u8]) -> Self {
        let (exception, java_class_name, message) = match remote_exception(body) {
            Some(e) => (e.exception, e.java_class_name, e.message),
            None => (String::new(), String::new(), body_excerpt(body)),
        };
        let hint = hint(status, &message);
        RestError::Refused {
            action: action.to_owned(),
            status,
            exception,
            java_class_name,
            message,
            hint,
        }
    }
}

/// Advice for the refusals whose cause is a known setting.
fn hint(status: StatusCode, message: &str) -> &'static str {
    if message.contains("App submission via REST is disabled") {
        "set yarn.webapp.enable-rest-app-submissions to true in the ResourceManager's yarn-site.xml"
    } else if status == StatusCode::UNAUTHORIZED {
        "the ResourceManager needs to know who you are: give a user name (sent as user.name with \
         simple authentication); Kerberos-secured clusters are not supported"
    } else if status == StatusCode::FORBIDDEN {
        "the user lacks the rights for this (queue ACLs, yarn.admin.acl, or the application's \
         MODIFY_APP ACL)"
    } else {
        ""
    }
}

/// The `RemoteException` in an error body, if it is one.
pub(crate) fn remote_exception(body: &[u8]) -> Option<RemoteExceptionData> {
    serde_json::from_slice::<RemoteExceptionResponse>(body)
        .ok()
        .map(|r| r.remote_exception)
        .filter(|e| !e.exception.is_empty() || !e.message.is_empty())
}

/// The start of a body, as text, for an error message.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}
