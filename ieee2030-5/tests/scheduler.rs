//! The DER event scheduler against a virtual clock: one test per rule of IEEE 2030.5-2018 clauses 10.10 and
//! 12.1.3, including the precedence cases a certification lab runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)]

use ieee2030_5::primitives::{HexBinary, Mrid};
use ieee2030_5::resources::{
    DERControl, DERControlBase, DERProgram, DateTimeInterval, DefaultDERControl, EventStatus, Time,
};
use ieee2030_5::scheduler::{
    ControlSource, DerMode, EventState, ModeSet, ResponseStatus, Scheduler, SchedulerConfig,
    SchedulerEvent,
};

const SERVER: &str = "https://utility";
const LFDI: [u8; 20] = [0x3E; 20];

fn id(n: u8) -> Mrid {
    Mrid::from([n; 16])
}

fn scheduler() -> Scheduler {
    scheduler_with(ModeSet::all(), None, 7)
}

fn scheduler_with(supported: ModeSet, category: Option<u32>, seed: u64) -> Scheduler {
    Scheduler::new(SchedulerConfig {
        lfdi: HexBinary(LFDI),
        device_category: category.map(|c| HexBinary(c.to_be_bytes())),
        supported,
        seed,
    })
}

fn program(n: u8, primacy: u8) -> DERProgram {
    DERProgram {
        mrid: id(n),
        primacy,
        ..Default::default()
    }
}

fn limit(w: u16) -> DERControlBase {
    DERControlBase {
        op_mod_max_lim_w: Some(w),
        ..Default::default()
    }
}

/// An event asking for receipt and specific responses.
fn event(n: u8, created: i64, start: i64, duration: u32, base: DERControlBase) -> DERControl {
    DERControl {
        mrid: id(n),
        creation_time: created,
        interval: DateTimeInterval {
            start,
            duration,
            ..Default::default()
        },
        event_status: EventStatus {
            current_status: 0,
            date_time: created,
            ..Default::default()
        },
        der_control_base: base,
        response_required: Some(HexBinary([0x07])),
        reply_to: Some("/rsp".into()),
        ..Default::default()
    }
}

fn with_status(mut control: DERControl, status: u8) -> DERControl {
    control.event_status.current_status = status;
    control
}

/// Publishes program `(number, primacy)` of `SERVER` with `controls` and no default, at `now`.
fn publish(s: &mut Scheduler, (number, primacy): (u8, u8), controls: &[DERControl], now: i64) {
    s.update_program(SERVER, &program(number, primacy), controls, None, now);
}

/// Responses queued so far as (event number, status code, createdDateTime).
fn responses(s: &mut Scheduler) -> Vec<(u8, u8, i64)> {
    std::iter::from_fn(|| s.poll_response())
        .map(|r| {
            assert_eq!(r.response.end_device_lfdi, HexBinary(LFDI));
            assert_eq!(r.reply_to.as_deref(), Some("/rsp"));
            (
                r.response.subject.0[0],
                r.response.status.unwrap(),
                r.response.created_date_time.unwrap(),
            )
        })
        .collect()
}

fn holder(s: &Scheduler, mode: DerMode) -> Option<u8> {
    s.active().event_for(mode).map(|m| m.0[0])
}

fn state(s: &Scheduler, n: u8) -> EventState {
    s.event(&id(n)).unwrap().state
}

/// Steps the clock through every timeout up to `until`.
fn run_until(s: &mut Scheduler, until: i64) {
    while let Some(t) = s.poll_timeout().filter(|t| *t <= until) {
        s.handle_timeout(t);
    }
    s.handle_timeout(until);
}

const RECEIVED: u8 = 1;
const STARTED: u8 = 2;
const COMPLETED: u8 = 3;
const OPT_OUT: u8 = 4;
const OPT_IN: u8 = 5;
const CANCELLED: u8 = 6;
const SUPERSEDED: u8 = 7;
const PARTIAL_OPT_OUT: u8 = 8;
const PARTIAL_OPT_IN: u8 = 9;
const NO_PARTICIPATION: u8 = 10;
const ABORTED_SERVER: u8 = 13;
const ABORTED_PROGRAM: u8 = 14;
const NOT_APPLICABLE: u8 = 252;
const INVALID: u8 = 253;
const EXPIRED: u8 = 254;

