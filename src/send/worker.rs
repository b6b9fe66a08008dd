//! One worker of the pipeline, and one recipient from the window check to
//! its record. The worker carries out [`step::next`]; it decides nothing.

use std::sync::Arc;

use tokio::time::Instant;

use super::classify::{self, Answer};
use super::gate::{PageState, code_text, sleep_or_cancel};
use super::pipeline::{Cancel, CancelWatch, Context, Journal, relabel};
use super::queue::{Next, Queues};
use super::step::{self, Ending, Limits, Step};
use super::wire::{self, GraphEnvelope};
use crate::campaign::model::Provider;
use crate::campaign::{Campaign, Page};
use crate::records::Records;
use crate::vocab::{ApiError, Doubt, Job, Pending, Reason, Record, SkipReason, cap_message};

/// Takes jobs until none is left; returns the records of the jobs it ended.
pub async fn work<J: Journal>(ctx: Arc<Context<J>>, pages: Arc<Vec<PageState>>, queues: Arc<Queues>) -> Records {
    let mut cancel = CancelWatch::new(&ctx.cancel);
    let mut done = Records::default();
    loop {
        let stopping = cancel.now() != Cancel::Running;
        let (job, slot, not_before) = match queues.next(&pages, stopping) {
            Next::Done => break,
            Next::Drained(jobs) => {
                for job in jobs {
                    let reason = drained_reason(&pages[job.page as usize], stopping);
                    done.push(&record(&ctx, Record::new(job, Reason::Pending(reason), 0, ctx.clock.wall())));
                }
                continue;
            }
            Next::Job(job, slot, not_before) => (job, slot, not_before),
        };
        let state = &pages[job.page as usize];
        // A signal, a stop, or a throttle that moved the pause while this
        // worker waited: hand the job back and choose again.
        if !sleep_or_cancel(slot, &mut cancel).await || state.is_stopped() || state.paused_since(not_before) {
            queues.put_back(job);
            continue;
        }
        done.push(&match send_one(&ctx, state, job, &mut cancel).await {
            Done::Unwritten(r) => record(&ctx, r),
            Done::Written(r) => r,
        });
    }
    done
}

/// Why a job that never left ends `not_attempted`.
fn drained_reason(state: &PageState, stopping: bool) -> Pending {
    match state.stopped_because() {
        Some(stop) => stop.pending,
        None if stopping => Pending::Interrupted,
        None => Pending::PageStopped,
    }
}

/// Hands a final record to the journal and the progress counters.
fn record<J: Journal>(ctx: &Context<J>, r: Record) -> Record {
    ctx.journal.outcome(&r);
    ctx.progress[r.job.page as usize].add(r.outcome);
    r
}

/// A recipient's record, and whether the journal already has it.
enum Done {
    /// To be written.
    Unwritten(Record),
    /// Written (and counted) under the page's streak lock.
    Written(Record),
}

/// One recipient, from the window check to its record.
async fn send_one<J: Journal>(ctx: &Context<J>, state: &PageState, job: Job, cancel: &mut CancelWatch) -> Done {
    match attempt_all(ctx, state, job, cancel).await {
        Ok(record) => Done::Unwritten(record),
        Err(written) => Done::Written(written),
    }
}

