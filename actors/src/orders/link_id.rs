//! Order-link ids: `{prefix}-{run_id}-{seq}`. The prefix says "this bot", the run id says
//! "this process", so leftovers of an earlier run are recognisable and other orders are not ours.

/// Longest orderLinkId Bybit accepts.
pub const MAX_LEN: usize = 36;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkIds {
    prefix: String,
    run_id: String,
    next: u64,
}

impl LinkIds {
    pub fn new(prefix: &str, run_id: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            run_id: run_id.to_string(),
            next: 1,
        }
    }

    pub fn next_id(&mut self) -> String {
        let id = format!("{}-{}-{}", self.prefix, self.run_id, self.next);
        self.next += 1;
        debug_assert!(id.len() <= MAX_LEN);
        id
    }

    /// The bot's orders, from any run.
    pub fn is_ours(&self, link_id: &str) -> bool {
        link_id.strip_prefix(&self.prefix).is_some_and(|rest| rest.starts_with('-'))
    }

    /// The bot's orders from this very run.
    pub fn is_this_run(&self, link_id: &str) -> bool {
        link_id.strip_prefix(&format!("{}-{}-", self.prefix, self.run_id)).is_some()
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// A run id: 8 base-36 characters from the clock and the process id.
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut x = (nanos as u64) ^ (u64::from(std::process::id()) << 40);
    let mut s = String::new();
    for _ in 0..8 {
        let d = (x % 36) as u32;
        s.push(std::char::from_digit(d, 36).unwrap_or('0'));
        x /= 36;
    }
    s
}

/// Whether a prefix can carry ids within Bybit's limits.
pub fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty() && prefix.len() <= 12 && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ours_and_fit() {
        let mut ids = LinkIds::new("mmb", &new_run_id());
        let a = ids.next_id();
        let b = ids.next_id();
        assert_ne!(a, b);
        assert!(ids.is_ours(&a) && ids.is_this_run(&a));
        assert!(ids.is_ours("mmb-zzzzzzzz-4") && !ids.is_this_run("mmb-zzzzzzzz-4"));
        assert!(!ids.is_ours("mmbx-1") && !ids.is_ours("manual") && !ids.is_ours(""));
        let long = LinkIds::new("abcdefghijkl", "abcdefgh").next_id();
        assert!(long.len() <= MAX_LEN);
        assert!(valid_prefix("mm_1") && !valid_prefix("m-m") && !valid_prefix(""));
    }
}
