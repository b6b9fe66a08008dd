//! Standard output that survives a closed pipe.
//!
//! `pagecast plan --format json | head -c 10` closes stdout early. A
//! `println!` would then panic, after messages went out and before the
//! report was written. Writing here instead drops the rest of the output
//! quietly, so the run still records everything and writes its reports.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout; once the reader has gone, writes nothing.
pub fn print(text: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            tracing::warn!("cannot write to stdout: {e}");
        }
    }
}

/// Writes `text` and a newline to stdout (see [`print`]).
pub fn println(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    print(&line);
}

/// Standard output as an [`std::io::Write`] for long streamed documents
/// (wrap it in a `BufWriter`). Once the reader has gone, every write
/// succeeds and writes nothing, as [`print`] does.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !CLOSED.load(Ordering::Relaxed)
            && let Err(e) = std::io::stdout().lock().write_all(buf)
        {
            closed(&e);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !CLOSED.load(Ordering::Relaxed)
            && let Err(e) = std::io::stdout().lock().flush()
        {
            closed(&e);
        }
        Ok(())
    }
}

fn closed(e: &std::io::Error) {
    CLOSED.store(true, Ordering::Relaxed);
    if e.kind() != ErrorKind::BrokenPipe {
        tracing::warn!("cannot write to stdout: {e}");
    }
}