#[test]
fn an_event_is_received_started_and_completed_at_its_boundaries() {
    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 50, 1000, 600, limit(40))], 100);
    assert_eq!(responses(&mut s), [(10, RECEIVED, 100)]);
    assert_eq!(state(&s, 10), EventState::Scheduled);
    assert_eq!(s.poll_timeout(), Some(1000));
    s.handle_timeout(999);
    assert_eq!(holder(&s, DerMode::MaxLimW), None);
    s.handle_timeout(1000);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    assert_eq!(s.active().base().op_mod_max_lim_w, Some(40));
    assert_eq!(state(&s, 10), EventState::Active);
    assert_eq!(responses(&mut s), [(10, STARTED, 1000)]);
    assert_eq!(s.poll_timeout(), Some(1600));
    s.handle_timeout(1599);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    s.handle_timeout(1600);
    assert_eq!(holder(&s, DerMode::MaxLimW), None);
    assert_eq!(state(&s, 10), EventState::Completed);
    assert_eq!(responses(&mut s), [(10, COMPLETED, 1600)]);
    assert_eq!(s.poll_timeout(), None);
    // The same list polled again: nothing new.
    publish(&mut s, (1, 1), &[event(10, 50, 1000, 600, limit(40))], 1700);
    assert_eq!(responses(&mut s), []);
}

#[test]
fn response_required_bits_select_the_responses() {
    for (bits, expected) in [
        (0x00, vec![]),
        (0x01, vec![RECEIVED]),
        (0x02, vec![STARTED, COMPLETED]),
        (0x03, vec![RECEIVED, STARTED, COMPLETED]),
    ] {
        let mut s = scheduler();
        let mut control = event(10, 0, 100, 100, limit(40));
        control.response_required = if bits == 0 {
            None
        } else {
            Some(HexBinary([bits]))
        };
        publish(&mut s, (1, 1), &[control], 0);
        run_until(&mut s, 1000);
        let got: Vec<u8> = responses(&mut s).into_iter().map(|r| r.1).collect();
        assert_eq!(got, expected, "responseRequired {bits:02X}");
    }
}

#[test]
fn a_higher_primacy_event_suspends_a_lower_one_which_resumes() {
    let mut s = scheduler();
    // The lower-primacy program's event is newer: creation time does not count across primacy.
    publish(&mut s, (1, 1), &[event(10, 10, 1200, 300, limit(10))], 0);
    publish(&mut s, (2, 5), &[event(20, 90, 1000, 1000, limit(80))], 0);
    responses(&mut s);
    run_until(&mut s, 1000);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(20));
    run_until(&mut s, 1200);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    assert_eq!(state(&s, 20), EventState::Suspended);
    run_until(&mut s, 1500);
    assert_eq!(
        holder(&s, DerMode::MaxLimW),
        Some(20),
        "the lower-primacy event resumes"
    );
    run_until(&mut s, 2000);
    assert_eq!(
        responses(&mut s),
        [
            (20, STARTED, 1000),
            (20, ABORTED_PROGRAM, 1200),
            (10, STARTED, 1200),
            (10, COMPLETED, 1500),
            (20, COMPLETED, 2000)
        ]
    );
}

#[test]
fn displacement_by_another_server_is_reported_as_13() {
    let mut s = scheduler();
    s.update_program(
        "https://aggregator",
        &program(2, 5),
        &[event(20, 0, 1000, 1000, limit(80))],
        None,
        0,
    );
    publish(&mut s, (1, 1), &[event(10, 0, 1200, 300, limit(10))], 0);
    run_until(&mut s, 1300);
    assert!(responses(&mut s).contains(&(20, ABORTED_SERVER, 1200)));
}

