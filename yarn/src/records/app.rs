//! Application-level states: what the ResourceManager says an application is doing
//! ([`YarnApplicationState`]) and how its ApplicationMaster said it ended ([`FinalApplicationStatus`]).
//! Their names are YARN's, as they appear in REST JSON and the `yarn` CLI.

use std::fmt;
use std::str::FromStr;

use crate::proto::hadoop::yarn as pb;
use crate::records::RecordError;

/// A state name that is not one of YARN's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {input:?}; expected one of {expected}")]
pub struct UnknownStateError {
    what: &'static str,
    input: String,
    expected: &'static str,
}

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal, $proto:ident, {
        $($(#[$vdoc:meta])* $variant:ident = $text:literal / $pvariant:ident,)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// YARN's name for the value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownStateError;
            fn from_str(s: &str) -> Result<Self, UnknownStateError> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(UnknownStateError {
                        what: $what,
                        input: s.to_owned(),
                        expected: concat!($($text, " "),*),
                    }),
                }
            }
        }

        impl From<$name> for pb::$proto {
            fn from(v: $name) -> Self {
                match v { $($name::$variant => pb::$proto::$pvariant,)* }
            }
        }

        impl From<pb::$proto> for $name {
            fn from(v: pb::$proto) -> Self {
                match v { $(pb::$proto::$pvariant => $name::$variant,)* }
            }
        }

        impl TryFrom<i32> for $name {
            type Error = RecordError;
            /// From the raw protobuf enum number.
            fn try_from(v: i32) -> Result<Self, RecordError> {
                pb::$proto::try_from(v).map(Into::into).map_err(|_| RecordError::UnknownEnumValue {
                    record: stringify!($proto),
                    field: "value",
                    value: v,
                })
            }
        }
    };
}

named_enum!(
    /// How an application ended, as its ApplicationMaster reports when unregistering.
    FinalApplicationStatus, "final application status", FinalApplicationStatusProto, {
        /// Not finished yet, or the AM did not say.
        Undefined = "UNDEFINED" / AppUndefined,
        /// The application did its work.
        Succeeded = "SUCCEEDED" / AppSucceeded,
        /// The application failed.
        Failed = "FAILED" / AppFailed,
        /// The application was killed.
        Killed = "KILLED" / AppKilled,
        /// The application ended (for long-running services without a success notion).
        Ended = "ENDED" / AppEnded,
    }
);

named_enum!(
    /// The ResourceManager's view of an application.
    YarnApplicationState, "application state", YarnApplicationStateProto, {
        /// Just created.
        New = "NEW" / New,
        /// Being stored in the RM state store.
        NewSaving = "NEW_SAVING" / NewSaving,
        /// Submitted to the scheduler.
        Submitted = "SUBMITTED" / Submitted,
        /// Accepted by the scheduler; waiting for its AM container.
        Accepted = "ACCEPTED" / Accepted,
        /// The AM is running.
        Running = "RUNNING" / Running,
        /// Finished (see the final status for how).
        Finished = "FINISHED" / Finished,
        /// Failed.
        Failed = "FAILED" / Failed,
        /// Killed.
        Killed = "KILLED" / Killed,
    }
);

impl YarnApplicationState {
    /// Whether the application has ended and will not change state again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            YarnApplicationState::Finished
                | YarnApplicationState::Failed
                | YarnApplicationState::Killed
        )
    }
}
