//! The jobs not yet started, per page in plan order, and the choice of the
//! next one: the job of the page whose rate slot comes first.
//!
//! Pages wait in a min-heap keyed by the instant each may send next, so a
//! choice costs O(log pages) however many pages a run has. A key can be
//! stale (a throttle moved the page's pause after it was pushed): the popped
//! page's real instant is read again and, if later, the page is pushed back
//! with it. A key is never too late, because an instant only moves forward.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Mutex;

use tokio::time::Instant;

use super::gate::PageState;
use crate::vocab::Job;

/// What a worker does next.
pub enum Next {
    /// Send this job at its page's slot (the first instant); the second is
    /// the page's pause that the slot honours.
    Job(Job, Instant, Instant),
    /// These jobs will not be sent (their page stopped, or the run stops).
    Drained(Vec<Job>),
    /// Nothing is left.
    Done,
}

/// The queues of every page and the heap that orders them.
pub struct Queues {
    inner: Mutex<Inner>,
}

struct Inner {
    per_page: Vec<VecDeque<Job>>,
    heap: BinaryHeap<Reverse<(Instant, u32)>>,
    in_heap: Vec<bool>,
}

impl Queues {
    /// Queues `jobs` (plan order is kept within each page).
    pub fn new(pages: usize, jobs: impl IntoIterator<Item = Job>) -> Self {
        let mut per_page = vec![VecDeque::new(); pages];
        for job in jobs {
            per_page[job.page as usize].push_back(job);
        }
        let now = Instant::now();
        let in_heap: Vec<bool> = per_page.iter().map(|q| !q.is_empty()).collect();
        let heap = (0..pages as u32).filter(|p| in_heap[*p as usize]).map(|p| Reverse((now, p))).collect();
        Queues { inner: Mutex::new(Inner { per_page, heap, in_heap }) }
    }

    /// The next job of the page that may send soonest, with its rate slot
    /// reserved; or jobs that will never be sent (`stopping`: all of them).
    pub fn next(&self, pages: &[PageState], stopping: bool) -> Next {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if stopping {
            inner.heap.clear();
            inner.in_heap.iter_mut().for_each(|b| *b = false);
            let drained: Vec<Job> = inner.per_page.iter_mut().flat_map(|q| q.drain(..)).collect();
            return if drained.is_empty() { Next::Done } else { Next::Drained(drained) };
        }
        while let Some(Reverse((key, p))) = inner.heap.pop() {
            let page = &pages[p as usize];
            if page.is_stopped() {
                inner.in_heap[p as usize] = false;
                return Next::Drained(inner.per_page[p as usize].drain(..).collect());
            }
            if inner.per_page[p as usize].is_empty() {
                inner.in_heap[p as usize] = false;
                continue;
            }
            // One look at the page's gate: its slot if the key still holds.
            let reserved = match page.reserve_due(key) {
                Ok(reserved) => reserved,
                Err(due) => {
                    inner.heap.push(Reverse((due, p)));
                    continue;
                }
            };
            let job = inner.per_page[p as usize].pop_front().expect("checked above: the queue has a job");
            if inner.per_page[p as usize].is_empty() {
                inner.in_heap[p as usize] = false;
            } else {
                inner.heap.push(Reverse((reserved.next, p)));
            }
            return Next::Job(job, reserved.slot, reserved.not_before);
        }
        Next::Done
    }

    /// Returns a job that was taken but not started to the front of its page.
    pub fn put_back(&self, job: Job) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let p = job.page as usize;
        inner.per_page[p].push_front(job);
        if !inner.in_heap[p] {
            inner.in_heap[p] = true;
            inner.heap.push(Reverse((Instant::now(), job.page)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn pages(rates: &[u32]) -> Vec<PageState> {
        rates
            .iter()
            .enumerate()
            .map(|(i, r)| PageState::new(&i.to_string(), *r, Duration::from_secs(60), None, Err(String::new())))
            .collect()
    }

    fn job(page: u32, person: u32) -> Job {
        Job { page, person }
    }

    #[test]
    fn stopped_pages_are_drained_and_empty_queues_are_done() {
        // Pages without a target start stopped.
        let pages = pages(&[10, 10]);
        let q = Queues::new(2, [job(0, 0), job(1, 1), job(0, 2)]);
        let mut drained = Vec::new();
        loop {
            match q.next(&pages, false) {
                Next::Drained(jobs) => drained.extend(jobs),
                Next::Job(..) => panic!("a stopped page's job was handed out"),
                Next::Done => break,
            }
        }
        drained.sort();
        assert_eq!(drained, [job(0, 0), job(0, 2), job(1, 1)]);
    }

    #[test]
    fn stopping_drains_everything_at_once() {
        let pages = pages(&[10]);
        let q = Queues::new(1, [job(0, 0), job(0, 1)]);
        match q.next(&pages, true) {
            Next::Drained(jobs) => assert_eq!(jobs.len(), 2),
            _ => panic!("expected a drain"),
        }
        assert!(matches!(q.next(&pages, true), Next::Done));
    }
}