#[test]
fn a_newer_event_of_the_same_program_supersedes_the_older_for_good() {
    let mut s = scheduler();
    let older = event(10, 100, 1000, 3600, limit(50));
    let newer = event(11, 200, 1800, 900, limit(20));
    publish(&mut s, (1, 1), &[older, newer], 500);
    run_until(&mut s, 1799);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    run_until(&mut s, 1800);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(11));
    assert_eq!(state(&s, 10), EventState::Superseded);
    run_until(&mut s, 2700);
    assert_eq!(
        holder(&s, DerMode::MaxLimW),
        None,
        "a superseded event never resumes"
    );
    run_until(&mut s, 5000);
    assert_eq!(
        responses(&mut s),
        [
            (10, RECEIVED, 500),
            (11, RECEIVED, 500),
            (10, STARTED, 1000),
            (10, SUPERSEDED, 1800),
            (11, STARTED, 1800),
            (11, COMPLETED, 2700)
        ]
    );
}

#[test]
fn an_older_event_starting_inside_a_newer_one_is_superseded_without_starting() {
    let mut s = scheduler();
    let newer = event(11, 200, 1000, 3600, limit(20));
    let older = event(10, 100, 2000, 600, limit(50));
    publish(&mut s, (1, 1), &[newer, older], 500);
    run_until(&mut s, 5000);
    let got = responses(&mut s);
    assert!(got.contains(&(10, SUPERSEDED, 2000)));
    assert!(!got.iter().any(|r| r.0 == 10 && r.1 == STARTED));
    assert!(got.contains(&(11, COMPLETED, 4600)));
}

#[test]
fn events_on_different_modes_run_side_by_side() {
    let mut s = scheduler();
    let watts = event(10, 100, 1000, 1000, limit(50));
    let vars = event(
        11,
        200,
        1200,
        200,
        DERControlBase {
            op_mod_target_var: Some(Default::default()),
            ..Default::default()
        },
    );
    publish(&mut s, (1, 1), &[watts, vars], 500);
    run_until(&mut s, 1300);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    assert_eq!(holder(&s, DerMode::TargetVar), Some(11));
    run_until(&mut s, 3000);
    let got = responses(&mut s);
    assert!(got.contains(&(10, COMPLETED, 2000)));
    assert!(got.contains(&(11, COMPLETED, 1400)));
}

#[test]
fn a_partial_overlap_of_modes_takes_only_the_shared_modes() {
    let mut s = scheduler();
    let both = event(
        10,
        100,
        1000,
        1000,
        DERControlBase {
            op_mod_max_lim_w: Some(50),
            op_mod_fixed_w: Some(5),
            ..Default::default()
        },
    );
    let one = event(11, 200, 1200, 200, limit(20));
    publish(&mut s, (1, 1), &[both, one], 500);
    run_until(&mut s, 1200);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(11));
    assert_eq!(holder(&s, DerMode::FixedW), Some(10));
    assert_eq!(state(&s, 10), EventState::Active);
    run_until(&mut s, 1400);
    assert_eq!(
        holder(&s, DerMode::MaxLimW),
        None,
        "the shared mode stays superseded"
    );
    assert_eq!(holder(&s, DerMode::FixedW), Some(10));
    run_until(&mut s, 3000);
    let got = responses(&mut s);
    assert!(got.contains(&(10, COMPLETED, 2000)));
    assert!(!got.iter().any(|r| r.1 == SUPERSEDED));
}

#[test]
fn superseding_needs_an_overlap_in_time() {
    let mut s = scheduler();
    let first = event(10, 100, 1000, 500, limit(50));
    let later = event(11, 200, 1500, 500, limit(20));
    publish(&mut s, (1, 1), &[first, later], 500);
    run_until(&mut s, 3000);
    let got = responses(&mut s);
    assert!(got.contains(&(10, COMPLETED, 1500)));
    assert!(got.contains(&(11, COMPLETED, 2000)));
}

