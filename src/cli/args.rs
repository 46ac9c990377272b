//! `spindle yarn-session`'s command line, with Flink's `yarn-session.sh` flags.
//!
//! Flink's CLI (Apache Commons CLI) has multi-letter short options (`-tm`, `-jm`, `-qu`, `-nm`,
//! `-at`, `-id`) that clap cannot express, so [`rewrite_flink_short_flags`] turns them into their long
//! forms before clap sees the arguments.

use std::ffi::OsString;
use std::path::PathBuf;

/// Flink's multi-letter short options and the long option each stands for.
const MULTI_LETTER_SHORTS: [(&str, &str); 6] = [
    ("-tm", "--taskManagerMemory"),
    ("-jm", "--jobManagerMemory"),
    ("-qu", "--queue"),
    ("-nm", "--name"),
    ("-at", "--applicationType"),
    ("-id", "--applicationId"),
];

/// `spindle run`/`list`/`cancel`'s multi-letter short options (Flink's `-y*` YARN options) and the
/// long option each stands for. `-yD` also takes its value attached (`-yDkey=value`).
const RUN_MULTI_LETTER_SHORTS: [(&str, &str); 10] = [
    ("-ytm", "--yarntaskManagerMemory"),
    ("-yjm", "--yarnjobManagerMemory"),
    ("-yqu", "--yarnqueue"),
    ("-ynm", "--yarnname"),
    ("-yid", "--yarnapplicationId"),
    ("-yat", "--yarnapplicationType"),
    ("-ys", "--yarnslots"),
    ("-yn", "--yarncontainer"),
    ("-yt", "--yarnship"),
    ("-yD", "--yarnDynamic"),
];

/// The subcommand whose arguments [`rewrite_flink_short_flags`] rewrites with the session table.
pub const SUBCOMMAND: &str = "yarn-session";
/// The subcommands whose arguments are rewritten with the `-y*` table.
const JOB_SUBCOMMANDS: [&str; 3] = ["run", "list", "cancel"];

/// Rewrites Flink's multi-letter short options after the `yarn-session` subcommand (`-tm 2g`,
/// `-tm=2g` → `--taskManagerMemory 2g`) and after `run`, `list` and `cancel` (`-ys 2` →
/// `--yarnslots 2`, `-yDk=v` → `--yarnDynamic=k=v`); everything else, and everything after
/// `--`, is left as is.
pub fn rewrite_flink_short_flags<I: IntoIterator<Item = OsString>>(argv: I) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut table: Option<&[(&str, &str)]> = None;
    let mut done = false;
    for (i, arg) in argv.into_iter().enumerate() {
        let rewritten = match arg.to_str() {
            Some("--") => {
                done = true;
                None
            }
            Some(SUBCOMMAND) if table.is_none() && i > 0 => {
                table = Some(&MULTI_LETTER_SHORTS);
                None
            }
            Some(s) if table.is_none() && i > 0 && JOB_SUBCOMMANDS.contains(&s) => {
                table = Some(&RUN_MULTI_LETTER_SHORTS);
                None
            }
            Some(s) if !done => table.and_then(|t| rewrite_one(t, s)),
            _ => None,
        };
        out.push(rewritten.map(OsString::from).unwrap_or(arg));
    }
    out
}

fn rewrite_one(table: &[(&str, &str)], arg: &str) -> Option<String> {
    table.iter().find_map(|(short, long)| {
        if arg == *short {
            Some((*long).to_owned())
        } else if *short == "-yD" {
            arg.strip_prefix(short)
                .filter(|rest| !rest.is_empty())
                .map(|value| format!("{long}={}", value.strip_prefix('=').unwrap_or(value)))
        } else {
            arg.strip_prefix(short)
                .and_then(|rest| rest.strip_prefix('='))
                .map(|value| format!("{long}={value}"))
        }
    })
}