/// The attempts for one recipient: Ok(record to write), or Err(a record
/// already written because it took part in a streak).
async fn attempt_all<J: Journal>(
    ctx: &Context<J>,
    state: &PageState,
    job: Job,
    cancel: &mut CancelWatch,
) -> Result<Record, Record> {
    let page = &ctx.campaign.pages[job.page as usize];
    let person = ctx.audiences.person(job.person);
    let id = ctx.audiences.recipient_id(job.person);
    let mut id_buf = [0; 20];
    let recipient = id.as_str(&mut id_buf);
    let skip = |reason: SkipReason| Record::new(job, Reason::Skip(reason), 0, ctx.clock.wall());

    // The window is checked again just before the request (SPEC §3).
    if let Err(reason) = page.rule.check(person.last_interaction, ctx.clock.now()) {
        return Ok(skip(reason));
    }
    let template_error = |detail: String| {
        let error = ApiError { message: Some(cap_message(&detail)), ..ApiError::default() };
        skip(SkipReason::TemplateError).with_error(error)
    };
    let message = &ctx.campaign.message;
    let body = match &state.body {
        Some(template) => match message.render_slots(person.vars.iter()) {
            Ok(filled) => template.fill(recipient, &filled),
            Err(detail) => return Ok(template_error(detail)),
        },
        None => match message.render(person.vars.iter()) {
            Ok(message) => serde_json::to_vec(&request_body(&ctx.campaign, page, recipient, &message))
                .expect("a JSON value serializes"),
            Err(detail) => return Ok(template_error(detail)),
        },
    };
    let pending = |reason| Record::new(job, Reason::Pending(reason), 0, ctx.clock.wall());
    // Pages without a usable token are stopped before they start; this is
    // only a guard.
    let Some(target) = &state.target else {
        return Ok(pending(Pending::PageStopped));
    };
    if let Err(e) = ctx.journal.intent(job).await {
        state.stop(Pending::PageStopped, format!("the ledger could not record the intent: {e}"));
        return Ok(pending(Pending::PageStopped));
    }

    let limits =
        Limits { max_attempts: ctx.campaign.send.max_attempts, retry_ambiguous: ctx.campaign.send.retry_ambiguous };
    let mut attempts = 0u32;
    // Set once an answer left delivery in doubt (only retried with
    // `retry_ambiguous`): from then on the result can never be "failed".
    let mut maybe_delivered = false;
    loop {
        attempts += 1;
        let answer = tokio::select! {
            answer = ctx.client.send(target, &body) => answer,
            () = cancel.abandoned() => {
                return Ok(Record::new(job, Reason::Doubt(Doubt::Abandoned), attempts, ctx.clock.wall()));
            }
        };
        let error = api_error(ctx, &answer);
        match answer.class {
            classify::Class::Throttle => {}
            classify::Class::ConnectFailed => {
                if !state.connect_failed() {
                    return Ok(ending(job, step::settle(Pending::Unreachable, maybe_delivered), error, attempts, ctx));
                }
            }
            _ => state.answered(),
        }
        match step::next(answer.class, answer.doubt, attempts, limits, maybe_delivered) {
            Step::Done(Ending::Sent) => {
                state.streak_broken();
                return Ok(Record::sent(job, answer.message_id, attempts, ctx.clock.wall()));
            }
            Step::Done(Ending::Failed { streak: true }) => {
                let failed = Record::failed(job, error, attempts, ctx.clock.wall());
                let streak = state.streak_failure(&failed, || {
                    ctx.journal.outcome(&failed);
                    ctx.progress[job.page as usize].add(failed.outcome);
                });
                return Err(relabel_streak(ctx, job, streak).unwrap_or(failed));
            }
            Step::Done(end) => {
                if matches!(end, Ending::Failed { .. }) {
                    state.streak_broken();
                }
                return Ok(ending(job, end, error, attempts, ctx));
            }
            Step::StopPage(end) => {
                let detail =
                    format!("fatal error {}: {}", code_text(error.code), error.message.as_deref().unwrap_or(""));
                state.stop(Pending::PageStopped, detail);
                return Ok(ending(job, end, error, attempts, ctx));
            }
            Step::Retry { ambiguous } => {
                maybe_delivered |= ambiguous;
                let wait = classify::backoff(attempts, fastrand::f64());
                if !sleep_or_cancel(Instant::now() + wait, cancel).await {
                    return Ok(ending(job, step::settle(Pending::Interrupted, maybe_delivered), error, attempts, ctx));
                }
            }
            Step::PausePage => {
                attempts -= 1; // a throttle is not an attempt (SPEC §4)
                if !state.throttle(answer.regain, answer.code.or(Some(429))) {
                    return Ok(ending(job, step::settle(Pending::Throttled, maybe_delivered), error, attempts, ctx));
                }
                ctx.progress[job.page as usize].set_paused(state.paused_until(), answer.code.or(Some(429)));
            }
        }
        state.wait_turn(cancel).await;
        if cancel.now() != Cancel::Running {
            return Ok(ending(job, step::settle(Pending::Interrupted, maybe_delivered), error, attempts, ctx));
        }
        if let Some(stop) = state.stopped_because() {
            return Ok(ending(job, step::settle(stop.pending, maybe_delivered), error, attempts, ctx));
        }
        if let Err(reason) = page.rule.check(person.last_interaction, ctx.clock.now()) {
            if maybe_delivered {
                return Ok(ending(job, step::settle(Pending::Interrupted, true), error, attempts, ctx));
            }
            return Ok(skip(reason));
        }
    }
}

/// Writes the re-labels of a completed streak and returns the current
/// recipient's re-labelled record; None when no streak completed (the
/// failure was written as it is).
fn relabel_streak<J: Journal>(ctx: &Context<J>, job: Job, streak: Vec<Record>) -> Option<Record> {
    let mut current = None;
    for mut r in streak {
        let before = r.outcome;
        relabel(&mut r);
        let progress = &ctx.progress[r.job.page as usize];
        if r.job == job {
            progress.add(r.outcome);
            current = Some(r.clone());
        } else {
            progress.relabel(before, r.outcome);
        }
        ctx.journal.outcome(&r);
    }
    current
}

/// The record of an ending that is not a success.
fn ending<J: Journal>(job: Job, end: Ending, error: ApiError, attempts: u32, ctx: &Context<J>) -> Record {
    let at = ctx.clock.wall();
    match end {
        Ending::Sent => Record::sent(job, None, attempts, at),
        Ending::Failed { .. } => Record::failed(job, error, attempts, at),
        Ending::Unsure(doubt) => Record::new(job, Reason::Doubt(doubt), attempts, at).with_error(error),
        Ending::Pending(reason) => Record::new(job, Reason::Pending(reason), attempts, at).with_error(error),
    }
}

/// The answer's error as recorded: message redacted, then capped.
fn api_error<J: Journal>(ctx: &Context<J>, answer: &Answer) -> ApiError {
    ApiError {
        code: answer.code,
        subcode: answer.subcode,
        message: answer.message.as_deref().map(|m| cap_message(&ctx.redactor.redact(m))),
    }
}

/// What [`request_body`] reads of a page: its provider and, for Harasocial,
/// its id (a Graph body names the recipient, never the page). Pages with the
/// same key send the same bodies.
pub fn body_key(page: &Page) -> (Provider, Option<&str>) {
    match page.provider {
        Provider::Graph => (Provider::Graph, None),
        Provider::Harasocial => (Provider::Harasocial, Some(&page.id)),
    }
}

/// The request body for one recipient.
pub fn request_body(
    campaign: &Campaign,
    page: &Page,
    recipient: &str,
    message: &crate::campaign::model::MessageSpec,
) -> serde_json::Value {
    match page.provider {
        Provider::Graph => {
            let envelope = GraphEnvelope {
                messaging_type: campaign.messaging_type.expect("validated: graph pages have a messaging type"),
                tag: campaign.tag,
                notification_type: campaign.notification_type,
            };
            wire::graph_body(envelope, recipient, message)
        }
        Provider::Harasocial => wire::harasocial_body(&page.id, recipient, message),
    }
}
