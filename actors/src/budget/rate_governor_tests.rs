//! The governor's rules, each on a clock the test sets.

use super::*;
use bybit_v5::rest::path;

fn gov() -> RateGovernor {
    RateGovernor::new(RateLimitSettings::default())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn rolling_window_per_endpoint_batch_spends_per_order() {
    let mut g = gov();
    let t0 = Instant::now();
    assert_eq!(g.available(path::ORDER_CREATE_BATCH, Priority::Quote, t0), 10);
    assert!(g.try_admit(path::ORDER_CREATE_BATCH, 8, Priority::Quote, t0).is_ok());
    g.settle(path::ORDER_CREATE_BATCH, 8, t0, t0);
    assert_eq!(g.available(path::ORDER_CREATE_BATCH, Priority::Quote, t0), 2);
    // Another endpoint has its own budget.
    assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0), 10);
    let d = g.try_admit(path::ORDER_CREATE_BATCH, 5, Priority::Quote, t0 + ms(300)).unwrap_err();
    assert_eq!(d.reason, DeferReason::Budget);
    // The window and the default 50 ms margin.
    assert_eq!(d.until, t0 + ms(1050), "frees when the oldest units leave the window");
    assert!(g.try_admit(path::ORDER_CREATE_BATCH, 5, Priority::Quote, t0 + ms(1050)).is_ok());
    // Reads and public paths.
    assert_eq!(g.available(path::ORDER_REALTIME, Priority::Read, t0), 50);
    assert_eq!(g.available(path::ORDERBOOK, Priority::Read, t0), u32::MAX);
}

#[test]
fn units_count_from_the_answer_not_the_send() {
    let mut g = gov();
    let t0 = Instant::now();
    g.try_admit(path::ORDER_AMEND_BATCH, 10, Priority::Quote, t0).unwrap();
    // The request took 300 ms to be answered: the exchange may have counted it at 299 ms.
    g.settle(path::ORDER_AMEND_BATCH, 10, t0, t0 + ms(300));
    assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(1300)), 0);
    // The exchange's rate limiter may have stamped it after the answer left: the margin.
    assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(1349)), 0);
    assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(1350)), 10);
}

#[test]
fn a_unit_on_its_way_counts_until_its_answer_except_for_cancels_around_a_hung_request() {
    let mut g = gov();
    let t0 = Instant::now();
    g.try_admit(path::ORDER_CANCEL_BATCH, 10, Priority::Cancel, t0).unwrap();
    // No answer 2 s later, and nothing sent since answered either (a stalled host or link):
    // the exchange may count it any moment yet. Everything waits for its answer.
    assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(2000)), 0);
    assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Cancel, t0 + ms(2000)), 0);
    // A request sent after it was answered: the link works, this one is stuck at the
    // exchange. Quotes still wait for its answer; cancels go (a hung request must not hold
    // back the paths around it).
    g.try_admit(path::ORDER_REALTIME, 1, Priority::Read, t0 + ms(100)).unwrap();
    g.settle(path::ORDER_REALTIME, 1, t0 + ms(100), t0 + ms(110));
    assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(2000)), 0);
    assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Cancel, t0 + ms(2000)), 10);
    let d = g
        .try_admit(path::ORDER_CANCEL_BATCH, 1, Priority::Quote, t0 + ms(2000))
        .unwrap_err();
    assert_eq!(d.until, t0 + ms(3050), "a hold after an answer that could come now");
    g.settle(path::ORDER_CANCEL_BATCH, 10, t0, t0 + ms(2500));
    assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(3549)), 0);
    assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(3550)), 10);
    // A request never settled (its caller stopped) is forgotten after the cap.
    g.try_admit(path::ORDER_AMEND, 10, Priority::Quote, t0).unwrap();
    assert_eq!(g.available(path::ORDER_AMEND, Priority::Quote, t0 + ms(4999)), 0);
    assert_eq!(g.available(path::ORDER_AMEND, Priority::Quote, t0 + ms(5000)), 10);
    // Settling twice changes nothing.
    g.settle(path::ORDER_CANCEL_BATCH, 10, t0, t0 + ms(3600));
    assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Quote, t0 + ms(3600)), 10);
    // Timed out without an answer: counted from its admission, no longer on its way.
    g.try_admit(path::ORDER_CREATE, 10, Priority::Quote, t0).unwrap();
    assert_eq!(g.available(path::ORDER_CREATE, Priority::Quote, t0 + ms(3000)), 0);
    g.unanswered(path::ORDER_CREATE, 10, t0);
    assert_eq!(g.available(path::ORDER_CREATE, Priority::Quote, t0 + ms(3000)), 10);
}

#[test]
fn the_window_margin_is_configurable_and_zero_is_the_exchanges_window() {
    let mut g = RateGovernor::new(RateLimitSettings {
        window_margin_ms: 0,
        ..Default::default()
    });
    let t0 = Instant::now();
    g.try_admit(path::ORDER_CANCEL, 10, Priority::Cancel, t0).unwrap();
    g.settle(path::ORDER_CANCEL, 10, t0, t0);
    assert_eq!(g.available(path::ORDER_CANCEL, Priority::Cancel, t0 + ms(999)), 0);
    assert_eq!(g.available(path::ORDER_CANCEL, Priority::Cancel, t0 + ms(1000)), 10);
}

