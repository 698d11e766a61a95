//! Responses dated by the virtual clock.

use std::time::Duration;

use llmvcr_faults::{Fault, FaultPlan, Selector, VirtualClock};

use super::support::{Canned, URL, client, faults};

#[tokio::test(start_paused = true)]
async fn status_and_passthrough_responses_carry_a_date_from_the_virtual_clock() {
    let canned = Canned::sse();
    let plan = FaultPlan::new().inject(
        Selector::any().request(1),
        Fault::status(
            429,
            vec![("retry-after".into(), "Thu, 01 Jan 2026 00:00:30 GMT".into())],
            "",
        ),
    );
    let f = faults(plan).with_clock(VirtualClock::start(VirtualClock::default_epoch()));
    let c = client(&f, &canned);

    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let faulted = c.post(URL).send().await.unwrap();
    assert_eq!(faulted.status(), 429);
    assert_eq!(faulted.headers()["date"], "Thu, 01 Jan 2026 00:00:02 GMT");

    tokio::time::sleep(Duration::from_secs(60)).await;
    let replayed = c.post(URL).send().await.unwrap();
    assert_eq!(replayed.headers()["x-upstream"], "canned");
    assert_eq!(replayed.headers()["date"], "Thu, 01 Jan 2026 00:01:02 GMT");
}

#[tokio::test(start_paused = true)]
async fn a_date_the_fault_sets_is_kept() {
    let canned = Canned::sse();
    let plan = FaultPlan::new().inject(
        Selector::any(),
        Fault::status(
            503,
            vec![("date".into(), "Mon, 02 Mar 2026 10:00:00 GMT".into())],
            "",
        ),
    );
    let f = faults(plan).with_clock(VirtualClock::start(VirtualClock::default_epoch()));
    let response = client(&f, &canned).post(URL).send().await.unwrap();
    let dates: Vec<_> = response.headers().get_all("date").iter().collect();
    assert_eq!(dates, ["Mon, 02 Mar 2026 10:00:00 GMT"]);
}

#[tokio::test]
async fn without_a_clock_nothing_is_dated() {
    let canned = Canned::sse();
    let f = faults(FaultPlan::new().inject(Selector::any(), Fault::status(500, vec![], "")));
    let response = client(&f, &canned).post(URL).send().await.unwrap();
    assert!(f.clock().is_none());
    assert!(!response.headers().contains_key("date"));
}

#[tokio::test(start_paused = true)]
async fn dates_outside_what_http_dates_can_write_are_clamped() {
    let last = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    let clock = VirtualClock::start(last);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(clock.http_date(), "Fri, 31 Dec 9999 23:59:59 GMT");
    let early = std::time::SystemTime::UNIX_EPOCH - Duration::from_secs(10);
    assert_eq!(
        VirtualClock::start(early).http_date(),
        "Thu, 01 Jan 1970 00:00:00 GMT"
    );
}
