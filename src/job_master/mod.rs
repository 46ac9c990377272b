//! The JobMaster of one job, as a deterministic library: the execution graph with its pipelined
//! regions and shared-slot keys ([`graph`]), the slot pool and its requirement declarations
//! ([`slot_pool`]), restart strategies ([`restart`]), the state machine tying them together
//! ([`core::JobMasterCore`]), the REST-shaped summary ([`summary`]) and a virtual-time simulation
//! that plays the ResourceManager and the TaskExecutors ([`simulation`]).
//!
//! The core does no I/O and reads no clock: the ApplicationMaster hosts it in an actor, feeds it
//! the ResourceManager's and TaskExecutors' messages with the time, and carries out its commands.

pub mod core;
pub mod graph;
pub mod restart;
pub mod simulation;
pub mod slot_pool;
pub mod summary;

pub use self::core::{Command, ExecutionState, JobMasterConfig, JobMasterCore, SlotOffer};
pub use graph::ExecutionGraph;
pub use restart::{RestartBackoff, RestartStrategy};
pub use summary::{JobDetails, JobOverview};