#[test]
fn equal_primacy_across_programs_and_servers_supersedes_by_creation_time() {
    for (server, expected) in [(SERVER, ABORTED_PROGRAM), ("https://other", ABORTED_SERVER)] {
        let mut s = scheduler();
        publish(
            &mut s,
            (1, 3),
            &[event(10, 100, 1000, 1000, limit(50))],
            500,
        );
        s.update_program(
            server,
            &program(2, 3),
            &[event(20, 200, 1500, 100, limit(20))],
            None,
            500,
        );
        run_until(&mut s, 1600);
        assert_eq!(
            holder(&s, DerMode::MaxLimW),
            None,
            "superseded, so no resumption"
        );
        assert!(responses(&mut s).contains(&(10, expected, 1500)));
    }
}

#[test]
fn start_and_duration_randomisation_are_applied_to_their_own_fields() {
    for seed in 0..20 {
        let mut s = scheduler_with(ModeSet::all(), None, seed);
        let mut start_only = event(10, 0, 1000, 600, limit(1));
        start_only.randomize_start = Some(300);
        let mut duration_only = event(
            11,
            0,
            1000,
            600,
            DERControlBase {
                op_mod_fixed_w: Some(1),
                ..Default::default()
            },
        );
        duration_only.randomize_duration = Some(-120);
        publish(&mut s, (1, 1), &[start_only, duration_only], 0);
        let a = s.event(&id(10)).unwrap();
        assert!(
            (1000..=1300).contains(&a.start),
            "start {} seed {seed}",
            a.start
        );
        assert_eq!(
            a.end - a.start,
            600,
            "randomizeStart must not touch the duration"
        );
        let b = s.event(&id(11)).unwrap();
        assert_eq!(b.start, 1000, "randomizeDuration must not touch the start");
        assert!((480..=600).contains(&(b.end - b.start)));
        run_until(&mut s, 3000);
        let got = responses(&mut s);
        assert!(got.contains(&(10, STARTED, a.start)));
        assert!(got.contains(&(11, COMPLETED, b.end)));
    }
}

#[test]
fn randomisation_is_reproducible_per_seed_and_spread_across_seeds() {
    let mut starts = std::collections::BTreeSet::new();
    for seed in 0..30 {
        let run = |seed| {
            let mut s = scheduler_with(ModeSet::all(), None, seed);
            let mut control = event(10, 0, 1000, 600, limit(1));
            control.randomize_start = Some(3600);
            publish(&mut s, (1, 1), &[control], 0);
            s.event(&id(10)).unwrap().start
        };
        assert_eq!(run(seed), run(seed));
        starts.insert(run(seed));
    }
    assert!(starts.len() > 25, "{starts:?}");
}

#[test]
fn a_cancelled_event_stops_when_the_cancellation_is_seen() {
    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 0, 1000, 1000, limit(5))], 0);
    run_until(&mut s, 1200);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    publish(
        &mut s,
        (1, 1),
        &[with_status(event(10, 0, 1000, 1000, limit(5)), 2)],
        1300,
    );
    assert_eq!(holder(&s, DerMode::MaxLimW), None);
    assert_eq!(state(&s, 10), EventState::Cancelled);
    run_until(&mut s, 3000);
    assert_eq!(
        responses(&mut s),
        [
            (10, RECEIVED, 0),
            (10, STARTED, 1000),
            (10, CANCELLED, 1300)
        ]
    );
}

#[test]
fn a_scheduled_event_cancelled_never_starts() {
    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 0, 1000, 1000, limit(5))], 0);
    publish(
        &mut s,
        (1, 1),
        &[with_status(event(10, 0, 1000, 1000, limit(5)), 2)],
        500,
    );
    run_until(&mut s, 3000);
    assert_eq!(responses(&mut s), [(10, RECEIVED, 0), (10, CANCELLED, 500)]);
}

