//! Advice that is not an error: grace periods for the platform that stops the bot, busy polling
//! without a spare core, and the operator's words for a parse error.

use super::*;

/// What the operator should set around the bot: the grace period its platform allows a stop,
/// and, for a busy-polling market thread, a core to spare. `cpus`: what this host (or the
/// container's CPU quota) gives the process.
pub fn advice(c: &Config, cpus: usize) -> Vec<String> {
    let grace_s = c.shutdown.deadline_ms.div_ceil(1000) + 10;
    let mut advice = vec![format!(
        "shutdown.deadline_ms is {} ms: give the container at least {grace_s} s to stop \
         (docker stop -t {grace_s} / compose stop_grace_period: {grace_s}s / Kubernetes terminationGracePeriodSeconds: {grace_s}); \
         Docker's default of 10 s is enough only for a deadline below 10 s",
        c.shutdown.deadline_ms
    )];
    if let Some(warning) = busy_poll_warning(c, cpus) {
        advice.push(warning);
    }
    advice
}

/// A busy-polling market thread takes a whole core: with fewer than two, the bot's other threads
/// (private stream, recorder, control server) wait behind it, and a CPU quota throttles it.
pub fn busy_poll_warning(c: &Config, cpus: usize) -> Option<String> {
    (c.market_thread.busy_poll && cpus < 2).then(|| {
        format!(
            "market_thread.busy_poll keeps one core at 100 % but this process may use {cpus} CPU: \
             give it at least 2 (docker run --cpus 2 / Kubernetes a CPU request and limit of 2) or set busy_poll = false"
        )
    })
}

/// The CPUs this process may use (its affinity and cgroup quota count).
pub fn usable_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// serde's type names ("expected u32") in words an operator reads.
pub fn humanize(message: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number from 0 to 4294967295"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
        ("expected a Decimal", "expected a decimal number (e.g. 2.5 or \"2.5\")"),
        ("expected a boolean", "expected true or false"),
        ("expected a sequence", "expected a list, e.g. [\"BTCUSDT\"]"),
        ("expected socket address", "expected an address like 127.0.0.1:8080"),
    ];
    let mut out = message.to_string();
    for (from, to) in NAMES {
        // Whole words only: "expected u32" must not touch "expected u320".
        let mut at = 0;
        while let Some(i) = out[at..].find(from).map(|i| i + at) {
            let end = i + from.len();
            if out[end..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
                at = end;
                continue;
            }
            out.replace_range(i..end, to);
            at = i + to.len();
        }
    }
    out
}
