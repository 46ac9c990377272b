//! Per-job accounting of required against acquired resources, as Flink's JobScopedResourceTracker:
//! each acquired slot serves one requirement profile (an exact match first, else any profile it
//! satisfies) or is "excess" when requirements fall; excess slots serve again when they rise.
//!
//! The set of jobs with missing resources is kept up to date, so a requirement check visits only
//! the jobs that need something.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::types::{AllocationId, DetMap, JobId, ResourceProfile, Resources};

#[derive(Debug, Default)]
struct Job {
    target_address: Arc<str>,
    required: BTreeMap<ResourceProfile, u32>,
    serving: BTreeMap<ResourceProfile, BTreeSet<AllocationId>>,
    excess: BTreeMap<AllocationId, Resources>,
    acquired: DetMap<AllocationId, (Resources, Option<ResourceProfile>)>,
}

impl Job {
    fn missing_of(&self, profile: &ResourceProfile) -> u32 {
        let required = self.required.get(profile).copied().unwrap_or(0);
        let serving = self.serving.get(profile).map_or(0, |s| s.len() as u32);
        required.saturating_sub(serving)
    }

    fn has_missing(&self) -> bool {
        self.required.keys().any(|p| self.missing_of(p) > 0)
    }

    fn missing(&self) -> Vec<(ResourceProfile, u32)> {
        self.required
            .keys()
            .map(|p| (*p, self.missing_of(p)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The profile an acquired slot should serve: the hint, an exact match, or any it satisfies.
    fn profile_for(
        &self,
        resources: &Resources,
        hint: Option<ResourceProfile>,
    ) -> Option<ResourceProfile> {
        if let Some(p) = hint.filter(|p| self.missing_of(p) > 0) {
            return Some(p);
        }
        let exact = ResourceProfile::Fixed(*resources);
        if self.missing_of(&exact) > 0 {
            return Some(exact);
        }
        self.required
            .keys()
            .copied()
            .find(|p| p.is_matched_by(resources) && self.missing_of(p) > 0)
    }

    fn serve(&mut self, allocation: AllocationId, profile: Option<ResourceProfile>) {
        let entry = self.acquired.get_mut(&allocation).expect("acquired");
        entry.1 = profile;
        match profile {
            Some(p) => {
                self.serving.entry(p).or_default().insert(allocation);
            }
            None => {
                self.excess.insert(allocation, entry.0);
            }
        }
    }

    /// Gives excess slots to requirements that miss something.
    fn reassign_excess(&mut self) {
        let excess: Vec<(AllocationId, Resources)> =
            self.excess.iter().map(|(a, r)| (*a, *r)).collect();
        for (allocation, resources) in excess {
            if let Some(p) = self.profile_for(&resources, None) {
                self.excess.remove(&allocation);
                self.serve(allocation, Some(p));
            }
        }
    }
}

/// Required and acquired resources of every job.
#[derive(Debug, Default)]
pub(crate) struct JobTracker {
    jobs: BTreeMap<JobId, Job>,
    with_missing: BTreeSet<JobId>,
}

impl JobTracker {
    fn refresh(&mut self, job: JobId) {
        let missing = self.jobs.get(&job).is_some_and(Job::has_missing);
        if missing {
            self.with_missing.insert(job);
        } else {
            self.with_missing.remove(&job);
        }
    }

    /// Replaces a job's requirements; surplus slots become excess, excess slots serve new needs.
    pub fn set_requirements(
        &mut self,
        job: JobId,
        target: &str,
        required: &BTreeMap<ResourceProfile, u32>,
    ) {
        let j = self.jobs.entry(job).or_default();
        if !target.is_empty() {
            j.target_address = Arc::from(target);
        }
        j.required = required
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(p, n)| (*p, *n))
            .collect();
        let profiles: Vec<ResourceProfile> = j.serving.keys().copied().collect();
        for p in profiles {
            let keep = j.required.get(&p).copied().unwrap_or(0) as usize;
            let serving = j.serving.get_mut(&p).expect("listed");
            while serving.len() > keep {
                let allocation = serving.pop_last().expect("non-empty");
                let resources = j.acquired[&allocation].0;
                j.acquired.get_mut(&allocation).expect("acquired").1 = None;
                j.excess.insert(allocation, resources);
            }
            if serving.is_empty() {
                j.serving.remove(&p);
            }
        }
        j.reassign_excess();
        self.refresh(job);
    }

    /// Drops a job that neither requires nor holds anything.
    pub fn forget_if_empty(&mut self, job: JobId) {
        if self
            .jobs
            .get(&job)
            .is_some_and(|j| j.required.is_empty() && j.acquired.is_empty())
        {
            self.jobs.remove(&job);
            self.with_missing.remove(&job);
        }
    }

    /// Records a slot acquired by a job (created on first sight, e.g. adopted from a slot report).
    pub fn acquire(
        &mut self,
        job: JobId,
        allocation: AllocationId,
        resources: Resources,
        hint: Option<ResourceProfile>,
    ) {
        let j = self.jobs.entry(job).or_default();
        let profile = j.profile_for(&resources, hint);
        j.acquired.insert(allocation, (resources, None));
        j.serve(allocation, profile);
        self.refresh(job);
    }

    /// Records a slot lost by a job; an excess slot takes over the requirement it served.
    pub fn lose(&mut self, job: JobId, allocation: AllocationId) {
        let Some(j) = self.jobs.get_mut(&job) else {
            return;
        };
        match j.acquired.remove(&allocation) {
            Some((_, Some(p))) => {
                if let Some(s) = j.serving.get_mut(&p) {
                    s.remove(&allocation);
                    if s.is_empty() {
                        j.serving.remove(&p);
                    }
                }
                j.reassign_excess();
            }
            Some((_, None)) => {
                j.excess.remove(&allocation);
            }
            None => return,
        }
        self.refresh(job);
        self.forget_if_empty(job);
    }

    /// Jobs that miss something, in id order.
    pub fn jobs_with_missing(&self) -> Vec<JobId> {
        self.with_missing.iter().copied().collect()
    }

    /// What a job misses, per profile.
    pub fn missing(&self, job: JobId) -> Vec<(ResourceProfile, u32)> {
        self.jobs.get(&job).map(Job::missing).unwrap_or_default()
    }

    /// Slots held plus slots missing, over all jobs.
    pub fn demanded_slots(&self) -> u32 {
        self.jobs
            .values()
            .map(|j| j.acquired.len() as u32 + j.missing().iter().map(|(_, n)| n).sum::<u32>())
            .sum()
    }

    /// Slots a job holds.
    pub fn acquired_count(&self, job: JobId) -> u32 {
        self.jobs.get(&job).map_or(0, |j| j.acquired.len() as u32)
    }

    /// The allocations a job holds.
    pub fn allocations_of(&self, job: JobId) -> Vec<AllocationId> {
        let mut v: Vec<AllocationId> = self
            .jobs
            .get(&job)
            .map(|j| j.acquired.keys().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    /// The JobMaster address slots of this job are offered to.
    pub fn target_address(&self, job: JobId) -> Arc<str> {
        self.jobs
            .get(&job)
            .map_or_else(|| Arc::from(""), |j| j.target_address.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Resources = Resources::new(1000, 1 << 30);
    const LARGE: Resources = Resources::new(2000, 2 << 30);

    fn reqs(items: &[(ResourceProfile, u32)]) -> BTreeMap<ResourceProfile, u32> {
        items.iter().copied().collect()
    }

    #[test]
    fn missing_falls_as_slots_are_acquired_and_rises_when_lost() {
        let mut t = JobTracker::default();
        let job = JobId(1);
        t.set_requirements(job, "jm", &reqs(&[(ResourceProfile::Unknown, 2)]));
        assert_eq!(t.missing(job), vec![(ResourceProfile::Unknown, 2)]);
        t.acquire(job, AllocationId(1), SMALL, Some(ResourceProfile::Unknown));
        t.acquire(job, AllocationId(2), SMALL, None);
        assert!(t.missing(job).is_empty());
        assert!(t.jobs_with_missing().is_empty());
        t.lose(job, AllocationId(1));
        assert_eq!(t.missing(job), vec![(ResourceProfile::Unknown, 1)]);
        assert_eq!(t.jobs_with_missing(), vec![job]);
    }

    #[test]
    fn surplus_becomes_excess_and_serves_again() {
        let mut t = JobTracker::default();
        let job = JobId(1);
        let fixed = ResourceProfile::Fixed(SMALL);
        t.set_requirements(job, "jm", &reqs(&[(fixed, 2)]));
        t.acquire(job, AllocationId(1), SMALL, None);
        t.acquire(job, AllocationId(2), LARGE, None);
        assert!(
            t.missing(job).is_empty(),
            "a larger slot satisfies a smaller profile"
        );
        t.set_requirements(job, "jm", &reqs(&[(fixed, 1)]));
        assert!(t.missing(job).is_empty());
        assert_eq!(t.acquired_count(job), 2);
        t.set_requirements(job, "jm", &reqs(&[(fixed, 2)]));
        assert!(t.missing(job).is_empty(), "the excess slot serves again");
        t.lose(job, AllocationId(1));
        assert_eq!(t.missing(job), vec![(fixed, 1)]);
    }

    #[test]
    fn a_small_slot_does_not_serve_a_large_profile() {
        let mut t = JobTracker::default();
        let job = JobId(7);
        let large = ResourceProfile::Fixed(LARGE);
        t.set_requirements(job, "jm", &reqs(&[(large, 1)]));
        t.acquire(job, AllocationId(1), SMALL, None);
        assert_eq!(t.missing(job), vec![(large, 1)]);
        t.lose(job, AllocationId(1));
        t.set_requirements(job, "jm", &BTreeMap::new());
        t.forget_if_empty(job);
        assert_eq!(t.acquired_count(job), 0);
        assert!(t.jobs_with_missing().is_empty());
    }
}
