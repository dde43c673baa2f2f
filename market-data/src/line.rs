//! One line of a recording: `{local_ts_ns} {raw_frame}`.

/// A parsed line, borrowing the frame's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Local receive time, nanoseconds since the Unix epoch.
    pub local_ns: u64,
    /// The frame exactly as received (a JSON object on one line).
    pub frame: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("no space between the receive time and the frame")]
    NoSeparator,
    #[error("the receive time {0:?} is not a whole number of nanoseconds")]
    BadTime(String),
    #[error("the frame is empty or not a JSON object")]
    NotAFrame,
}

pub fn parse_line(text: &str) -> Result<Line<'_>, LineError> {
    let text = text.trim_end_matches(['\r', '\n']);
    let (ts, frame) = text.split_once(' ').ok_or(LineError::NoSeparator)?;
    let local_ns = ts.parse::<u64>().map_err(|_| LineError::BadTime(ts.chars().take(24).collect()))?;
    if !frame.starts_with('{') {
        return Err(LineError::NotAFrame);
    }
    Ok(Line { local_ns, frame })
}

/// The line for `frame` received at `local_ns`, newline included. A JSON text cannot hold a raw
/// line break inside a string, so any in the frame is whitespace between tokens: it becomes a
/// space, and the line stays one line.
pub fn format_line(local_ns: u64, frame: &str) -> String {
    let mut out = String::with_capacity(frame.len() + 21);
    out.push_str(&local_ns.to_string());
    out.push(' ');
    out.extend(frame.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_round_trips_and_a_broken_frame_stays_on_one_line() {
        let l = format_line(1_700_000_000_123_456_789, "{\"topic\":\"x\",\n\"data\":[]}");
        assert_eq!(l, "1700000000123456789 {\"topic\":\"x\", \"data\":[]}\n");
        let p = parse_line(&l).unwrap();
        assert_eq!(p.local_ns, 1_700_000_000_123_456_789);
        assert_eq!(p.frame, "{\"topic\":\"x\", \"data\":[]}");
    }

    #[test]
    fn malformed_lines_say_why() {
        assert_eq!(parse_line("garbage"), Err(LineError::NoSeparator));
        assert!(matches!(parse_line("12x {}"), Err(LineError::BadTime(_))));
        assert_eq!(parse_line("12 not-json"), Err(LineError::NotAFrame));
    }
}