#[test]
fn cancellation_with_randomisation_ends_within_the_larger_bound() {
    let mut ends = std::collections::BTreeSet::new();
    for seed in 0..20 {
        let mut s = scheduler_with(ModeSet::all(), None, seed);
        let mut control = event(10, 0, 1000, 5000, limit(5));
        control.randomize_start = Some(-60);
        control.randomize_duration = Some(600);
        publish(&mut s, (1, 1), &[control.clone()], 0);
        run_until(&mut s, 1500);
        publish(&mut s, (1, 1), &[with_status(control, 3)], 1500);
        let end = s.event(&id(10)).unwrap().end;
        assert!((1500..=2100).contains(&end), "end {end}");
        run_until(&mut s, end - 1);
        if end > 1500 {
            assert_eq!(
                holder(&s, DerMode::MaxLimW),
                Some(10),
                "runs until its randomised cancellation"
            );
        }
        run_until(&mut s, 9000);
        assert!(responses(&mut s).contains(&(10, CANCELLED, end)));
        ends.insert(end);
    }
    assert!(ends.len() > 10);
}

#[test]
fn an_event_the_server_marks_superseded_stops() {
    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 0, 1000, 1000, limit(5))], 0);
    run_until(&mut s, 1100);
    publish(
        &mut s,
        (1, 1),
        &[with_status(event(10, 0, 1000, 1000, limit(5)), 4)],
        1100,
    );
    assert_eq!(state(&s, 10), EventState::Superseded);
    assert!(responses(&mut s).contains(&(10, SUPERSEDED, 1100)));
}

/// A newer event of program 1 replacing event 10 from 2000, with a start randomisation of 900 s.
fn replacement(n: u8) -> DERControl {
    let mut control = event(n, 1500, 2000, 600, limit(7));
    control.randomize_start = Some(900);
    control
}

#[test]
fn the_event_replacing_one_the_server_superseded_starts_at_once() {
    for seed in 0..10 {
        let mut s = scheduler_with(ModeSet::all(), None, seed);
        let old = event(10, 0, 1000, 3000, limit(5));
        publish(&mut s, (1, 1), &[old.clone(), replacement(11)], 1500);
        let drawn = s.event(&id(11)).unwrap();
        assert!((2000..=2900).contains(&drawn.start));
        // The server marks the old event superseded at the new one's earliest start; the device sees it at
        // 2010, outside the old event's (empty) start randomisation window.
        publish(
            &mut s,
            (1, 1),
            &[with_status(old, 4), replacement(11)],
            2010,
        );
        let new = s.event(&id(11)).unwrap();
        assert_eq!(new.start, 2010.min(drawn.start), "seed {seed}");
        assert_eq!(new.end - new.start, 600, "the duration is kept");
        assert_eq!(state(&s, 10), EventState::Superseded);
        assert_eq!(holder(&s, DerMode::MaxLimW), Some(11));
        // A later copy of the new event from the server does not undo it.
        publish(&mut s, (1, 1), &[replacement(11)], 2020);
        assert_eq!(s.event(&id(11)).unwrap().start, new.start);
        run_until(&mut s, 5000);
        let got = responses(&mut s);
        // Superseded when the device saw it, or earlier if the new event's own draw came first.
        assert!(got.contains(&(10, SUPERSEDED, new.start)), "{got:?}");
        assert!(got.contains(&(11, STARTED, new.start)), "{got:?}");
        assert!(got.contains(&(11, COMPLETED, new.start + 600)), "{got:?}");
    }
}

#[test]
fn inside_the_superseded_events_start_window_the_new_event_keeps_its_randomisation() {
    let mut hastened = 0;
    for seed in 0..10 {
        let mut s = scheduler_with(ModeSet::all(), None, seed);
        // The old event may start anywhere in 1900..2500; at 2010 the device may still be waiting for it.
        let mut old = event(10, 0, 1900, 3000, limit(5));
        old.randomize_start = Some(600);
        publish(&mut s, (1, 1), &[old.clone(), replacement(11)], 1500);
        let drawn = s.event(&id(11)).unwrap().start;
        publish(
            &mut s,
            (1, 1),
            &[with_status(old, 4), replacement(11)],
            2010,
        );
        assert_eq!(s.event(&id(11)).unwrap().start, drawn, "seed {seed}");
        // An event of another program is no replacement: superseding one event hastens nothing elsewhere.
        let mut s = scheduler_with(ModeSet::all(), None, seed);
        let old = event(10, 0, 1000, 3000, limit(5));
        publish(&mut s, (1, 1), std::slice::from_ref(&old), 1500);
        publish(&mut s, (2, 1), &[replacement(11)], 1500);
        publish(&mut s, (1, 1), &[with_status(old, 4)], 2010);
        assert_eq!(s.event(&id(11)).unwrap().start, drawn, "seed {seed}");
        hastened += usize::from(drawn > 2010);
    }
    assert!(hastened > 5, "the draws must leave room to hasten");
}

