//! `/sim/market`: where the market comes from and where it stands (GET), and freezing it (POST
//! `?paused=true|false`): no walk, no replayed events, a replay's clock standing still.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::server::state::AppState;

#[derive(Deserialize)]
pub struct PauseQuery {
    paused: bool,
}

pub async fn pause(state: web::Data<AppState>, q: web::Query<PauseQuery>) -> HttpResponse {
    let mut ex = state.exchange();
    state.paused.store(q.paused, std::sync::atomic::Ordering::Relaxed);
    if q.paused {
        ex.clock.pause();
    } else {
        ex.clock.resume();
    }
    HttpResponse::Ok().json(json!({"paused": q.paused, "time_ms": ex.market_time_ms}))
}

/// `{"source", "time_ms", "ended", …}`: `time_ms` is the exchange time of the last market event
/// applied (a replayed frame's `cts`, or `T` for trades; a tick's time on the random walk).
pub async fn status(state: web::Data<AppState>) -> HttpResponse {
    let ex = state.exchange();
    let files = ex.replay.as_ref().map(|r| r.reports()).unwrap_or_default();
    HttpResponse::Ok().json(json!({
        "source": ex.source.name(),
        "time_ms": ex.market_time_ms,
        "clock_ms": ex.clock.now_ms(),
        "ended": ex.replay_ended(),
        "paused": state.paused.load(std::sync::atomic::Ordering::Relaxed),
        "queue_model": ex.queue_model.name(),
        "files": files,
    }))
}