/// `spindle yarn-session`: start a session cluster on YARN, or attach to, query or stop one.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(
    after_help = "Multi-letter short options as in Flink: -tm, -jm, -qu, -nm, -at, -id.\n\
The session is remembered in $SPINDLE_PROPERTIES_DIR (default: the system temp folder) in \
.spindle-properties-<user> (mode 0600; it holds the session's secret)."
)]
pub struct YarnSessionArgs {
    /// Slots per TaskManager (taskmanager.numberOfTaskSlots).
    #[arg(short = 's', long = "slots")]
    pub slots: Option<u32>,
    /// TaskManager process memory, MB or with a unit (1728m, 2g) (-tm; taskmanager.memory.process.size).
    #[arg(long = "taskManagerMemory", value_parser = parse_memory_mb, value_name = "MEM")]
    pub task_manager_memory_mb: Option<u64>,
    /// JobManager (ApplicationMaster) process memory, MB or with a unit (-jm; jobmanager.memory.process.size).
    #[arg(long = "jobManagerMemory", value_parser = parse_memory_mb, value_name = "MEM")]
    pub job_manager_memory_mb: Option<u64>,
    /// YARN queue (-qu; yarn.application.queue).
    #[arg(long = "queue")]
    pub queue: Option<String>,
    /// Application name (-nm; yarn.application.name).
    #[arg(long = "name")]
    pub name: Option<String>,
    /// Application type (-at; yarn.application.type).
    #[arg(long = "applicationType")]
    pub application_type: Option<String>,
    /// Return once the session runs instead of watching it.
    #[arg(short = 'd', long = "detached")]
    pub detached: bool,
    /// A Flink configuration property, key=value (repeatable).
    #[arg(short = 'D', value_parser = parse_dynamic_property, value_name = "KEY=VALUE")]
    pub dynamic: Vec<(String, String)>,
    /// A file or folder to ship to every container (repeatable; yarn.ship-files).
    #[arg(short = 't', long = "ship", value_name = "PATH")]
    pub ship: Vec<PathBuf>,
    /// A running session to attach to, or to stop with --stop (-id).
    #[arg(long = "applicationId", value_name = "APP_ID")]
    pub application_id: Option<String>,
    /// Print the YARN cluster's nodes and free resources, and exit.
    #[arg(short = 'q', long = "query")]
    pub query: bool,
    /// Stop the session named by -id, or the one in the properties file.
    #[arg(long = "stop")]
    pub stop: bool,
}

/// `spindle run`: run a job on YARN, in a per-job cluster or in the running session.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(
    after_help = "Per-job mode with -m yarn-cluster or -t yarn-per-job: a cluster is \
started for the job and ends with it. Otherwise the job goes to the session in the properties \
file (or the one named by -yid).\nMulti-letter short options as in Flink: -ys, -ytm, -yjm, -yqu, \
-ynm, -yat, -yid, -yt, -yD; -yn is accepted and ignored."
)]
pub struct RunArgs {
    /// The job spec (YAML or JSON).
    #[arg(value_name = "JOBSPEC")]
    pub spec: PathBuf,
    /// `yarn-cluster` for a per-job cluster.
    #[arg(short = 'm', long = "jobmanager", value_name = "ADDRESS")]
    pub jobmanager: Option<String>,
    /// `yarn-per-job` (a cluster for this job) or `yarn-session` (the running session).
    #[arg(short = 't', long = "target", value_name = "TARGET")]
    pub target: Option<String>,
    /// Parallelism of vertices that do not set their own (parallelism.default).
    #[arg(short = 'p', long = "parallelism")]
    pub parallelism: Option<u32>,
    /// Submit and return without waiting for the job's end.
    #[arg(short = 'd', long = "detached")]
    pub detached: bool,
    /// Slots per TaskManager (-ys; taskmanager.numberOfTaskSlots).
    #[arg(long = "yarnslots")]
    pub slots: Option<u32>,
    /// TaskManager process memory, MB or with a unit (-ytm).
    #[arg(long = "yarntaskManagerMemory", value_parser = parse_memory_mb, value_name = "MEM")]
    pub task_manager_memory_mb: Option<u64>,
    /// JobManager (ApplicationMaster) process memory, MB or with a unit (-yjm).
    #[arg(long = "yarnjobManagerMemory", value_parser = parse_memory_mb, value_name = "MEM")]
    pub job_manager_memory_mb: Option<u64>,
    /// YARN queue (-yqu).
    #[arg(long = "yarnqueue")]
    pub queue: Option<String>,
    /// Application name (-ynm; default: the job's name).
    #[arg(long = "yarnname")]
    pub name: Option<String>,
    /// Application type (-yat).
    #[arg(long = "yarnapplicationType")]
    pub application_type: Option<String>,
    /// The session to submit to (-yid), instead of the one in the properties file.
    #[arg(long = "yarnapplicationId", value_name = "APP_ID")]
    pub application_id: Option<String>,
    /// A file or folder to ship to every container (-yt; repeatable).
    #[arg(long = "yarnship", value_name = "PATH")]
    pub ship: Vec<PathBuf>,
    /// Number of TaskManagers (-yn): ignored, as in Flink; TaskManagers follow the job's needs.
    #[arg(long = "yarncontainer", value_name = "N")]
    pub containers: Option<u32>,
    /// A configuration property of the per-job cluster, key=value (-yD; repeatable).
    #[arg(long = "yarnDynamic", value_parser = parse_dynamic_property, value_name = "KEY=VALUE")]
    pub yarn_dynamic: Vec<(String, String)>,
    /// A configuration property, key=value (repeatable).
    #[arg(short = 'D', value_parser = parse_dynamic_property, value_name = "KEY=VALUE")]
    pub dynamic: Vec<(String, String)>,
}

