//! Resources (memory and virtual cores) and priorities, with the arithmetic a scheduler and an
//! ApplicationMaster need: sums, saturating differences, "does it fit", and YARN's normalization of asks
//! to the scheduler's minimum and increment.

use std::fmt;
use std::ops::{Add, AddAssign};

use crate::proto::hadoop::yarn as pb;

/// The name YARN gives memory in a `ResourceInformationProto` map.
const MEMORY_KEY: &str = "memory-mb";
/// The name YARN gives virtual cores in a `ResourceInformationProto` map.
const VCORES_KEY: &str = "vcores";

/// An amount of memory (MiB) and virtual cores.
///
/// Other resource types YARN can carry (GPUs, FPGAs) are not modelled; records holding them convert with
/// those entries dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Resource {
    /// Memory in MiB.
    pub memory_mb: i64,
    /// Virtual cores.
    pub vcores: i32,
}

impl Resource {
    /// Nothing.
    pub const ZERO: Resource = Resource {
        memory_mb: 0,
        vcores: 0,
    };

    /// A resource of `memory_mb` MiB and `vcores` virtual cores.
    pub const fn new(memory_mb: i64, vcores: i32) -> Self {
        Resource { memory_mb, vcores }
    }

    /// Whether `self` fits inside `available` in every dimension.
    pub fn fits_in(&self, available: &Resource) -> bool {
        self.memory_mb <= available.memory_mb && self.vcores <= available.vcores
    }

    /// `self - other` per dimension, never below zero (what is left of a capacity after a use).
    pub fn saturating_sub(self, other: Resource) -> Resource {
        Resource {
            memory_mb: self.memory_mb.saturating_sub(other.memory_mb).max(0),
            vcores: self.vcores.saturating_sub(other.vcores).max(0),
        }
    }

    /// `self` taken `n` times (e.g. the total of `n` equal containers), saturating.
    pub fn times(self, n: u32) -> Resource {
        Resource {
            memory_mb: self.memory_mb.saturating_mul(i64::from(n)),
            vcores: self.vcores.saturating_mul(n.min(i32::MAX as u32) as i32),
        }
    }

    /// The per-dimension maximum.
    pub fn max(self, other: Resource) -> Resource {
        Resource {
            memory_mb: self.memory_mb.max(other.memory_mb),
            vcores: self.vcores.max(other.vcores),
        }
    }

    /// The per-dimension minimum.
    pub fn min(self, other: Resource) -> Resource {
        Resource {
            memory_mb: self.memory_mb.min(other.memory_mb),
            vcores: self.vcores.min(other.vcores),
        }
    }

    /// Each dimension rounded up to a multiple of `step`'s (a step of 0 or less leaves it as is).
    pub fn round_up_to(self, step: Resource) -> Resource {
        fn up(v: i64, step: i64) -> i64 {
            if step <= 0 {
                v
            } else {
                let q = v / step + i64::from(v % step > 0);
                q.saturating_mul(step)
            }
        }
        Resource {
            memory_mb: up(self.memory_mb, step.memory_mb),
            vcores: up(i64::from(self.vcores), i64::from(step.vcores)).min(i64::from(i32::MAX))
                as i32,
        }
    }

    /// What YARN's scheduler makes of an ask: at least `minimum`, rounded up to a multiple of `step`,
    /// at most `maximum` (per dimension). The scheduler's step is its minimum allocation unless an
    /// increment is configured.
    pub fn normalize(self, minimum: Resource, step: Resource, maximum: Resource) -> Resource {
        self.max(minimum).round_up_to(step).min(maximum)
    }

    /// Whether both dimensions are zero or less.
    pub fn is_empty(&self) -> bool {
        self.memory_mb <= 0 && self.vcores <= 0
    }
}

impl Add for Resource {
    type Output = Resource;
    /// Per-dimension sum, saturating.
    fn add(self, other: Resource) -> Resource {
        Resource {
            memory_mb: self.memory_mb.saturating_add(other.memory_mb),
            vcores: self.vcores.saturating_add(other.vcores),
        }
    }
}

impl AddAssign for Resource {
    fn add_assign(&mut self, other: Resource) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Resource {
    fn sum<I: Iterator<Item = Resource>>(iter: I) -> Resource {
        iter.fold(Resource::ZERO, Add::add)
    }
}

impl fmt::Display for Resource {
    /// YARN's own rendering: `<memory:1024, vCores:1>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<memory:{}, vCores:{}>", self.memory_mb, self.vcores)
    }
}

impl From<Resource> for pb::ResourceProto {
    /// Writes only the two classic fields, which every YARN since 2.x reads.
    fn from(r: Resource) -> Self {
        pb::ResourceProto {
            memory: Some(r.memory_mb),
            virtual_cores: Some(r.vcores),
            resource_value_map: Vec::new(),
        }
    }
}

impl From<&pb::ResourceProto> for Resource {
    /// Fields 1 and 2 win; the `memory-mb` / `vcores` map entries fill in when they are absent.
    fn from(p: &pb::ResourceProto) -> Self {
        let entry = |key: &str| p.resource_value_map.iter().find(|e| e.key == key);
        let memory_mb = p.memory.unwrap_or_else(|| {
            entry(MEMORY_KEY)
                .map(|e| memory_in_mib(e.value.unwrap_or(0), e.units.as_deref().unwrap_or("Mi")))
                .unwrap_or(0)
        });
        let vcores = p.virtual_cores.unwrap_or_else(|| {
            entry(VCORES_KEY)
                .and_then(|e| e.value)
                .map(|v| v.clamp(0, i64::from(i32::MAX)) as i32)
                .unwrap_or(0)
        });
        Resource { memory_mb, vcores }
    }
}

/// Converts a memory amount in one of YARN's binary units to MiB (rounding down).
fn memory_in_mib(value: i64, units: &str) -> i64 {
    match units {
        "Ki" => value / 1024,
        "Gi" => value.saturating_mul(1024),
        "Ti" => value.saturating_mul(1024 * 1024),
        "Pi" => value.saturating_mul(1024 * 1024 * 1024),
        _ => value,
    }
}

/// A request priority. Smaller numbers are more urgent (YARN serves priority 0 before 1), so the
/// derived `Ord` sorts the most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Priority(pub i32);

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Priority> for pb::PriorityProto {
    fn from(p: Priority) -> Self {
        pb::PriorityProto {
            priority: Some(p.0),
        }
    }
}

impl From<&pb::PriorityProto> for Priority {
    fn from(p: &pb::PriorityProto) -> Self {
        Priority(p.priority.unwrap_or(0))
    }
}
