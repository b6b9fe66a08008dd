//! The jobs not yet started, per page in plan order, and the choice of the
//! next one: the job of the page whose rate slot comes first.
//!
//! Pages wait in a min-heap keyed by the instant each may send next, so a
//! choice costs O(log pages) however many pages a run has. A key can be
//! stale (a throttle moved the page's pause after it was pushed): the popped
//! page's real instant is read again and, if later, the page is pushed back
//! with it. A key is never too late, because an instant only moves forward.
//!
//! The jobs sit in one array grouped by page, each page's queue a span of
//! it: pages served in turn then read memory in order, not one allocation
//! per page (at 1,000 pages, cache misses were most of what a page cost).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
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
    /// Every job, grouped by page, plan order within a page.
    jobs: Vec<Job>,
    /// Each page's queue: the jobs of its group not taken yet.
    spans: Vec<Span>,
    /// Pages by the instant each may send next, then by page: the
    /// nanoseconds after `base` in the high bits, the page in the low 32
    /// (a heap of 1,000 pages compares keys ~20 times a choice, and one
    /// number compares faster than an instant and a page).
    heap: BinaryHeap<Reverse<u128>>,
    base: Instant,
    in_heap: Vec<bool>,
}

/// A page's queue: `jobs[next..end]`. A job handed back goes in front
/// again, into the slot of one taken before it (taken jobs are copies).
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    next: usize,
    end: usize,
}

impl Span {
    fn is_empty(self) -> bool {
        self.next == self.end
    }
}

impl Inner {
    /// The heap key of `page` at `at` (no key is earlier than `base`).
    fn key(&self, at: Instant, page: u32) -> u128 {
        let nanos = u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX);
        (u128::from(nanos) << 32) | u128::from(page)
    }

    /// The instant and the page of a heap key.
    fn unkey(&self, key: u128) -> (Instant, u32) {
        (self.base + std::time::Duration::from_nanos((key >> 32) as u64), key as u32)
    }

    fn pop_front(&mut self, page: usize) -> Option<Job> {
        let span = &mut self.spans[page];
        if span.is_empty() {
            return None;
        }
        span.next += 1;
        Some(self.jobs[span.next - 1])
    }

    fn push_front(&mut self, job: Job) {
        let span = &mut self.spans[job.page as usize];
        span.next -= 1;
        self.jobs[span.next] = job;
    }

    fn drain(&mut self, page: usize) -> &[Job] {
        let span = self.spans[page];
        self.spans[page].next = span.end;
        &self.jobs[span.next..span.end]
    }
}

impl Queues {
    /// Queues `jobs` (plan order is kept within each page).
    pub fn new(pages: usize, jobs: impl IntoIterator<Item = Job>) -> Self {
        let jobs: Vec<Job> = jobs.into_iter().collect();
        // Group by page, keeping plan order: count, then place.
        let mut spans = vec![Span::default(); pages];
        for job in &jobs {
            spans[job.page as usize].end += 1;
        }
        let mut start = 0;
        for span in &mut spans {
            (span.next, span.end, start) = (start, start, start + span.end);
        }
        let mut grouped = jobs.clone();
        for job in jobs {
            let span = &mut spans[job.page as usize];
            grouped[span.end] = job;
            span.end += 1;
        }
        let in_heap: Vec<bool> = spans.iter().map(|s| !s.is_empty()).collect();
        let heap = (0..pages as u32).filter(|p| in_heap[*p as usize]).map(|p| Reverse(u128::from(p))).collect();
        Queues { inner: Mutex::new(Inner { jobs: grouped, spans, heap, base: Instant::now(), in_heap }) }
    }

    /// The next job of the page that may send soonest, with its rate slot
    /// reserved; or jobs that will never be sent (`stopping`: all of them).
    pub fn next(&self, pages: &[PageState], stopping: bool) -> Next {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if stopping {
            inner.heap.clear();
            inner.in_heap.iter_mut().for_each(|b| *b = false);
            let mut drained = Vec::new();
            for page in 0..inner.spans.len() {
                drained.extend_from_slice(inner.drain(page));
            }
            return if drained.is_empty() { Next::Done } else { Next::Drained(drained) };
        }
        while let Some(Reverse(key)) = inner.heap.pop() {
            let (at, p) = inner.unkey(key);
            let page = &pages[p as usize];
            if page.is_stopped() {
                inner.in_heap[p as usize] = false;
                return Next::Drained(inner.drain(p as usize).to_vec());
            }
            if inner.spans[p as usize].is_empty() {
                inner.in_heap[p as usize] = false;
                continue;
            }
            // One look at the page's gate: its slot if the key still holds.
            let reserved = match page.reserve_due(at) {
                Ok(reserved) => reserved,
                Err(due) => {
                    let due = inner.key(due, p);
                    inner.heap.push(Reverse(due));
                    continue;
                }
            };
            let job = inner.pop_front(p as usize).expect("checked above: the queue has a job");
            if inner.spans[p as usize].is_empty() {
                inner.in_heap[p as usize] = false;
            } else {
                let next = inner.key(reserved.next, p);
                inner.heap.push(Reverse(next));
            }
            return Next::Job(job, reserved.slot, reserved.not_before);
        }
        Next::Done
    }

    /// Returns a job that was taken but not started to the front of its page.
    pub fn put_back(&self, job: Job) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let p = job.page as usize;
        inner.push_front(job);
        if !inner.in_heap[p] {
            inner.in_heap[p] = true;
            let now = inner.key(Instant::now(), job.page);
            inner.heap.push(Reverse(now));
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

    /// Pages that send, at a rate that never makes a test wait.
    fn live_pages(n: usize) -> Vec<PageState> {
        use crate::campaign::model::Provider;
        use crate::send::client::{Client, Endpoints};
        let endpoints = Endpoints { graph: "http://127.0.0.1:9".into(), harasocial: "http://127.0.0.1:9".into() };
        let client = Client::new(endpoints, 1).expect("a client");
        (0..n)
            .map(|i| {
                let target = client.target(Provider::Graph, &i.to_string(), "token");
                PageState::new(&i.to_string(), 1_000_000, Duration::from_secs(60), None, target)
            })
            .collect()
    }

    #[test]
    fn each_page_keeps_plan_order_and_a_job_handed_back_goes_first() {
        let pages = live_pages(2);
        let q = Queues::new(2, [job(0, 0), job(1, 1), job(0, 2), job(0, 3), job(1, 4)]);
        let take = || match q.next(&pages, false) {
            Next::Job(job, ..) => Some(job),
            Next::Done => None,
            Next::Drained(jobs) => panic!("nothing stopped, yet {jobs:?} were drained"),
        };
        assert_eq!([take(), take(), take()], [Some(job(0, 0)), Some(job(1, 1)), Some(job(0, 2))]);
        q.put_back(job(0, 0));
        let rest: Vec<Job> = std::iter::from_fn(take).collect();
        let of = |page| rest.iter().filter(|j| j.page == page).copied().collect::<Vec<_>>();
        assert_eq!(of(0), [job(0, 0), job(0, 3)]);
        assert_eq!(of(1), [job(1, 4)]);
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
