//! The transaction lifecycle: every illegal transition refused, every legal path of UC-01..UC-10 walked,
//! deadlines applied through poll_timeout/handle_timeout.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use idea_proto::TransactionState::{self as S, *};
use idea_proto::*;
use std::collections::BTreeSet;

fn t0() -> Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

fn at(seconds: u64) -> Timestamp {
    t0().checked_add(Duration::from_secs(seconds)).unwrap()
}

/// A lifecycle brought to `state` along the shortest legal path.
fn in_state(state: S) -> Lifecycle {
    let path = shortest_path(Requested, state).unwrap_or_else(|| panic!("{state} unreachable"));
    let mut l = Lifecycle::open(TransactionId::from_bytes([1; 16]), t0(), None);
    for (i, s) in path.into_iter().enumerate() {
        l.transition(s, at(i as u64 + 1)).unwrap();
    }
    assert_eq!(l.state(), state);
    l
}

fn shortest_path(from: S, to: S) -> Option<Vec<S>> {
    let mut queue = std::collections::VecDeque::from([(from, Vec::new())]);
    let mut seen = BTreeSet::from([from]);
    while let Some((s, path)) = queue.pop_front() {
        if s == to {
            return Some(path);
        }
        for t in TRANSITIONS.iter().filter(|t| t.from == s) {
            if seen.insert(t.to) {
                let mut p = path.clone();
                p.push(t.to);
                queue.push_back((t.to, p));
            }
        }
    }
    None
}

#[test]
fn every_illegal_transition_is_refused_naming_both_states() {
    let mut refused = 0;
    for from in S::ALL {
        for to in S::ALL {
            if transition(from, to).is_some() {
                continue;
            }
            let mut l = in_state(from);
            let err = l.transition(to, at(100)).unwrap_err();
            assert_eq!(err, Error::IllegalTransition { from, to });
            assert_eq!(
                err.to_string(),
                format!("illegal transaction transition from {from} to {to}")
            );
            assert_eq!(l.state(), from, "a refused transition changes nothing");
            refused += 1;
        }
    }
    assert_eq!(refused, 14 * 14 - TRANSITIONS.len());
}

/// Every simple path (each loop taken at most once) from `requested` to a terminal state.
fn all_paths() -> Vec<Vec<S>> {
    fn walk(path: &mut Vec<S>, used: &mut BTreeSet<(S, S)>, out: &mut Vec<Vec<S>>) {
        let here = *path.last().unwrap();
        if here.is_terminal() {
            out.push(path.clone());
            return;
        }
        for t in TRANSITIONS.iter().filter(|t| t.from == here) {
            if used.insert((t.from, t.to)) {
                path.push(t.to);
                walk(path, used, out);
                path.pop();
                used.remove(&(t.from, t.to));
            }
        }
    }
    let mut out = Vec::new();
    walk(&mut vec![Requested], &mut BTreeSet::new(), &mut out);
    out
}

#[test]
fn every_legal_path_is_walked() {
    let paths = all_paths();
    let mut covered = BTreeSet::new();
    for path in &paths {
        let mut l = Lifecycle::open(TransactionId::from_bytes([2; 16]), t0(), None);
        for (i, &s) in path.iter().enumerate().skip(1) {
            l.transition(s, at(i as u64))
                .unwrap_or_else(|e| panic!("{path:?}: {e}"));
            covered.insert((path[i - 1], s));
        }
        assert!(l.state().is_terminal());
        assert_eq!(l.history().len(), path.len() - 1);
        // The history rebuilds the same lifecycle.
        let again =
            Lifecycle::from_history(l.transaction_id(), l.opened(), l.history().to_vec(), None)
                .unwrap();
        assert_eq!(again, l);
    }
    let all: BTreeSet<_> = TRANSITIONS.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(covered, all, "every transition lies on some walked path");
    let happy = [
        Requested,
        Answered,
        Negotiating,
        Agreed,
        Recorded,
        Commanded,
        Executing,
        Measured,
        Completed,
        Settled,
    ];
    assert!(
        paths.iter().any(|p| p.as_slice() == happy),
        "the ten steps UC-01..UC-10"
    );
}

