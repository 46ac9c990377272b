//! `spindle kv get|put|wait`: a task's access to its job's key-value store in the
//! ApplicationMaster. The TaskExecutor gives every task the store's address
//! ([`ENV_KV_URL`]), its job id (`SPINDLE_JOB_ID`) and the job's token ([`ENV_JOB_TOKEN`]);
//! the token opens this job's store only.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::dispatcher::{ENV_JOB_TOKEN, ENV_KV_URL};

/// `spindle kv`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    after_help = "Runs inside a task of a spindle job, which has SPINDLE_KV_URL, SPINDLE_JOB_ID \
and SPINDLE_JOB_TOKEN in its environment."
)]
pub struct KvArgs {
    #[command(subcommand)]
    pub command: KvCommand,
}

/// What to do with the store.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum KvCommand {
    /// Print a key's value; exit 1 when it is not set.
    Get { key: String },
    /// Set a key, to VALUE or to what stdin holds.
    Put { key: String, value: Option<String> },
    /// Wait until a key is set, then print its value; exit 1 after the timeout.
    Wait {
        key: String,
        /// Seconds to wait at most.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
}

struct Store {
    base: String,
    token: String,
    http: reqwest::Client,
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            format!(
                "{name} is not set: `spindle kv` runs inside a task of a spindle job, which has \
                 SPINDLE_KV_URL, SPINDLE_JOB_ID and SPINDLE_JOB_TOKEN in its environment"
            )
        })
}

/// A key in a URL path: every byte but unreserved characters and `/` percent-encoded.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Store {
    fn from_env() -> Result<Self, String> {
        let url = env(ENV_KV_URL)?;
        let job = env("SPINDLE_JOB_ID")?;
        let token = env(ENV_JOB_TOKEN)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Store {
            base: format!("{}/jobs/{job}/kv", url.trim_end_matches('/')),
            token,
            http,
        })
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{}", self.base, encode_key(key))
    }

    async fn refused(response: reqwest::Response) -> String {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["errors"][0].as_str().map(str::to_owned))
            .unwrap_or(body);
        format!("the key-value store answered HTTP {status}: {message}")
    }

    /// `Ok(None)`: the key is not set (or not within `wait_ms`).
    async fn get(&self, key: &str, wait_ms: Option<u64>) -> Result<Option<String>, String> {
        let mut request = self.http.get(self.url(key)).bearer_auth(&self.token);
        if let Some(ms) = wait_ms {
            request = request.query(&[("wait", ms)]);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("cannot reach the key-value store: {e}"))?;
        match response.status().as_u16() {
            200 => response
                .text()
                .await
                .map(Some)
                .map_err(|e| format!("cannot read the value: {e}")),
            404 => {
                let message = Self::refused(response).await;
                // An unknown job is an error; an unset key is `None`.
                if message.contains("no job") {
                    Err(message)
                } else {
                    Ok(None)
                }
            }
            _ => Err(Self::refused(response).await),
        }
    }

    async fn put(&self, key: &str, value: String) -> Result<(), String> {
        let response = self
            .http
            .put(self.url(key))
            .bearer_auth(&self.token)
            .body(value)
            .send()
            .await
            .map_err(|e| format!("cannot reach the key-value store: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::refused(response).await)
        }
    }
}

async fn kv(args: KvArgs) -> Result<bool, String> {
    let store = Store::from_env()?;
    match args.command {
        KvCommand::Get { key } => match store.get(&key, None).await? {
            Some(v) => {
                print!("{v}");
                let _ = std::io::stdout().flush();
                Ok(true)
            }
            None => {
                eprintln!("spindle kv: the job has no key {key:?}");
                Ok(false)
            }
        },
        KvCommand::Put { key, value } => {
            let value = match value {
                Some(v) => v,
                None => {
                    let mut v = String::new();
                    std::io::stdin()
                        .read_to_string(&mut v)
                        .map_err(|e| format!("cannot read the value from stdin: {e}"))?;
                    v
                }
            };
            store.put(&key, value).await.map(|()| true)
        }
        KvCommand::Wait { key, timeout } => {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                // Long polls of at most the server's limit, until the deadline.
                let wait = left.min(crate::web::MAX_KV_WAIT).as_millis() as u64;
                if let Some(v) = store.get(&key, Some(wait.max(1))).await? {
                    print!("{v}");
                    let _ = std::io::stdout().flush();
                    return Ok(true);
                }
                if tokio::time::Instant::now() >= deadline {
                    eprintln!("spindle kv: {key:?} was not set within {timeout} s");
                    return Ok(false);
                }
            }
        }
    }
}

/// Runs `spindle kv`: 0 on success, 1 for a missing key or a timeout, 2 for an error.
pub fn run(args: KvArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spindle kv: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(kv(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("spindle kv: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_keep_slashes_and_encode_the_rest() {
        assert_eq!(super::encode_key("wordcount/0"), "wordcount/0");
        assert_eq!(super::encode_key("a b?c%"), "a%20b%3Fc%25");
        assert_eq!(super::encode_key("é"), "%C3%A9");
    }
}