#[test]
fn defaults_fill_each_mode_from_the_highest_primacy_program_that_sets_it() {
    let mut s = scheduler();
    let default = |n: u8, base: DERControlBase| DefaultDERControl {
        mrid: id(n),
        der_control_base: base,
        ..Default::default()
    };
    let low = default(
        30,
        DERControlBase {
            op_mod_max_lim_w: Some(100),
            op_mod_fixed_w: Some(7),
            ..Default::default()
        },
    );
    let high = default(31, limit(60));
    s.update_program(SERVER, &program(2, 9), &[], Some(&low), 0);
    s.update_program(
        SERVER,
        &program(1, 1),
        &[event(10, 0, 1000, 100, limit(5))],
        Some(&high),
        0,
    );
    let source = |s: &Scheduler, mode| match s.active().source(mode) {
        Some(ControlSource::Default { mrid, .. }) => Some(mrid.0[0]),
        Some(ControlSource::Event { mrid, .. }) => Some(mrid.0[0] + 100),
        None => None,
    };
    assert_eq!(source(&s, DerMode::MaxLimW), Some(31));
    assert_eq!(source(&s, DerMode::FixedW), Some(30));
    assert_eq!(s.active().base().op_mod_max_lim_w, Some(60));
    run_until(&mut s, 1000);
    assert_eq!(source(&s, DerMode::MaxLimW), Some(110));
    assert_eq!(source(&s, DerMode::FixedW), Some(30));
    run_until(&mut s, 1100);
    assert_eq!(source(&s, DerMode::MaxLimW), Some(31));
    assert_eq!(s.default_control().map(|(_, d)| d.mrid), Some(id(31)));
    let changes = std::iter::from_fn(|| s.poll_event())
        .filter(|e| matches!(e, SchedulerEvent::ControlsChanged { .. }))
        .count();
    assert_eq!(
        changes, 4,
        "two defaults arriving, the event starting, the event ending"
    );
}

#[test]
fn server_time_comes_from_tm() {
    let mut s = scheduler();
    let tm = Time {
        current_time: 10_000,
        ..Default::default()
    };
    s.set_time(&tm, 9_900);
    assert_eq!(s.server_time(9_900), 10_000);
    publish(
        &mut s,
        (1, 1),
        &[event(10, 0, 10_500, 100, limit(5))],
        9_950,
    );
    assert_eq!(
        s.poll_timeout(),
        Some(10_400),
        "device time of the server-time start"
    );
    s.handle_timeout(10_400);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    assert_eq!(
        responses(&mut s),
        [(10, RECEIVED, 10_050), (10, STARTED, 10_500)]
    );
}

#[test]
fn a_late_timeout_replays_every_boundary_in_order() {
    let build = || {
        let mut s = scheduler();
        let mut a = event(10, 100, 1000, 1000, limit(50));
        a.randomize_start = Some(120);
        let b = event(11, 200, 1500, 100, limit(20));
        let c = event(20, 50, 1200, 600, limit(10));
        publish(&mut s, (1, 4), &[a, b], 0);
        publish(&mut s, (2, 1), &[c], 0);
        s
    };
    let mut stepped = build();
    run_until(&mut stepped, 10_000);
    let mut late = build();
    late.handle_timeout(10_000);
    assert_eq!(responses(&mut late), responses(&mut stepped));
}

