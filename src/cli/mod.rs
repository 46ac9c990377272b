//! The command line on the user's machine: `spindle yarn-session` deploys, attaches to, queries and
//! stops session clusters on YARN with Flink's flags; `spindle run`, `list` and `cancel` run jobs.
//!
//! - [`args`]: the flags, and the rewriting of Flink's multi-letter short options;
//! - [`checks`]: what is verified before anything is submitted;
//! - [`session`]: staging, submission, progress, `-q` and `--stop`;
//! - [`jobs`]: `spindle run` (per-job clusters and session jobs), `spindle list`, `spindle cancel`;
//! - [`kv`]: `spindle kv`, which tasks use to reach their job's key-value store;
//! - [`properties`]: the per-user file remembering the last session (mode 0600: it holds the
//!   session's secret, which `--stop` needs to ask the ApplicationMaster to shut down);
//! - [`embedded`]: the background mini-yarn used when no Hadoop configuration is given;
//! - [`contract`]: the names the ApplicationMaster reads (secret alias, staged files, environment).

pub mod args;
pub mod checks;
pub mod contract;
pub mod embedded;
pub mod jobs;
pub mod kv;
pub mod properties;
pub mod session;

use std::io::Write;
use std::process::ExitCode;

use args::YarnSessionArgs;
use session::Environment;

/// The submitting user: `HADOOP_USER_NAME` (as Hadoop clients honour it), else `USER`, else
/// `LOGNAME`, else the name of the process's user in the password database (as Hadoop's
/// `UserGroupInformation` falls back to the OS login).
pub fn current_user() -> Result<String, String> {
    ["HADOOP_USER_NAME", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .or_else(os_user_name)
        .ok_or_else(|| "cannot tell who you are: set USER (or HADOOP_USER_NAME)".to_owned())
}

/// The login name of the process's real user, from the password database.
fn os_user_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is a valid out-parameter; getpwuid_r writes into it and `buf` only.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and `buf.len()` is the buffer's true size.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points at a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    name.to_str()
        .ok()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
}

/// Whether a Hadoop configuration folder is named in the environment.
fn hadoop_conf_dir_set() -> bool {
    ["HADOOP_CONF_DIR", "YARN_CONF_DIR"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// The cluster: the one `$HADOOP_CONF_DIR`/`$YARN_CONF_DIR` describe, else the embedded mini-yarn
/// (started when `start_embedded`, e.g. to deploy; only found when querying or stopping).
async fn environment(start_embedded: bool, out: &mut dyn Write) -> Result<Environment, String> {
    let user = current_user()?;
    let conf = if hadoop_conf_dir_set() {
        yarn::conf::Configuration::load_from_env().map_err(|e| e.to_string())?
    } else {
        embedded::embedded_cluster(&user, start_embedded, out).await?
    };
    Environment::from_hadoop_conf(&conf, &user)
}

/// Runs a command's future on a fresh runtime; an error is printed after `spindle <name>: `.
fn block_on(name: &str, f: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spindle {name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spindle {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `spindle yarn-session`.
pub fn run_yarn_session(args: YarnSessionArgs) -> ExitCode {
    block_on("yarn-session", yarn_session(args))
}

/// `spindle run`.
pub fn run_job(args: args::RunArgs) -> ExitCode {
    block_on("run", async move {
        let mut out = std::io::stdout();
        jobs::run(
            &args,
            async |deploying| environment(deploying, &mut std::io::stdout()).await,
            &mut out,
        )
        .await
    })
}

/// `spindle list`.
pub fn list_jobs(args: args::ListArgs) -> ExitCode {
    block_on("list", async move {
        let mut out = std::io::stdout();
        let env = environment(false, &mut out).await?;
        jobs::list(&args, &env, &mut out).await
    })
}

/// `spindle cancel`.
pub fn cancel_job(args: args::CancelArgs) -> ExitCode {
    block_on("cancel", async move {
        let mut out = std::io::stdout();
        let env = environment(false, &mut out).await?;
        jobs::cancel(&args, &env, &mut out).await
    })
}

async fn yarn_session(args: YarnSessionArgs) -> Result<(), String> {
    let mut out = std::io::stdout();
    let deploying = !args.stop && args.application_id.is_none();
    let env = environment(deploying || args.query, &mut out).await?;
    if args.query {
        return session::query(&env, &mut out).await;
    }
    if args.stop {
        session::stop(args.application_id.as_deref(), &env, &mut out).await?;
        return Ok(());
    }
    let app_id = match &args.application_id {
        Some(id) => {
            session::attach(&env, id, &mut out).await?;
            id.clone()
        }
        None => {
            let deployed = session::deploy(&args, &env, &mut out).await?;
            if args.detached {
                return Ok(());
            }
            deployed.application_id
        }
    };
    let _ = writeln!(out, "Watching {app_id}; press Ctrl-C to stop the session.");
    let mut watch_out = std::io::stdout();
    tokio::select! {
        report = session::watch(&env, &app_id, &mut watch_out) => {
            let report = report?;
            if report.final_status != "SUCCEEDED" {
                return Err(format!(
                    "the session {app_id} has ended {} ({}): {}; see `yarn logs -applicationId {app_id}`",
                    report.state, report.final_status, report.diagnostics.trim()
                ));
            }
            Ok(())
        }
        _ = tokio::signal::ctrl_c() => {
            let _ = writeln!(out, "Stopping the session {app_id}");
            session::stop(Some(&app_id), &env, &mut out).await.map(|_| ())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_os_user_is_found_without_environment_variables() {
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let name = super::os_user_name().expect("the process's user is in the password database");
        let line = std::fs::read_to_string("/etc/passwd")
            .unwrap()
            .lines()
            .find(|l| l.split(':').nth(2) == Some(&uid.to_string()))
            .map(|l| l.split(':').next().unwrap().to_owned());
        assert_eq!(Some(name), line);
    }
}
