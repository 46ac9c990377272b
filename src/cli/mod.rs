//! The command line on the user's machine: `spindle yarn-session` deploys, attaches to, queries and
//! stops session clusters on YARN with Flink's flags.
//!
//! - [`args`]: the flags, and the rewriting of Flink's multi-letter short options;
//! - [`checks`]: what is verified before anything is submitted;
//! - [`session`]: staging, submission, progress, `-q` and `--stop`;
//! - [`properties`]: the per-user file remembering the last session (mode 0600: it holds the
//!   session's secret, which `--stop` needs to ask the ApplicationMaster to shut down);
//! - [`embedded`]: the background mini-yarn used when no Hadoop configuration is given;
//! - [`contract`]: the names the ApplicationMaster reads (secret alias, staged files, environment).

pub mod args;
pub mod checks;
pub mod contract;
pub mod embedded;
pub mod properties;
pub mod session;

use std::io::Write;
use std::process::ExitCode;

use args::YarnSessionArgs;
use session::Environment;

/// The submitting user: `HADOOP_USER_NAME` (as Hadoop clients honour it), else `USER`, else `LOGNAME`.
pub fn current_user() -> Result<String, String> {
    ["HADOOP_USER_NAME", "USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .ok_or_else(|| "cannot tell who you are: set USER (or HADOOP_USER_NAME)".to_owned())
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

/// `spindle yarn-session`.
pub fn run_yarn_session(args: YarnSessionArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("spindle yarn-session: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(yarn_session(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spindle yarn-session: {e}");
            ExitCode::FAILURE
        }
    }
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