#[test]
fn events_are_refused_with_the_reason() {
    let cases: Vec<(DERControl, u8)> = vec![
        (event(10, 0, 0, 50, limit(5)), EXPIRED),
        (
            {
                let mut e = event(10, 0, 1000, 50, limit(5));
                e.randomize_start = Some(3601);
                e
            },
            INVALID,
        ),
        (event(10, 0, 1000, 50, DERControlBase::default()), INVALID),
        (with_status(event(10, 0, 1000, 50, limit(5)), 9), INVALID),
        (
            event(
                10,
                0,
                1000,
                50,
                DERControlBase {
                    op_mod_volt_var: Some(Default::default()),
                    ..Default::default()
                },
            ),
            NOT_APPLICABLE,
        ),
    ];
    for (control, expected) in cases {
        let supported: ModeSet = [DerMode::MaxLimW].into_iter().collect();
        let mut s = scheduler_with(supported, None, 1);
        publish(&mut s, (1, 1), &[control], 100);
        assert_eq!(
            responses(&mut s),
            [(10, RECEIVED, 100), (10, expected, 100)]
        );
        assert!(matches!(state(&s, 10), EventState::Rejected(r) if r.code() == expected));
        run_until(&mut s, 5000);
        assert_eq!(responses(&mut s), []);
        assert!(s.active().is_empty());
    }
}

#[test]
fn events_for_another_device_category_are_ignored_silently() {
    let mut s = scheduler_with(ModeSet::all(), Some(1 << 21), 1);
    let mut other = event(10, 0, 1000, 50, limit(5));
    other.device_category = Some(HexBinary(4u32.to_be_bytes()));
    let mut ours = event(
        11,
        0,
        1000,
        50,
        DERControlBase {
            op_mod_fixed_w: Some(1),
            ..Default::default()
        },
    );
    ours.device_category = Some(HexBinary(((1u32 << 21) | 4).to_be_bytes()));
    publish(&mut s, (1, 1), &[other, ours], 100);
    run_until(&mut s, 1010);
    assert_eq!(state(&s, 10), EventState::Ignored);
    assert_eq!(holder(&s, DerMode::MaxLimW), None);
    assert_eq!(holder(&s, DerMode::FixedW), Some(11));
    assert!(responses(&mut s).iter().all(|r| r.0 == 11));
}

#[test]
fn opting_out_during_an_event_reports_a_partial_completion() {
    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 0, 1000, 1000, limit(5))], 0);
    run_until(&mut s, 1200);
    assert!(s.opt_out(&id(10), 1200));
    assert_eq!(holder(&s, DerMode::MaxLimW), None);
    assert_eq!(state(&s, 10), EventState::OptedOut);
    run_until(&mut s, 3000);
    assert_eq!(
        responses(&mut s),
        [
            (10, RECEIVED, 0),
            (10, STARTED, 1000),
            (10, OPT_OUT, 1200),
            (10, PARTIAL_OPT_OUT, 2000)
        ]
    );
}

#[test]
fn opting_back_in_and_opting_out_before_the_start() {
    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 0, 1000, 1000, limit(5))], 0);
    s.opt_out(&id(10), 500);
    run_until(&mut s, 1500);
    assert_eq!(holder(&s, DerMode::MaxLimW), None);
    s.opt_in(&id(10), 1500);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    run_until(&mut s, 3000);
    assert_eq!(
        responses(&mut s),
        [
            (10, RECEIVED, 0),
            (10, OPT_OUT, 500),
            (10, OPT_IN, 1500),
            (10, STARTED, 1500),
            (10, PARTIAL_OPT_IN, 2000)
        ]
    );

    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 0, 1000, 1000, limit(5))], 0);
    s.opt_out(&id(10), 500);
    run_until(&mut s, 3000);
    assert_eq!(
        responses(&mut s),
        [
            (10, RECEIVED, 0),
            (10, OPT_OUT, 500),
            (10, NO_PARTICIPATION, 2000)
        ]
    );
    assert!(!s.opt_out(&id(10), 3000), "over: nothing to opt out of");
}

