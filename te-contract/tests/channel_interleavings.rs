//! Random interleavings of two honest sides' channel operations — propose, withdraw, accept (countersign),
//! confirm, messages delivered late, out of order or never, a side restarting from its store — then a one-sided close by either side and a
//! challenge by the other. No sequence may give two fully signed states one counter (an equivocation honest
//! sides could be blamed for), leave the channel unresolved, or pay a side more than the newest state both
//! signed gives it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{World, eur, later};
use idea_proto::{Money, TransactionId};
use proptest::prelude::*;
use std::collections::BTreeMap;
use te_contract::channel::{
    Adjudicator, Channel, ChannelOpen, ChannelState, ChannelStatus, CloseRequest, Debt,
    MemoryChannelStore, Party,
};
use te_contract::wallet::Wallets;
use te_contract::{DebtId, Signed};

/// One step of the schedule.
#[derive(Debug, Clone)]
enum Op {
    /// A side proposes a debt of the other side of this amount.
    Propose(Party, i64),
    /// A side withdraws its pending proposal.
    Withdraw(Party),
    /// The message in flight at this index (modulo their number) arrives.
    Deliver(usize),
    /// The message in flight at this index is lost.
    Drop(usize),
    /// A side stops and starts again from what its store kept (`Channel::restore`).
    Restart(Party),
}

/// A message between the sides.
#[derive(Debug, Clone)]
enum Message {
    /// A proposal, to be countersigned by `to`.
    Proposal {
        to: Party,
        state: Signed<ChannelState>,
    },
    /// A countersigned proposal, back to its proposer `to`.
    Countersigned {
        to: Party,
        state: Signed<ChannelState>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let party = prop_oneof![Just(Party::A), Just(Party::B)];
    prop_oneof![
        3 => (party.clone(), 1..1_000i64).prop_map(|(p, amount)| Op::Propose(p, amount)),
        1 => party.clone().prop_map(Op::Withdraw),
        1 => party.prop_map(Op::Restart),
        4 => any::<usize>().prop_map(Op::Deliver),
        1 => any::<usize>().prop_map(Op::Drop),
    ]
}

struct Sides {
    w: World,
    open: Signed<ChannelOpen>,
    a: Channel,
    b: Channel,
    /// What each side saved (A, B).
    stores: [MemoryChannelStore; 2],
    in_flight: Vec<Message>,
    /// Every fully signed state either side ever held, by counter.
    fully_signed: BTreeMap<u64, Vec<ChannelState>>,
    next_debt: u32,
}

impl Sides {
    /// Side `p`'s channel and store.
    fn side(&mut self, p: Party) -> (&mut Channel, &mut MemoryChannelStore) {
        match p {
            Party::A => (&mut self.a, &mut self.stores[0]),
            Party::B => (&mut self.b, &mut self.stores[1]),
        }
    }

    fn record(&mut self, state: &Signed<ChannelState>) {
        let list = self.fully_signed.entry(state.body().counter).or_default();
        if !list.contains(state.body()) {
            list.push(state.body().clone());
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Propose(p, amount) => {
                self.next_debt += 1;
                let mut id = [0u8; 16];
                id[..4].copy_from_slice(&self.next_debt.to_be_bytes());
                let debt = Debt {
                    id: DebtId::from_bytes(id),
                    debtor: p.other(),
                    amount,
                    contract: TransactionId::from_bytes([0xC0; 16]),
                    interval: self.next_debt,
                    token: None,
                };
                let key = self.w.keys[usize::from(p == Party::B)].clone();
                let (channel, store) = self.side(p);
                // Refused while a proposal of ours is pending, or past the proposal bound: fine.
                if let Ok(state) = channel.propose(vec![debt], vec![], store, &key, 0) {
                    self.in_flight.push(Message::Proposal {
                        to: p.other(),
                        state,
                    });
                }
            }
            Op::Withdraw(p) => {
                self.side(p).0.withdraw();
            }
            Op::Restart(p) => {
                let i = usize::from(p == Party::B);
                let (deployment, open, me) =
                    (self.w.deployment.clone(), self.open.clone(), self.w.ids[i]);
                let saved = self.stores[i].saved.clone();
                let restored =
                    Channel::restore(deployment, open, me, saved, &self.w.registry, self.w.now)
                        .expect("a side restarts from its own store");
                let (channel, _) = self.side(p);
                assert_eq!(
                    restored.totals(),
                    channel.totals(),
                    "restarted at the same state"
                );
                *channel = restored;
            }
            Op::Drop(i) if !self.in_flight.is_empty() => {
                let n = self.in_flight.len();
                self.in_flight.remove(i % n);
            }
            Op::Deliver(i) if !self.in_flight.is_empty() => {
                let n = self.in_flight.len();
                match self.in_flight.remove(i % n) {
                    Message::Proposal { to, state } => {
                        let key = self.w.keys[usize::from(to == Party::B)].clone();
                        let (registry, now) = (self.w.registry.clone(), self.w.now);
                        let (channel, store) = self.side(to);
                        let accepted = channel.accept(state, &registry, store, &key, 0, now);
                        if let Ok(accepted) = accepted {
                            self.record(&accepted.countersigned);
                            self.in_flight.push(Message::Countersigned {
                                to: to.other(),
                                state: accepted.countersigned,
                            });
                        }
                    }
                    Message::Countersigned { to, state } => {
                        let (registry, now) = (self.w.registry.clone(), self.w.now);
                        let (channel, store) = self.side(to);
                        let _ = channel.confirm(state, &registry, store, now);
                    }
                }
            }
            Op::Drop(_) | Op::Deliver(_) => {}
        }
    }