/// `spindle list`: the jobs of the session.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ListArgs {
    /// The session (-yid), instead of the one in the properties file.
    #[arg(long = "yarnapplicationId", value_name = "APP_ID")]
    pub application_id: Option<String>,
    /// Also list jobs that have ended.
    #[arg(short = 'a', long = "all")]
    pub all: bool,
}

/// `spindle cancel`: cancel a job of the session.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CancelArgs {
    /// The job id (32 hex digits, as `spindle list` shows).
    #[arg(value_name = "JOBID")]
    pub job: String,
    /// The session (-yid), instead of the one in the properties file.
    #[arg(long = "yarnapplicationId", value_name = "APP_ID")]
    pub application_id: Option<String>,
}

/// A `-D key=value`.
pub fn parse_dynamic_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!(
            "expected -D key=value (e.g. -Dtaskmanager.numberOfTaskSlots=2), got {s:?}"
        )),
    }
}

/// A memory size as Flink's `-tm`/`-jm` take it: a bare number is MB; units b, k(b), m(b), g(b),
/// t(b) (binary multiples, case-insensitive) are accepted; the result is whole MB, rounded up.
pub fn parse_memory_mb(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let bad = || {
        format!(
            "invalid memory size {s:?}: expected a number of MB or a size with a unit, e.g. 1728, 1728m or 2g"
        )
    };
    if digits == 0 {
        return Err(bad());
    }
    let n: u64 = t[..digits].parse().map_err(|_| bad())?;
    let bytes_per_unit: u64 = match t[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "m" | "mb" | "mebibytes" => 1 << 20,
        "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "g" | "gb" | "gibibytes" => 1 << 30,
        "t" | "tb" | "tebibytes" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = n.checked_mul(bytes_per_unit).ok_or_else(bad)?;
    let mb = bytes.div_ceil(1 << 20);
    if mb == 0 {
        return Err(format!(
            "invalid memory size {s:?}: it must be at least 1 MB"
        ));
    }
    Ok(mb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: Sub,
    }

    #[derive(clap::Subcommand, Debug)]
    enum Sub {
        YarnSession(YarnSessionArgs),
    }

    fn parse(args: &[&str]) -> Result<YarnSessionArgs, clap::Error> {
        let argv = std::iter::once("spindle")
            .chain(std::iter::once("yarn-session"))
            .chain(args.iter().copied())
            .map(OsString::from);
        let Sub::YarnSession(a) = Cli::try_parse_from(rewrite_flink_short_flags(argv))?.command;
        Ok(a)
    }

    #[test]
    fn flink_flags_parse_including_multi_letter_shorts() {
        let a = parse(&[
            "-s",
            "2",
            "-tm",
            "2g",
            "-jm=512",
            "-qu",
            "root.batch",
            "-nm",
            "my session",
            "-at",
            "Flink",
            "-d",
            "-Dslotmanager.number-of-slots.min=4",
            "-D",
            "a.b = c=d",
            "-t",
            "conf/",
            "--ship",
            "x.txt",
            "-id",
            "application_1_0001",
            "-q",
            "--stop",
        ])
        .unwrap();
        assert_eq!(a.slots, Some(2));
        assert_eq!(a.task_manager_memory_mb, Some(2048));
        assert_eq!(a.job_manager_memory_mb, Some(512));
        assert_eq!(a.queue.as_deref(), Some("root.batch"));
        assert_eq!(a.name.as_deref(), Some("my session"));
        assert_eq!(a.application_type.as_deref(), Some("Flink"));
        assert!(a.detached && a.query && a.stop);
        assert_eq!(
            a.dynamic,
            vec![
                ("slotmanager.number-of-slots.min".to_owned(), "4".to_owned()),
                ("a.b".to_owned(), "c=d".to_owned())
            ]
        );
        assert_eq!(a.ship, vec![PathBuf::from("conf/"), PathBuf::from("x.txt")]);
        assert_eq!(a.application_id.as_deref(), Some("application_1_0001"));
    }

    #[test]
    fn long_forms_work_too_and_defaults_are_empty() {
        let a = parse(&[
            "--slots",
            "3",
            "--taskManagerMemory",
            "1728m",
            "--queue",
            "q",
        ])
        .unwrap();
        assert_eq!((a.slots, a.task_manager_memory_mb), (Some(3), Some(1728)));
        let a = parse(&[]).unwrap();
        assert!(a.slots.is_none() && !a.detached && a.dynamic.is_empty());
    }

    #[test]
    fn rewriting_leaves_other_arguments_and_other_subcommands_alone() {
        let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        // Before the subcommand, after `--`, and look-alikes such as `-tmx` are not rewritten.
        assert_eq!(
            rewrite_flink_short_flags(os(&["spindle", "-id", "jobmanager", "-tm"])),
            os(&["spindle", "-id", "jobmanager", "-tm"])
        );
        assert_eq!(
            rewrite_flink_short_flags(os(&[
                "spindle",
                "yarn-session",
                "-tmx",
                "-nm",
                "-- ",
                "--",
                "-qu"
            ])),
            os(&[
                "spindle",
                "yarn-session",
                "-tmx",
                "--name",
                "-- ",
                "--",
                "-qu"
            ])
        );
    }

    #[test]
    fn bad_values_are_refused_with_what_to_write() {
        let e = parse(&["-tm", "lots"]).unwrap_err().to_string();
        assert!(e.contains("1728m or 2g"), "{e}");
        let e = parse(&["-D", "novalue"]).unwrap_err().to_string();
        assert!(e.contains("key=value"), "{e}");
        assert!(parse(&["-s", "-1"]).is_err());
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory_mb("1024").unwrap(), 1024);
        assert_eq!(parse_memory_mb("1024m").unwrap(), 1024);
        assert_eq!(parse_memory_mb("1024 MB").unwrap(), 1024);
        assert_eq!(parse_memory_mb("2g").unwrap(), 2048);
        assert_eq!(parse_memory_mb("2GB").unwrap(), 2048);
        assert_eq!(parse_memory_mb("1t").unwrap(), 1 << 20);
        assert_eq!(parse_memory_mb("1536k").unwrap(), 2);
        assert_eq!(parse_memory_mb("1048576b").unwrap(), 1);
        assert!(parse_memory_mb("0").is_err());
        assert!(parse_memory_mb("12x").is_err());
        assert!(parse_memory_mb("m").is_err());
        assert!(parse_memory_mb("99999999999999999999").is_err());
    }
}