#[test]
fn events_leaving_the_list_are_dropped_unless_running() {
    let mut s = scheduler();
    let running = event(10, 0, 1000, 1000, limit(5));
    let future = event(
        11,
        0,
        5000,
        100,
        DERControlBase {
            op_mod_fixed_w: Some(1),
            ..Default::default()
        },
    );
    publish(&mut s, (1, 1), &[running, future], 0);
    run_until(&mut s, 1100);
    publish(&mut s, (1, 1), &[], 1100);
    assert!(s.event(&id(11)).is_none());
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    run_until(&mut s, 9000);
    let got = responses(&mut s);
    assert!(got.contains(&(10, COMPLETED, 2000)));
    assert!(!got.iter().any(|r| r.0 == 11 && r.1 != RECEIVED));
}

#[test]
fn withdrawing_a_program_aborts_its_running_events() {
    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 0, 1000, 1000, limit(5))], 0);
    run_until(&mut s, 1100);
    s.remove_program(SERVER, &id(1), 1100);
    assert!(s.active().is_empty());
    assert!(responses(&mut s).contains(&(10, ABORTED_PROGRAM, 1100)));
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn an_event_moved_before_it_runs_follows_the_server() {
    let mut s = scheduler();
    publish(&mut s, (1, 1), &[event(10, 0, 1000, 100, limit(5))], 0);
    publish(&mut s, (1, 1), &[event(10, 0, 2000, 100, limit(5))], 500);
    run_until(&mut s, 1500);
    assert_eq!(holder(&s, DerMode::MaxLimW), None);
    run_until(&mut s, 2000);
    assert_eq!(holder(&s, DerMode::MaxLimW), Some(10));
    assert_eq!(responses(&mut s), [(10, RECEIVED, 0), (10, STARTED, 2000)]);
}

#[test]
fn every_response_status_has_its_code() {
    for code in [
        1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 252, 253, 254,
    ] {
        assert_eq!(
            ResponseStatus::from_code(code).map(ResponseStatus::code),
            Some(code)
        );
    }
    assert_eq!(ResponseStatus::from_code(0), None);
    assert_eq!(ResponseStatus::from_code(15), None);
    assert_eq!(ResponseStatus::from_code(251), None);
}

#[test]
fn capability_bits_map_to_modes() {
    // modesSupported bits 20 (opModMaxLimW) and 23 (opModVoltVar); doeModesSupported bit 0 (opModExpLimW).
    let sep = HexBinary(((1u32 << 20) | (1 << 23)).to_be_bytes());
    let doe = HexBinary([0x01]);
    let modes = ModeSet::from_capability(&sep, Some(&doe));
    let names: Vec<&str> = modes.iter().map(DerMode::name).collect();
    assert_eq!(names, ["opModMaxLimW", "opModVoltVar", "opModExpLimW"]);
}

#[test]
fn extreme_clocks_still_make_progress() {
    // A server clock far from the device's, events at the edges of time: every announced timeout moves on.
    for (server_now, start) in [
        (i64::MIN + 10, 100),
        (i64::MAX - 10, -100),
        (0, i64::MAX - 5),
        (1 << 39, 1 << 39),
    ] {
        let mut s = scheduler();
        s.set_time(
            &Time {
                current_time: server_now,
                ..Default::default()
            },
            0,
        );
        publish(&mut s, (1, 1), &[event(10, 0, start, 100, limit(5))], 0);
        let mut steps = 0;
        while let Some(t) = s.poll_timeout() {
            s.handle_timeout(t);
            assert_ne!(
                s.poll_timeout(),
                Some(t),
                "stuck at {t} ({server_now}, {start})"
            );
            steps += 1;
            assert!(steps < 10);
        }
    }
    let mut s = scheduler();
    assert!(!s.set_time(
        &Time {
            current_time: i64::MIN,
            ..Default::default()
        },
        0
    ));
    publish(
        &mut s,
        (1, 1),
        &[event(10, 0, i64::MAX - 5, 100, limit(5))],
        0,
    );
    assert_eq!(
        state(&s, 10),
        EventState::Rejected(ResponseStatus::EventInvalid)
    );
}
