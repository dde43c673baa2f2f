use std::sync::Mutex;

use super::*;
use crate::messages::ha::KillSwitchTripped;
use crate::messages::stop::StopAck;

/// Takes everything the Supervisor sends; its one step answers only after a long while, so a
/// shutdown is still running when the next request comes.
#[derive(Default)]
struct Sink {
    trips: Arc<Mutex<Vec<String>>>,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Record> for Sink {
    type Result = ();
    fn handle(&mut self, _: Record, _: &mut Self::Context) {}
}

impl Handler<Flush> for Sink {
    type Result = Result<(), String>;
    fn handle(&mut self, _: Flush, _: &mut Self::Context) -> Self::Result {
        Ok(())
    }
}

impl Handler<StatusPatch> for Sink {
    type Result = ();
    fn handle(&mut self, _: StatusPatch, _: &mut Self::Context) {}
}

impl Handler<KillSwitchTripped> for Sink {
    type Result = ();
    fn handle(&mut self, msg: KillSwitchTripped, _: &mut Self::Context) {
        self.trips.lock().unwrap().push(msg.reason);
    }
}

impl Handler<Stop> for Sink {
    type Result = ResponseFuture<StopAck>;
    fn handle(&mut self, _: Stop, _: &mut Self::Context) -> Self::Result {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StopAck::ok("late")
        })
    }
}

#[actix_rt::test]
async fn a_kill_switch_tripped_while_another_shutdown_runs_is_kept() {
    let dir = std::env::temp_dir().join(format!("mmbot-supervisor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sink = Sink::default();
    let trips = sink.trips.clone();
    let sink = sink.start();
    let step = Step {
        name: "orders",
        recipient: sink.clone().recipient(),
        timeout: Duration::from_secs(3600),
        fallback: None,
    };
    let outlets = Outlets {
        recorder: sink.clone().recipient(),
        flush: sink.clone().recipient(),
        web: sink.clone().recipient(),
        metrics: Arc::new(Metrics::default()),
    };
    let supervisor = Supervisor::new(vec![step], Duration::from_secs(3600), outlets)
        .with_report(Some(dir.clone()), false)
        .with_kill_switch_outlet(sink.recipient())
        .start();
    let first = supervisor
        .send(RequestShutdown {
            source: ShutdownSource::Fatal("ha: lease not renewed".into()),
        })
        .await
        .unwrap();
    assert!(!first.already_started);
    let second = supervisor
        .send(RequestShutdown {
            source: ShutdownSource::KillSwitch("kill switch: drawdown 12 USDT exceeds risk.max_drawdown 10 USDT".into()),
        })
        .await
        .unwrap();
    assert!(second.already_started && second.shutdown_id == first.shutdown_id);
    let saved = crate::shutdown::kill_switch_record::load(&dir).expect("kill-switch.json written");
    assert!(saved.reason.contains("drawdown 12"), "{saved:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(trips.lock().unwrap().len(), 1, "the account's kill switch is told too");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_forced_exit_names_the_orders_believed_open() {
    let m = std::collections::BTreeMap::from([("BTCUSDT".to_string(), vec!["mmb-a".to_string(), "mmb-b".to_string()])]);
    assert_eq!(
        believed_open_lines(Some(&m)),
        "mmbot: forced exit: 2 order(s) may be live on the exchange:\n  BTCUSDT: mmb-a, mmb-b"
    );
    assert!(believed_open_lines(None).contains("did not say"));
}
