//! Logging: human-readable lines by default; with `MMBOT_LOG_FORMAT=json`, one JSON object per
//! line whose structured fields (`log`'s key-values: symbol, retCode, …) are fields of the
//! object, and every line carries the run id. Libraries speak at warn and above unless
//! `RUST_LOG` says otherwise.

use std::io::Write;
use std::sync::OnceLock;

use serde_json::{Map, Value};

/// mmbot's own crates log at info; everything else (actix, awc, rustls, …) only from warn.
pub const DEFAULT_FILTER: &str = "warn,mmbot=info,mmbot_actors=info,bybit_v5=info,bybit_sim=info";

static RUN_ID: OnceLock<String> = OnceLock::new();

pub fn json_logs() -> bool {
    std::env::var("MMBOT_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"))
}

/// Every log line from here on names this run.
pub fn set_run_id(run_id: &str) {
    RUN_ID.set(run_id.to_string()).ok();
}

struct Fields<'a>(&'a mut Map<String, Value>);

impl<'kvs> log::kv::VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: log::kv::Key<'kvs>, value: log::kv::Value<'kvs>) -> Result<(), log::kv::Error> {
        let v = if let Some(n) = value.to_i64() {
            Value::from(n)
        } else if let Some(n) = value.to_u64() {
            Value::from(n)
        } else if let Some(b) = value.to_bool() {
            Value::from(b)
        } else {
            Value::from(value.to_string())
        };
        self.0.insert(key.as_str().to_string(), v);
        Ok(())
    }
}

/// One log record as a JSON object: ts, level, target, message, run, then its key-values.
pub fn json_line(ts: &str, record: &log::Record) -> Value {
    let mut obj = Map::new();
    obj.insert("ts".into(), ts.into());
    obj.insert("level".into(), record.level().as_str().into());
    obj.insert("target".into(), record.target().into());
    obj.insert("message".into(), record.args().to_string().into());
    if let Some(run) = RUN_ID.get() {
        obj.insert("run".into(), run.as_str().into());
    }
    // A visitor that never fails: the error arm cannot happen.
    let _ = record.key_values().visit(&mut Fields(&mut obj));
    Value::Object(obj)
}

/// A fatal error, said once: as a JSON log line under JSON logs, else as plain text on stderr.
pub fn fatal(message: &str) {
    if json_logs() {
        log::error!("{message}");
    } else {
        mmbot_actors::telemetry::console::err(format_args!("mmbot: {message}"));
    }
}

pub fn init() {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(DEFAULT_FILTER));
    if json_logs() {
        builder.format(|buf, record| {
            let ts = buf.timestamp_millis().to_string();
            writeln!(buf, "{}", json_line(&ts, record))
        });
    } else {
        builder.format_timestamp_millis();
    }
    // Through the console's queue: a closed or stalled stderr never panics or blocks a thread.
    builder.target(env_logger::Target::Pipe(Box::new(mmbot_actors::telemetry::console::StderrPipe)));
    builder.init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_become_fields_of_the_json_line() {
        let kvs: &[(&str, log::kv::Value)] = &[("symbol", "BTCUSDT".into()), ("retCode", 10006i64.into())];
        let record = log::Record::builder()
            .args(format_args!("refused"))
            .level(log::Level::Warn)
            .target("mmbot_actors::order_manager")
            .key_values(&kvs)
            .build();
        let line = json_line("2026-11-30T12:00:00.000Z", &record);
        assert_eq!(line["symbol"], "BTCUSDT");
        assert_eq!(line["retCode"], 10006);
        assert_eq!(line["message"], "refused");
        assert_eq!(line["level"], "WARN");
    }
}