#[test]
fn headers_correct_the_count_and_the_limit() {
    let mut g = gov();
    let t0 = Instant::now();
    g.try_admit(path::ORDER_AMEND_BATCH, 2, Priority::Quote, t0).unwrap();
    g.settle(path::ORDER_AMEND_BATCH, 2, t0, t0);
    // The exchange counts 7 used (someone else on the account): we count 7 too.
    let h = LimitHeaders {
        limit: Some(10),
        remaining: Some(3),
        reset_at: None,
    };
    g.observe(path::ORDER_AMEND_BATCH, h, t0);
    assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0), 3);
    // A lower limit than configured is taken; a higher one is not (the config is our share).
    let change = g.observe(
        path::ORDER_AMEND_BATCH,
        LimitHeaders {
            limit: Some(5),
            remaining: Some(5),
            reset_at: None,
        },
        t0 + ms(1050),
    );
    assert_eq!(
        change,
        Some(LimitChange {
            configured: 10,
            exchange_says: 5
        })
    );
    assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(1050)), 5);
    g.observe(
        path::ORDER_AMEND_BATCH,
        LimitHeaders {
            limit: Some(100),
            remaining: Some(100),
            reset_at: None,
        },
        t0 + ms(2100),
    );
    assert_eq!(g.available(path::ORDER_AMEND_BATCH, Priority::Quote, t0 + ms(2100)), 10);
    assert_eq!(g.learned(path::ORDER_AMEND_BATCH), Some(100));
}

#[test]
fn rate_limited_waits_exactly_until_the_reset() {
    let mut g = gov();
    let t0 = Instant::now();
    g.rate_limited(path::ORDER_CANCEL_ALL, Some(t0 + ms(730)), t0);
    let d = g.try_admit(path::ORDER_CANCEL_ALL, 1, Priority::Cancel, t0 + ms(100)).unwrap_err();
    assert_eq!((d.reason, d.until), (DeferReason::RateLimited, t0 + ms(730)));
    assert!(g.try_admit(path::ORDER_CANCEL_ALL, 1, Priority::Cancel, t0 + ms(730)).is_ok());
    // Headers with nothing left and a reset ahead block the same way.
    g.observe(
        path::ORDER_CREATE,
        LimitHeaders {
            limit: Some(10),
            remaining: Some(0),
            reset_at: Some(t0 + ms(400)),
        },
        t0,
    );
    assert_eq!(g.available(path::ORDER_CREATE, Priority::Quote, t0 + ms(399)), 0);
}

#[test]
fn the_ip_margin_is_never_used_not_even_by_cancels() {
    let settings = RateLimitSettings {
        ip_requests_per_5s: 100,
        cancel_reserve: 10,
        ip_margin: 5,
        ..Default::default()
    };
    let mut g = RateGovernor::new(settings);
    let t0 = Instant::now();
    // Public reads: no per-endpoint budget, only the IP window.
    for i in 0..85 {
        g.try_admit(path::TIME, 1, Priority::Read, t0 + ms(i)).unwrap();
    }
    let d = g.try_admit(path::TIME, 1, Priority::Read, t0 + ms(90)).unwrap_err();
    assert_eq!(d.reason, DeferReason::IpWindow);
    for i in 0..10 {
        g.try_admit(path::ORDER_CANCEL, 1, Priority::Cancel, t0 + ms(100 + i)).unwrap();
        g.settle(path::ORDER_CANCEL, 1, t0 + ms(100 + i), t0 + ms(100 + i));
    }
    // 95 of 100 sent: the last 5 stay unused; the window frees the first at t0 + 5 s.
    let d = g.try_admit(path::ORDER_CANCEL, 1, Priority::Cancel, t0 + ms(200)).unwrap_err();
    assert_eq!((d.reason, d.until), (DeferReason::IpWindow, t0 + ms(5000)));
    assert_eq!(g.snapshot(t0 + ms(200)).ip_remaining, 0);
    g.try_admit(path::ORDER_CANCEL, 1, Priority::Cancel, t0 + ms(5000)).unwrap();
}

#[test]
fn ip_ban_stops_everything_and_cancels_keep_a_reserve() {
    let settings = RateLimitSettings {
        ip_requests_per_5s: 10,
        cancel_reserve: 2,
        ip_margin: 0,
        ..Default::default()
    };
    let mut g = RateGovernor::new(settings);
    let t0 = Instant::now();
    for i in 0..8 {
        g.try_admit(path::ORDER_REALTIME, 1, Priority::Read, t0 + ms(i)).unwrap();
    }
    // Quotes and reads stop at 8 of 10; cancels may use the last 2.
    let d = g.try_admit(path::ORDER_CREATE, 1, Priority::Quote, t0 + ms(10)).unwrap_err();
    assert_eq!((d.reason, d.until), (DeferReason::IpWindow, t0 + ms(5000)));
    assert_eq!(g.available(path::ORDER_CANCEL_BATCH, Priority::Cancel, t0 + ms(10)), 10);
    g.try_admit(path::ORDER_CANCEL_BATCH, 3, Priority::Cancel, t0 + ms(10)).unwrap();
    let until = g.ip_banned(t0 + ms(20));
    assert_eq!(until, t0 + ms(20) + ms(600_000));
    let d = g.try_admit(path::ORDER_CANCEL_ALL, 1, Priority::Cancel, t0 + ms(30)).unwrap_err();
    assert_eq!(d.reason, DeferReason::IpBan);
    assert_eq!(g.snapshot(t0 + ms(30)).ip_banned_ms, 599_990);
}

#[test]
fn configured_endpoint_overrides_for_a_vip_account() {
    let mut settings = RateLimitSettings::default();
    settings.endpoints.insert(path::ORDER_AMEND_BATCH.into(), 40);
    let mut g = RateGovernor::new(settings);
    assert_eq!(g.max_units(path::ORDER_AMEND_BATCH), 40);
    assert_eq!(g.max_units(path::ORDER_CREATE_BATCH), 10);
}