    fn request(&self, p: Party, state: Option<&Signed<ChannelState>>) -> Signed<CloseRequest> {
        let i = usize::from(p == Party::B);
        let mut request = Signed::new(
            self.w.deployment.clone(),
            CloseRequest {
                channel: self.open.body().channel,
                by: self.w.ids[i],
                counter: state.map_or(0, |s| s.body().counter),
                at: later(1),
            },
        );
        request.sign(self.w.ids[i], 0, &self.w.keys[i]).unwrap();
        request
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn no_interleaving_equivocates_freezes_or_overpays(
        ops in proptest::collection::vec(op(), 0..60),
        closer in prop_oneof![Just(Party::A), Just(Party::B)],
    ) {
        let w = World::new("idea-test", 2);
        let (open, a, b) = w.channel(1, 0, 1, 1_000_000);
        let mut sides = Sides {
            w, open, a, b,
            stores: [MemoryChannelStore::default(), MemoryChannelStore::default()],
            in_flight: Vec::new(), fully_signed: BTreeMap::new(), next_debt: 0,
        };
        for op in ops {
            sides.step(op);
        }
        // Honest sides never make two fully signed states with one counter.
        for (counter, states) in &sides.fully_signed {
            prop_assert_eq!(states.len(), 1, "two fully signed states for counter {}", counter);
        }
        // Their views differ by at most the one state in flight.
        let (ca, cb) = (sides.a.totals().counter, sides.b.totals().counter);
        prop_assert!(ca.abs_diff(cb) <= 1, "A at {}, B at {}", ca, cb);

        // One side closes with its latest state, the other challenges with its own.
        let (mine, theirs) = match closer {
            Party::A => (sides.a.latest().cloned(), sides.b.latest().cloned()),
            Party::B => (sides.b.latest().cloned(), sides.a.latest().cloned()),
        };
        let mut adj = Adjudicator::new(sides.w.deployment.clone());
        adj.open(sides.open.clone(), &sides.w.registry, sides.w.now).unwrap();
        let request = sides.request(closer, mine.as_ref());
        adj.close_unilaterally(&request, mine.clone(), &sides.w.registry, later(1)).unwrap();
        if let Some(theirs) = theirs.clone() {
            let counter = mine.as_ref().map_or(0, |s| s.body().counter);
            let outcome = adj.challenge(theirs.clone(), &sides.w.registry, later(2));
            if theirs.body().counter < counter {
                prop_assert!(outcome.is_err(), "a stale state is refused");
            } else {
                prop_assert!(outcome.is_ok(), "{:?}", outcome);
            }
        }
        let mut wallets = Wallets::new();
        for id in &sides.w.ids {
            wallets.deposit(*id, Money::new(10_000_000, eur())).unwrap();
        }
        let paid = adj.handle_timeout(&mut wallets, later(61));
        prop_assert!(paid.failed.is_empty(), "{:?}", paid.failed);
        prop_assert_eq!(paid.settled.len(), 1, "the channel is resolved");
        let settled = &paid.settled[0];
        prop_assert!(settled.equivocator.is_none());
        prop_assert!(matches!(adj.status(&sides.open.body().channel), Some(ChannelStatus::Closed(_))));
        // What is paid is exactly the newest state both sides signed that either side held.
        let newest = [mine, theirs]
            .into_iter()
            .flatten()
            .max_by_key(|s| s.body().counter);
        let net = newest.as_ref().map_or(0, |s| s.body().net_owed_by_a().unwrap());
        prop_assert_eq!(settled.counter, newest.as_ref().map_or(0, |s| s.body().counter));
        prop_assert_eq!(settled.paid.minor_units, net.abs());
        let payer = match net {
            0 => None,
            n if n > 0 => Some(sides.w.ids[0]),
            _ => Some(sides.w.ids[1]),
        };
        prop_assert_eq!(settled.payer, payer);
    }
}