#[test]
fn the_ten_steps_each_name_their_use_case() {
    let steps: Vec<_> = [
        (Requested, Answered),
        (Answered, Negotiating),
        (Negotiating, Agreed),
        (Agreed, Recorded),
        (Recorded, Commanded),
        (Commanded, Executing),
        (Executing, Measured),
        (Measured, Completed),
        (Completed, Settled),
    ]
    .iter()
    .map(|&(a, b)| transition(a, b).unwrap().step)
    .collect();
    assert_eq!(
        steps,
        [
            "UC-02", "UC-03", "UC-03", "UC-04", "UC-05", "UC-06", "UC-08", "UC-09", "UC-10"
        ]
    );
    assert_eq!(transition(Executing, Failed).unwrap().step, "UC-07");
}

#[test]
fn deadlines_expire_before_recording_and_fail_after() {
    for state in [Requested, Answered, Negotiating, Agreed] {
        let mut l = in_state(state);
        l.set_deadline(Some(at(50)));
        assert_eq!(l.poll_timeout(), Some(at(50)));
        l.handle_timeout(at(49));
        assert_eq!(l.state(), state, "not yet");
        l.handle_timeout(at(50));
        assert_eq!(l.state(), Expired, "from {state}");
        assert_eq!(l.poll_timeout(), None);
    }
    for state in [Recorded, Commanded, Executing] {
        let mut l = in_state(state);
        l.set_deadline(Some(at(50)));
        l.handle_timeout(at(60));
        assert_eq!(l.state(), Failed, "from {state}");
    }
    for state in [Measured, Completed, Settled, Rejected, Disputed] {
        let mut l = in_state(state);
        l.set_deadline(Some(at(50)));
        assert_eq!(l.poll_timeout(), None, "{state} does not time out");
        l.handle_timeout(at(60));
        assert_eq!(l.state(), state);
    }
}

#[test]
fn time_does_not_run_backwards_and_histories_are_checked() {
    let mut l = in_state(Agreed);
    let last = l.history().last().unwrap().at;
    let before = last.checked_sub(Duration::from_ms(1)).unwrap();
    assert!(l.transition(Recorded, before).is_err());
    // A history whose `from` does not follow is refused with the index.
    let forged = vec![StateChange {
        from: Answered,
        to: Agreed,
        at: at(1),
    }];
    let err = Lifecycle::from_history(TransactionId::from_bytes([3; 16]), t0(), forged, None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "history[0].from: is answered but the transaction was requested"
    );
    // An illegal step inside a history is refused as such.
    let forged = vec![StateChange {
        from: Requested,
        to: Settled,
        at: at(1),
    }];
    let err = Lifecycle::from_history(TransactionId::from_bytes([3; 16]), t0(), forged, None)
        .unwrap_err();
    assert_eq!(
        err,
        Error::IllegalTransition {
            from: Requested,
            to: Settled
        }
    );
}

#[test]
fn an_illegal_history_fails_to_decode_from_the_wire() {
    use idea_proto::wire::pb;
    let wire = pb::TransactionLifecycle {
        transaction_id: vec![7; 16],
        opened_unix_ms: t0().unix_ms(),
        history: vec![pb::StateChange {
            from: pb::TransactionState::Requested as i32,
            to: pb::TransactionState::Settled as i32,
            at_unix_ms: at(1).unix_ms(),
        }],
        deadline_unix_ms: None,
    };
    let bytes = prost::Message::encode_to_vec(&wire);
    assert_eq!(
        Lifecycle::decode_payload(&bytes).unwrap_err(),
        Error::IllegalTransition {
            from: Requested,
            to: Settled
        }
    );
}
