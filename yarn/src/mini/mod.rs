//! mini-yarn: an embedded one-machine YARN (a ResourceManager and NodeManagers on loopback) that
//! speaks YARN's own protocols, so that an ApplicationMaster that works here works on a real cluster
//! and one that misbehaves fails here as it would there.

pub mod journal;
pub mod localize;
pub mod nm;
pub mod process;
pub mod rm;
pub mod scheduler;
pub mod tokens;
